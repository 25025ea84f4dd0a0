// Links are sockets a member holds on someone else's supernode: each is capped
// (per source address, handshakes in progress included; per device key; per
// user) and timed (no first message in 10 s, no traffic for HOST_SILENCE_LIMIT_MS:
// a beat more than 4 s late). A host that stops sending is dropped, and its contacts see it
// offline within 10 s. Protocol-level attacks run against a real supernode on
// the in-memory network with a fake clock (test/overlay/bad-input-harness.ts);
// the frozen host is a real process stopped with SIGSTOP.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BEAT_INTERVAL_MS, FIRST_MESSAGE_TIMEOUT_MS, HOST_SILENCE_LIMIT_MS, MAX_LINKS_PER_ADDRESS, MAX_LINKS_PER_DEVICE, MAX_LINKS_PER_USER, SILENCE_SWEEP_MS } from '../../node/overlay/constants.js'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'
import { createHarness, WirePeer, type Harness } from '../overlay/bad-input-harness.js'
import { killAll } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet, type NodeProcess } from '../helpers/voxmesh-net.js'

/** What the issue allows between a host freezing and its contacts seeing it offline. */
const OFFLINE_WITHIN_MS = 10_000

describe('links at a supernode', () => {
  let h: Harness
  beforeEach(async () => { h = await createHarness() })
  afterEach(() => { h.close() })

  const warnings = (text: string): number => h.snLogs.filter(l => l.level === 'warn' && l.msg.includes(text)).length

  it('closes an authenticated link that never sends its first message', async () => {
    const silent = await h.attacker('lurker')
    await h.run(FIRST_MESSAGE_TIMEOUT_MS - 1000)
    expect(silent.closed).toBe(false)
    await h.run(2000)
    expect(silent.closedReason).toContain('no register or peer-hello')
    expect(warnings('no register or peer-hello')).toBe(1)
    await h.expectStillServing()
  })

  it('closes a registered host link that stops sending (no pings)', async () => {
    const quiet = await h.registeredAttacker('sleeper')
    // Pings keep it: one every beat period for twice the silence limit.
    for (let elapsed = 0; elapsed < 2 * HOST_SILENCE_LIMIT_MS; elapsed += BEAT_INTERVAL_MS) {
      quiet.sendJson({ t: 'ping', id: elapsed + 1 })
      await h.run(BEAT_INTERVAL_MS)
    }
    expect(quiet.closed).toBe(false)
    expect(quiet.received('pong').length).toBeGreaterThan(0)
    // Then silence.
    await h.run(HOST_SILENCE_LIMIT_MS + 2 * SILENCE_SWEEP_MS)
    expect(quiet.closedReason).toContain('keepalive missed')
    expect(h.sn.stats().hosts).toBe(0)
  })

  it('caps links per device key: the extra are refused at once, the first keep working', async () => {
    const device = h.device('hoarder')
    const links = []
    for (let i = 0; i < MAX_LINKS_PER_DEVICE + 3; i++) links.push(await h.attacker(device))
    await h.run(20)
    const kept = links.slice(0, MAX_LINKS_PER_DEVICE)
    const refused = links.slice(MAX_LINKS_PER_DEVICE)
    expect(kept.filter(l => l.closed)).toEqual([])
    for (const link of refused) expect(link.closedReason).toContain('too many links for this device')
    expect(warnings('too many links for this device')).toBe(3)
    // The first still registers and is served.
    const first = kept[0] as (typeof links)[number]
    first.sendJson(h.registerFor(device))
    first.sendJson({ t: 'ping', id: 1 })
    await h.run(20)
    expect(first.received('registered')).toHaveLength(1)
    expect(first.received('pong')).toHaveLength(1)
    expect(kept.filter(l => l.closed)).toEqual([])
  })

  it('caps links per user, across its devices', async () => {
    const links = []
    for (let i = 0; i < MAX_LINKS_PER_USER + 2; i++) links.push(await h.attacker(h.device('many-devices')))
    await h.run(20)
    expect(links.slice(0, MAX_LINKS_PER_USER).filter(l => l.closed)).toEqual([])
    for (const link of links.slice(MAX_LINKS_PER_USER)) expect(link.closedReason).toContain('too many links for this user')
    await h.expectStillServing()
  })

  it('caps links per source address, counting connections whose handshake has not finished', async () => {
    const crowd = h.network.machine('198.18.66.250')
    const dials = Array.from({ length: MAX_LINKS_PER_ADDRESS + 3 }, async () => await crowd.dial(h.sn.ref.address))
    await h.run(10)
    const peers = (await Promise.all(dials)).map(connection => new WirePeer(connection))
    await h.run(10)
    // Nobody started a handshake: the first MAX_LINKS_PER_ADDRESS are held, the rest refused.
    expect(peers.slice(0, MAX_LINKS_PER_ADDRESS).filter(p => p.closed)).toEqual([])
    for (const peer of peers.slice(MAX_LINKS_PER_ADDRESS)) expect(peer.closedReason).toContain('too many links from this address')
    expect(warnings('too many links from this address')).toBe(3)
    // A held one completes its handshake and registers.
    const first = peers[0] as WirePeer
    const device = h.device('crowd0')
    first.startHandshake(h.sodium, h.clock, device, h.issuer.publicKey, h.sn.ref.deviceKey)
    await h.run(20)
    first.sendJson(h.registerFor(device))
    await h.run(20)
    expect(first.received('registered')).toHaveLength(1)
    // Other addresses are not affected.
    await h.expectStillServing()
    for (const peer of peers) peer.close()
  })
})

describe('a host that stops pinging', () => {
  let net: Testnet | undefined
  afterEach(() => { net?.close() })

  it('is shown offline to its contacts within 10 s (in-memory network, fake clock)', async () => {
    net = await createTestnet()
    await net.addSupernode('super1')
    const alice = net.addHost('alice', { contacts: ['bob'] })
    const bob = net.addHost('bob', { contacts: ['alice'] })
    await net.run(1000)
    expect(bob.host.presenceOf('alice')).toBe('online')
    // Alice's machine goes silent without closing anything (frozen, or unplugged).
    net.network.partition([alice.ip])
    const mark = bob.events.length
    await net.run(OFFLINE_WITHIN_MS)
    expect(bob.events.slice(mark)).toContainEqual({ event: 'presence', user: 'alice', status: 'offline' })
    expect(bob.host.presenceOf('alice')).toBe('offline')
  })
})

describe('a host frozen with SIGSTOP (real processes)', () => {
  let voxnet: Awaited<ReturnType<typeof startVoxmeshNet>> | undefined
  let frozen: NodeProcess | undefined
  afterAll(async () => {
    // A stopped process must be continued before it can exit cleanly; SIGKILL ends it either way.
    if (frozen?.proc.child.exitCode === null) frozen.proc.child.kill('SIGCONT')
    await killAll()
    voxnet?.cleanup()
  })

  it('is shown offline to its contacts within 10 s', async () => {
    voxnet = await startVoxmeshNet()
    for (const user of ['super1', 'alice', 'bob']) await voxnet.createAccount(user)
    await voxnet.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`])
    const alice = await voxnet.startNode('alice', ['--role', 'host'])
    const bob = await voxnet.startNode('bob', ['--role', 'host'])
    for (const node of [alice, bob]) await node.waitForEvent(e => e.event === 'attached')
    expect((await alice.cli('contacts', 'add', 'bob')).code).toBe(0)
    await bob.waitForEvent(e => e.event === 'contact-request' && e.from === 'alice')
    expect((await bob.cli('contacts', 'accept', 'alice')).code).toBe(0)
    await bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === 'online')

    const mark = bob.events().length
    frozen = alice
    alice.proc.child.kill('SIGSTOP')
    try {
      await bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === 'offline', OFFLINE_WITHIN_MS, mark)
    } finally {
      alice.proc.child.kill('SIGCONT')
    }
  }, 60_000)
})
