// The host ↔ supernode keepalive (node/overlay/constants.ts): a supernode process that dies
// closes its links and its hosts re-home at once; one that goes dark without a close is dropped
// after a ping goes unanswered for PING_TIMEOUT_MS (not before); the supernode keeps a host that
// only beats (sealed empty frames, never answered) and drops a silent one after
// HOST_SILENCE_LIMIT_MS (not before, and by the next sweep). In-memory network, fake clock.
import { afterEach, describe, expect, it } from 'vitest'
import {
  BEAT_INTERVAL_MS, HOST_SILENCE_LIMIT_MS, PING_INTERVAL_MS, PING_TIMEOUT_MS, SILENCE_SWEEP_MS, SUPERNODE_CHECK_TIMEOUT_MS
} from '../../node/overlay/constants.js'
import { createTestnet, type Testnet, type TestnetHost } from '../../node/testing/testnet.js'
import { createHarness, type Harness } from './bad-input-harness.js'
import { createInboundLinks } from '../../node/overlay/supernode/inbound-links.js'
import type { Link } from '../../node/overlay/link.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { silentLogger } from '../../common/logger.js'

const detachedAt = (host: TestnetHost, from: number): Array<{ reason: string }> =>
  host.events.slice(from).filter((e): e is Extract<typeof e, { event: 'detached' }> => e.event === 'detached')

describe('a host and its supernode', () => {
  let net: Testnet | undefined
  afterEach(() => { net?.close() })

  async function twoSupernodes (): Promise<{ net: Testnet, alice: TestnetHost, home: Testnet['supernodes'][number] }> {
    net = await createTestnet()
    const a = await net.addSupernode('super1')
    const b = await net.addSupernode('super2')
    const alice = net.addHost('alice', { supernodes: [a.supernode.ref, b.supernode.ref] })
    await net.run(1000)
    const home = net.supernodes.find(sn => sn.supernode.ref.deviceKey === alice.host.supernode?.deviceKey)
    if (home === undefined) throw new Error('alice did not attach')
    return { net, alice, home }
  }

  it('stays attached while idle: beats and pings keep both sides content', async () => {
    const { net, alice } = await twoSupernodes()
    const mark = alice.events.length
    await net.run(4 * PING_INTERVAL_MS, 50)
    expect(detachedAt(alice, mark)).toEqual([])
    expect(net.supernodes.reduce((n, sn) => n + sn.supernode.stats().hosts, 0)).toBe(1)
  })

  it('re-homes at once when its supernode dies (the connection closes)', async () => {
    const { net, alice, home } = await twoSupernodes()
    // Just after a ping was answered: the next one is PING_INTERVAL_MS away, and does not matter.
    const mark = alice.events.length
    net.killSupernode(home)
    await net.run(200)
    expect(detachedAt(alice, mark)).toHaveLength(1)
    expect(alice.host.supernode).toBeDefined()
    expect(alice.host.supernode?.deviceKey).not.toBe(home.supernode.ref.deviceKey)
  })

  it('drops a supernode that goes dark without a close after an unanswered ping, not before', async () => {
    const { net, alice, home } = await twoSupernodes()
    const mark = alice.events.length
    const darkAt = net.clock.now()
    // A half-open link: nothing gets through either way, and nobody hears a close.
    net.network.partition([home.ip])
    // No ping can have gone unanswered for PING_TIMEOUT_MS yet.
    await net.run(PING_TIMEOUT_MS - 100, 50)
    expect(detachedAt(alice, mark)).toEqual([])
    // The worst case: it went dark right after a pong.
    await net.run(PING_INTERVAL_MS + 500, 50)
    const detached = detachedAt(alice, mark)
    expect(detached).toHaveLength(1)
    expect(detached[0]?.reason).toContain('no pong')
    expect(net.clock.now() - darkAt).toBeLessThanOrEqual(PING_INTERVAL_MS + PING_TIMEOUT_MS + 500)
    await net.run(1000)
    expect(alice.host.supernode).toBeDefined()
    expect(alice.host.supernode?.deviceKey).not.toBe(home.supernode.ref.deviceKey)
  })

  it('checked on demand (a call\'s media went silent), a supernode gone dark is left within the check\'s timeout; a live one stays', async () => {
    const { net, alice, home } = await twoSupernodes()
    const live = alice.host.checkSupernode()
    await net.run(100, 10)
    expect(await live).toBe(true)

    const mark = alice.events.length
    net.network.partition([home.ip])
    const dark = alice.host.checkSupernode()
    await net.run(SUPERNODE_CHECK_TIMEOUT_MS + 100, 50)
    expect(await dark).toBe(false)
    const detached = detachedAt(alice, mark)
    expect(detached).toHaveLength(1)
    expect(detached[0]?.reason).toContain('no pong')
    await net.run(1000)
    expect(alice.host.supernode?.deviceKey).not.toBe(home.supernode.ref.deviceKey)
  })
})

describe('a supernode watching its host links', () => {
  let h: Harness
  afterEach(() => { h.close() })

  it('keeps a host that only beats, without answering the beats, and drops it once silent', async () => {
    h = await createHarness()
    const quiet = await h.registeredAttacker('beater')
    await h.run(20)
    const framesBefore = quiet.frames.length
    for (let elapsed = 0; elapsed < 3 * HOST_SILENCE_LIMIT_MS; elapsed += BEAT_INTERVAL_MS) {
      quiet.sendSealed(new Uint8Array(0))
      await h.run(BEAT_INTERVAL_MS)
    }
    expect(quiet.closed).toBe(false)
    // A beat costs the supernode no answer.
    expect(quiet.frames.length).toBe(framesBefore)
    expect(h.sn.stats().hosts).toBe(1)
    // Then silence: kept until HOST_SILENCE_LIMIT_MS after its last frame, dropped by the next sweep.
    const lastBeatAt = h.clock.now() - BEAT_INTERVAL_MS
    await h.run(HOST_SILENCE_LIMIT_MS - BEAT_INTERVAL_MS - 10)
    expect(quiet.closed).toBe(false)
    await h.run(SILENCE_SWEEP_MS + 20)
    expect(quiet.closedReason).toContain('keepalive missed')
    expect(h.clock.now() - lastBeatAt).toBeLessThanOrEqual(HOST_SILENCE_LIMIT_MS + SILENCE_SWEEP_MS + 20)
    expect(h.sn.stats().hosts).toBe(0)
  })

  it('drops a silent host even when the supernode stalls now and then: a late sweep closes nothing and resets no one', async () => {
    h = await createHarness()
    const quiet = await h.registeredAttacker('frozen')
    const silentFrom = h.clock.now()
    // Each cycle: a 2.5 s stall (the next sweep runs 1.5 s late), then 4 s of on-time sweeps.
    for (let cycle = 0; cycle < 3 && !quiet.closed; cycle++) {
      h.clock.stall(2500)
      await h.run(4000, 100)
    }
    expect(quiet.closedReason).toContain('keepalive missed')
    expect(h.clock.now() - silentFrom).toBeLessThanOrEqual(2 * (2500 + 4000))
    expect(h.sn.stats().hosts).toBe(0)
  })

  it('a host link handed over after the supernode closed is closed, and no sweep starts again', () => {
    const clock = new FakeClock()
    const links = createInboundLinks({ clock, log: silentLogger })
    const closed: string[] = []
    const link = { closed: false, lastFrameAt: clock.now(), close (reason: string) { this.closed = true; closed.push(reason) } }
    links.close()
    links.closeWhenSilent(link as unknown as Link)
    expect(closed).toEqual(['supernode closing'])
    expect(clock.pending).toBe(0)
  })
})
