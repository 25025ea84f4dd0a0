// Real processes on loopback: a login server, 2 supernodes and 3 hosts started
// as `voxmesh` commands. Contacts see each other online; a supernode killed
// with SIGKILL loses its hosts to the other one, and they stay reachable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet, type NodeProcess } from '../helpers/voxmesh-net.js'
import { CONTACT_REQUEST_POLL_MS } from '../../node/runtime/defaults.js'

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let supernodes: NodeProcess[]
let alice: NodeProcess, bob: NodeProcess, carol: NodeProcess

const contactsOf = async (node: NodeProcess): Promise<Array<{ username: string, status: string }>> => {
  const result = await node.cli('contacts', '--json')
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout)
}
const statusOf = async (node: NodeProcess): Promise<{ user: string, role: string, supernode: { user: string, address: string } | null }> => {
  const result = await node.cli('status', '--json')
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout)
}

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'super2', 'alice', 'bob', 'carol']) await net.createAccount(user)
  supernodes = []
  for (const user of ['super1', 'super2']) {
    supernodes.push(await net.startNode(user, ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`]))
  }
  alice = await net.startNode('alice', ['--role', 'host'])
  bob = await net.startNode('bob', ['--role', 'host'])
  carol = await net.startNode('carol', ['--role', 'host'])
  for (const node of [alice, bob, carol]) await node.waitForEvent(e => e.event === 'attached')
}, 60_000)

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

describe('a loopback network of real voxmesh processes', () => {
  it('runs two supernodes that each report their role', async () => {
    for (const sn of supernodes) expect(await statusOf(sn)).toMatchObject({ user: sn.user, role: 'supernode' })
  })

  it('makes contacts who then see each other online, without re-login', async () => {
    expect((await alice.cli('contacts', 'add', 'bob', 'hello from alice')).code).toBe(0)
    expect((await carol.cli('contacts', 'add', 'bob')).code).toBe(0)
    // Requests from non-contacts cannot cross the overlay: bob's node polls the login server for them.
    await bob.waitForEvent(e => e.event === 'contact-request' && e.from === 'alice', CONTACT_REQUEST_POLL_MS + 15_000)
    expect((await bob.cli('contacts', 'accept', 'alice')).code).toBe(0)
    expect((await bob.cli('contacts', 'accept', 'carol')).code).toBe(0)
    await alice.waitForEvent(e => e.event === 'presence' && e.user === 'bob' && e.status === 'online')
    await bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === 'online')
    await bob.waitForEvent(e => e.event === 'presence' && e.user === 'carol' && e.status === 'online')
    expect(await contactsOf(alice)).toEqual([expect.objectContaining({ username: 'bob', status: 'online' })])
    expect(await contactsOf(bob)).toEqual([
      expect.objectContaining({ username: 'alice', status: 'online' }),
      expect.objectContaining({ username: 'carol', status: 'online' })
    ])
    // alice and carol are not contacts: neither learns the other's presence.
    expect(alice.events().filter(e => e.event === 'presence' && e.user === 'carol')).toEqual([])
  }, 60_000)

  it('delivers a message with a receipt, and refuses one to a non-contact', async () => {
    const sent = await alice.cli('msg', 'bob', 'hi', 'bob')
    expect(sent.code, sent.stderr).toBe(0)
    expect(sent.stdout).toMatch(/delivered to bob/)
    await bob.waitForEvent(e => e.event === 'message' && e.from === 'alice' && e.text === 'hi bob')
    await net.createAccount('dave')
    const stranger = await alice.cli('msg', 'dave', 'anyone?')
    expect(stranger.code).toBe(1)
    expect(stranger.stderr).toContain('dave is not your contact')
  })

  it('re-homes the hosts of a supernode killed with SIGKILL, and they stay online and reachable', async () => {
    const before = await Promise.all([alice, bob, carol].map(statusOf))
    const victim = supernodes.find(sn => before.some(s => s.supernode?.user === sn.user)) as NodeProcess
    const orphans = [alice, bob, carol].filter((_, i) => before[i]!.supernode?.user === victim.user)
    expect(orphans.length).toBeGreaterThan(0)
    const marks = orphans.map(node => node.events().length)
    await victim.proc.stop('SIGKILL')
    for (const [i, orphan] of orphans.entries()) {
      await orphan.waitForEvent(e => e.event === 'attached', 10_000, marks[i])
      const after = await statusOf(orphan)
      expect(after.supernode?.user).not.toBe(victim.user)
      expect(after.supernode).not.toBeNull()
    }
    expect((await contactsOf(bob)).map(c => c.status)).toEqual(['online', 'online'])
    // Bob's re-published locator may reach the mesh a moment after alice looks it up (on a loaded
    // machine): then msg says queued and the outbox sends it once bob is seen again. Either way it arrives.
    const mark = bob.events().length
    const sent = await alice.cli('msg', 'bob', 'still', 'here')
    expect(sent.code, sent.stderr).toBe(0)
    expect(sent.stdout).toMatch(/^(delivered to bob|queued, )/)
    await bob.waitForEvent(e => e.event === 'message' && e.from === 'alice' && e.text === 'still here', 20_000, mark)
  })
})
