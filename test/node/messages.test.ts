// Messages nobody loses, with real processes on loopback (a login server, one
// supernode, alice and bob as --no-shell daemons): a text to a non-contact is
// refused; a text to an offline contact is queued, survives the sender's
// restart, goes out when the contact comes online and comes back receipted;
// the receiver stores it once and `messages` shows it on both sides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { killAll } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet, type NodeProcess } from '../helpers/voxmesh-net.js'
import { MESSAGES_FILE } from '../../node/runtime/defaults.js'
import type { MessageView } from '../../node/runtime/api.js'

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let alice: NodeProcess, bob: NodeProcess

const HOST = ['--role', 'host', '--no-shell']

const historyOf = async (node: NodeProcess, peer: string): Promise<MessageView[]> => {
  const result = await node.cli('messages', peer, '--json')
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as MessageView[]
}

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'alice', 'bob', 'carol']) await net.createAccount(user)
  await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`])
  alice = await net.startNode('alice', HOST)
  bob = await net.startNode('bob', HOST)
  for (const node of [alice, bob]) await node.waitForEvent(e => e.event === 'attached')
  expect((await alice.cli('contacts', 'add', 'bob')).code).toBe(0)
  const accepted = await bob.cli('contacts', 'accept', 'alice')
  expect(accepted.code, accepted.stderr).toBe(0)
  await alice.waitForEvent(e => e.event === 'presence' && e.user === 'bob' && e.status === 'online', 20_000)
}, 90_000)

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

describe('messages between real nodes', () => {
  it('refuses a text to a non-contact before sending it, with a sentence and a non-zero exit', async () => {
    const result = await alice.cli('msg', 'carol', 'hello stranger')
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^voxmesh: carol is not your contact, so the message was not sent; send a contact request first/)
    expect(await historyOf(alice, 'carol')).toEqual([])
  })

  it('shows the status time in contacts, not the date they became contacts', async () => {
    const result = await alice.cli('contacts')
    expect(result.code, result.stderr).toBe(0)
    // alice learned bob's status when he became her contact: "since" that time "or earlier" (he may have been online before).
    expect(result.stdout).toMatch(/^bob\s+online since \d\d:\d\d or earlier\s+\(contact since \d\d:\d\d\)\n$/)
  })

  it('stores what a --no-shell node receives, and the sender sees it delivered', async () => {
    const sent = await alice.cli('msg', 'bob', 'first', 'text')
    expect(sent.code, sent.stderr).toBe(0)
    expect(sent.stdout).toMatch(/^delivered to bob/)
    expect(await historyOf(bob, 'alice')).toMatchObject([{ direction: 'in', text: 'first text', state: 'received' }])
    expect(await historyOf(alice, 'bob')).toMatchObject([{ direction: 'out', text: 'first text', state: 'delivered' }])
    expect(statSync(join(bob.dataDir, MESSAGES_FILE)).mode & 0o777).toBe(0o600)
  })

  it('queues a text to offline bob; after alice restarts, it reaches bob once he is back, with the receipt then', async () => {
    expect(await bob.proc.stop('SIGTERM', 5000)).toBe(0)
    const queued = await alice.cli('msg', 'bob', 'while', 'you', 'were', 'out')
    expect(queued.code, queued.stderr).toBe(0)
    expect(queued.stdout).toMatch(/^queued, bob is offline/)
    expect((await historyOf(alice, 'bob')).at(-1)).toMatchObject({ text: 'while you were out', state: 'queued' })

    expect(await alice.proc.stop('SIGTERM', 5000)).toBe(0)
    alice = await net.startNode('alice', HOST)
    await alice.waitForEvent(e => e.event === 'attached')
    expect((await historyOf(alice, 'bob')).at(-1)).toMatchObject({ text: 'while you were out', state: 'queued' })

    bob = await net.startNode('bob', HOST)
    await bob.waitForEvent(e => e.event === 'message' && e.from === 'alice' && e.text === 'while you were out', 30_000)
    await alice.waitForEvent(e => e.event === 'delivered' && e.to === 'bob', 15_000)
    expect((await historyOf(alice, 'bob')).at(-1)).toMatchObject({ text: 'while you were out', state: 'delivered', deliveredAt: expect.any(Number) })

    const received = (await historyOf(bob, 'alice')).filter(m => m.text === 'while you were out')
    expect(received).toHaveLength(1)
    const text = await bob.cli('messages', 'alice')
    expect(text.stdout).toMatch(/^\[\d\d:\d\d\] alice: first text\n\[\d\d:\d\d\] alice: while you were out\n$/)
    const all = await alice.cli('messages')
    expect(all.stdout).toMatch(/^\[\d\d:\d\d\] you to bob: while you were out \(delivered \d\d:\d\d\)\n$/)
  }, 90_000)
})
