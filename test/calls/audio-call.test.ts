// Real calls between real nodes in one process: a login server, two supernodes
// (with their TURN relays) and two users on loopback; node-datachannel media,
// Opus audio. The callee records; the recording is checked for the 440 Hz tone
// and for its length. One call takes the direct path, one is forced through
// the relay, and the relays' own counters must agree with both. A third pair of
// users sits behind a firewall that lets UDP in only from the relays' address:
// ICE finds no direct path and the call falls back to the relay by itself. A call that rings
// unanswered already holds the caller's relay allocation, and lets go of it when cancelled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { pino } from 'pino'
import type { RunningNode } from '../../node/runtime/node.js'
import type { NodeEvent } from '../../node/runtime/api.js'
import { readWavFile } from '../../node/media/audio/wav.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { shutdownMedia } from '../../node/media/media-session.js'
import { freePort } from '../helpers/ports.js'
import type { Logger } from '../../common/logger.js'
import { blockUdpTo } from '../helpers/udp-firewall.js'
import { waitUntil } from '../helpers/wait.js'
import { startInProcessNet, type InProcessNet } from '../helpers/in-process-net.js'

const CALL_SECONDS = 3
let net: InProcessNet
let dir: string
let alice: RunningNode, bob: RunningNode, carol: RunningNode, dave: RunningNode, supernodes: RunningNode[]
const log = pino({ level: process.env.TEST_LOG ?? 'warn' }) as unknown as Logger

const node: InProcessNet['startNode'] = async (user, extra) => await net.startNode(user, extra)

beforeAll(async () => {
  net = await startInProcessNet({ dirPrefix: 'voxmesh-calls-', users: ['super1', 'super2', 'alice', 'bob', 'carol', 'dave'], log: () => log })
  dir = net.dir
  // The supernodes (and so their TURN relays) sit on 127.0.0.2, the users' media on 127.0.0.1:
  // TURN permissions are per IP, so with everything on one address a relay-only session could
  // still reach the peer's relay from its own host socket (libdatachannel #1587).
  // loopback peers: the lab flag.
  supernodes = [
    await node('super1', { role: 'supernode', listen: `127.0.0.2:${await freePort()}`, relayAllowPrivate: true }),
    await node('super2', { role: 'supernode', listen: `127.0.0.2:${await freePort()}`, relayAllowPrivate: true })
  ]
  alice = await node('alice')
  bob = await node('bob', { calls: { autoAnswer: true, recordDir: join(dir, 'recordings') } })
  // Carol's and Dave's media sockets get addresses of their own, for the firewall below.
  carol = await node('carol', { mediaBindAddress: '127.0.0.3' })
  dave = await node('dave', { mediaBindAddress: '127.0.0.4', calls: { autoAnswer: true, recordDir: join(dir, 'recordings') } })
  for (const [caller, callee] of [[alice, bob], [carol, dave]] as const) {
    for (const user of [caller, callee]) await net.waitForEvent(user, e => e.event === 'attached', 20_000)
    const calleeName = callee.status().user
    await caller.addContact(calleeName)
    await net.waitForEvent(callee, e => e.event === 'contact-request', 20_000)
    await callee.acceptContact(caller.status().user)
    await net.waitForEvent(caller, e => e.event === 'presence' && e.user === calleeName && e.status === 'online', 20_000)
  }
}, 60_000)

afterAll(async () => {
  await net?.close()
  shutdownMedia()
}, 30_000)

async function toneCall (relayOnly: boolean, [caller, callee] = [alice, bob]) {
  const { callId } = await caller.placeCall(callee.status().user, { tone: 440, relayOnly })
  const connected = await net.waitForEvent(caller, e => e.event === 'call-connected' && e.callId === callId, 20_000) as Extract<NodeEvent, { event: 'call-connected' }>
  await new Promise(resolve => setTimeout(resolve, CALL_SECONDS * 1000))
  const stats = caller.calls().find(c => c.callId === callId)?.stats
  caller.hangup(callId)
  const ended = await net.waitForEvent(callee, e => e.event === 'call-ended' && e.callId === callId, 20_000) as Extract<NodeEvent, { event: 'call-ended' }>
  return { callId, connected, ended, stats }
}

/** Packets both supernodes' TURN relays have carried, each way, by their own counters. */
function relayedPackets (): number {
  return supernodes.reduce((sum, sn) => {
    const relay = sn.status().relay
    return sum + (relay?.toPeer.packets ?? 0) + (relay?.fromPeer.packets ?? 0)
  }, 0)
}

function liveAllocations (): number {
  return supernodes.reduce((sum, sn) => sum + (sn.status().relay?.allocations ?? 0), 0)
}

function checkRecording (path: string | undefined, seconds: number): void {
  expect(path).toBeDefined()
  const wav = readWavFile(path as string)
  expect(wav.sampleRate).toBe(48_000)
  const samples = wav.samples
  const length = samples.length / wav.sampleRate
  expect(length).toBeGreaterThan(seconds - 0.6)
  expect(length).toBeLessThan(seconds + 1.5)
  // Skip the first half second (jitter buffer start-up) and look at a steady stretch.
  const steady = samples.subarray(wav.sampleRate / 2, wav.sampleRate / 2 + wav.sampleRate)
  expect(Math.abs(dominantFrequency(steady, wav.sampleRate) - 440)).toBeLessThan(3)
  expect(levelDbfs(steady)).toBeGreaterThan(-20)
}

describe('voice calls with real audio', () => {
  it('carries a 440 Hz tone through the TURN relay when forced, and the relays counted it', async () => {
    const before = relayedPackets()
    const { connected, ended, stats } = await toneCall(true)
    expect(connected.path).toBe('relay')
    expect(connected.relay).toMatch(/^super[12]@127\.0\.0\.2:\d+$|the other side/)
    expect(stats?.path).toBe('relay')
    expect(stats?.rttMs).toBeTypeOf('number') // the in-band probe crossed the relay both ways
    checkRecording(ended.recording, CALL_SECONDS)
    // ~50 packets/s each way for the call: the relays carried them (their own counters).
    expect(relayedPackets() - before).toBeGreaterThan(CALL_SECONDS * 50)
    // Both ends asked their supernodes to end their allocations once the call was over
    // (libjuice leaves them open until they expire, which would use up the per-user quota).
    await waitUntil('the relays to hold no allocation', () => liveAllocations() === 0, 10_000)
  })

  it('carries a 440 Hz tone over the direct path', async () => {
    const before = relayedPackets()
    const { connected, ended, stats } = await toneCall(false)
    // The direct path really is not relayed: the relays saw (almost) none of the ~300 packets.
    expect(relayedPackets() - before).toBeLessThan(30)
    expect(connected.path).toBe('direct')
    expect(stats?.path).toBe('direct')
    expect(stats?.rttMs).toBeTypeOf('number')
    expect(stats?.packetsReceived).toBeGreaterThan(0)
    expect(ended.reason).toBe('hangup')
    checkRecording(ended.recording, CALL_SECONDS)
    // The callee's summary of the call's media: its path, ~50 frames a second each way, none lost on loopback.
    expect(ended.media?.path).toBe('direct')
    expect(ended.media?.framesReceived).toBeGreaterThan((CALL_SECONDS - 1) * 50)
    expect(ended.media?.framesSent).toBeGreaterThan((CALL_SECONDS - 1) * 50)
    expect(ended.media?.framesLost).toBe(0)
  })
})

describe('a ringing call', () => {
  it('has the caller\'s offer gathered (its relay allocation made) before anyone answers, and lets go of it when cancelled', async () => {
    // Dave calls Carol, who does not answer by herself. The calls before end their allocations
    // as they finish (each host asks its supernode, after the call-ended event): wait for that.
    await waitUntil('no allocation left by the calls before', () => liveAllocations() === 0, 10_000)
    const { callId } = await dave.placeCall('carol', { tone: 440 })
    try {
      await net.waitForEvent(carol, e => e.event === 'call-incoming' && e.callId === callId, 20_000)
      // Only the caller allocates while it rings; the callee has fetched its credentials, nothing more.
      await waitUntil('the caller\'s relay allocation while the call rings', () => liveAllocations() === 1, 10_000)
      expect(carol.calls().find(c => c.callId === callId)?.state).toBe('ringing')
    } finally {
      dave.hangup(callId)
    }
    const ended = await net.waitForEvent(carol, e => e.event === 'call-ended' && e.callId === callId, 20_000) as Extract<NodeEvent, { event: 'call-ended' }>
    expect(ended.reason).toBe('cancelled')
    await waitUntil('the relays to hold no allocation', () => liveAllocations() === 0, 10_000)
  })
})

describe('a call where ICE finds no direct path', () => {
  // Carol (127.0.0.3) and Dave (127.0.0.4) take UDP only from the relays' address, 127.0.0.2.
  let firewall: ReturnType<typeof blockUdpTo> | undefined
  beforeAll(() => { firewall = blockUdpTo(['127.0.0.3', '127.0.0.4'], '127.0.0.2') })
  afterAll(() => { firewall?.close() })

  it('falls back to the relay by itself, carries the tone, and reports the relay path', async () => {
    const before = relayedPackets()
    const { connected, ended, stats } = await toneCall(false, [carol, dave])
    expect(connected.path).toBe('relay')
    expect(stats?.path).toBe('relay')
    expect(stats?.rttMs).toBeTypeOf('number')
    expect(ended.reason).toBe('hangup')
    checkRecording(ended.recording, CALL_SECONDS)
    expect(relayedPackets() - before).toBeGreaterThan(CALL_SECONDS * 50)
    // ICE did try the direct candidates: the firewall dropped its checks.
    expect(firewall?.dropped()).toBeGreaterThan(0)
    await waitUntil('the relays to hold no allocation', () => liveAllocations() === 0, 10_000)
  })
})
