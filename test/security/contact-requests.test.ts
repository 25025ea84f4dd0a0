// Contact requests as a channel for abuse: a sender flooding strangers with
// requests, and a contact appearing without the user seeing why. Real processes.
import { afterEach, describe, expect, it } from 'vitest'
import { loadSodium } from '../../common/sodium.js'
import { toBase64url } from '../../common/base64url.js'
import { DEFAULT_RATE_LIMITS } from '../../login-server/constants.js'
import { killAll } from '../helpers/processes.js'
import { startVoxmeshNet, TEST_PASSWORD } from '../helpers/voxmesh-net.js'
import { LoopbackClient } from '../helpers/http-from.js'

const cleanups: Array<() => void> = []

afterEach(async () => {
  await killAll()
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

async function startNet (): Promise<Awaited<ReturnType<typeof startVoxmeshNet>>> {
  const net = await startVoxmeshNet()
  cleanups.push(net.cleanup)
  return net
}

describe('contact requests', () => {
  it('a sender cannot flood strangers with requests: past the per-sender limit they are refused with 429 and Retry-After', async () => {
    const net = await startNet()
    const sodium = await loadSodium()
    const { limit, windowSeconds } = DEFAULT_RATE_LIMITS.contactRequestsPerSender
    const targets = limit + 5
    // Accounts from several /24s (each may create 10 an hour).
    const users = ['spammer', ...Array.from({ length: targets }, (_, i) => `target${i}`)]
    for (const [i, username] of users.entries()) {
      const client = new LoopbackClient(net.url, `127.70.${Math.floor(i / 5)}.1`)
      expect((await client.post('/v1/accounts', { username, password: TEST_PASSWORD })).status).toBe(201)
      client.close()
    }
    const spammer = new LoopbackClient(net.url)
    cleanups.push(() => { spammer.close() })
    const login = await spammer.post('/v1/sessions', { username: 'spammer', password: TEST_PASSWORD, deviceKey: toBase64url(sodium.crypto_sign_keypair().publicKey) })
    expect(login.status).toBe(201)
    const auth = { authorization: `Bearer ${(login.body as { token: string }).token}` }

    const answers: number[] = []
    let retryAfter: string | string[] | undefined
    for (let i = 0; i < targets; i++) {
      const res = await spammer.post('/v1/contacts/requests', { to: `target${i}`, message: 'buy now' }, auth)
      answers.push(res.status)
      if (res.status === 429) retryAfter ??= res.headers['retry-after']
    }
    expect(answers).toEqual([...Array<number>(limit).fill(201), ...Array<number>(targets - limit).fill(429)])
    expect(Number(retryAfter)).toBeGreaterThan(0)
    expect(Number(retryAfter)).toBeLessThanOrEqual(windowSeconds)

    // The refused ones never reached their addressees.
    const last = new LoopbackClient(net.url, '127.71.0.1')
    cleanups.push(() => { last.close() })
    const lastLogin = await last.post('/v1/sessions', { username: `target${targets - 1}`, password: TEST_PASSWORD, deviceKey: toBase64url(sodium.crypto_sign_keypair().publicKey) })
    const inbox = await last.send('GET', '/v1/contacts/requests', undefined, { authorization: `Bearer ${(lastLogin.body as { token: string }).token}` })
    expect((inbox.body as { incoming: unknown[] }).incoming).toEqual([])
  }, 90_000)

  it('every accepted request shows in `voxmesh requests` on both sides, also one completed by asking back', async () => {
    const net = await startNet()
    for (const user of ['alice', 'bob', 'carol']) await net.createAccount(user)
    const alice = await net.startNode('alice')
    const bob = await net.startNode('bob')
    const carol = await net.startNode('carol')

    // alice asks bob, bob accepts; carol asks alice, alice asks carol back.
    expect((await alice.cli('contacts', 'add', 'bob', 'hi', 'bob')).code).toBe(0)
    expect((await bob.cli('contacts', 'accept', 'alice')).code).toBe(0)
    expect((await carol.cli('contacts', 'add', 'alice')).code).toBe(0)
    const askedBack = await alice.cli('contacts', 'add', 'carol')
    expect(askedBack.stdout).toContain('carol is now your contact')

    const listed = await alice.cli('requests')
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(/^accepted \(now contacts\):\n {2}alice -> bob {2}accepted \S+ {2}"hi bob"\n {2}carol -> alice {2}accepted \S+\n$/)
    const forBob = await bob.cli('requests', '--json')
    const json = JSON.parse(forBob.stdout) as { incoming: unknown[], outgoing: unknown[], accepted: Array<{ from: string, to: string, acceptedAt: number }> }
    expect(json.incoming).toEqual([])
    expect(json.outgoing).toEqual([])
    expect(json.accepted.map(r => [r.from, r.to])).toEqual([['alice', 'bob']])
    expect(json.accepted[0]?.acceptedAt).toBeGreaterThan(0)
    expect((await carol.cli('requests')).stdout).toMatch(/carol -> alice {2}accepted/)
  }, 120_000)
})
