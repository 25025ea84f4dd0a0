// A call from a host whose network lets no UDP in (issue 11's TCP-only LAN, on loopback): its
// node finds that UDP does not reach its supernode's relay, says so in one sentence, and gives
// the call's ICE a local bridge that carries TURN over TCP. The call connects through the relay
// and each side hears the other's tone (checked by frequency in both recordings).
//
// Erin ("TCP-only") has her media on 127.0.0.5; an iptables rule drops every UDP datagram to
// 127.0.0.5 that does not come from 127.0.0.5 itself (her bridge). Her overlay link is TCP and
// works. Needs root (iptables): skipped otherwise, with the reason printed.
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Logger } from '../../common/logger.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { readWavFile } from '../../node/media/audio/wav.js'
import { shutdownMedia } from '../../node/media/media-session.js'
import type { NodeEvent } from '../../node/runtime/api.js'
import type { RunningNode } from '../../node/runtime/node.js'
import { startInProcessNet, type InProcessNet } from '../helpers/in-process-net.js'
import { freePort } from '../helpers/ports.js'
import { blockUdpTo, type UdpFirewall } from '../helpers/udp-firewall.js'
import { waitUntil } from '../helpers/wait.js'

const TCP_ONLY = '127.0.0.5'
const CALL_SECONDS = 3
const root = process.getuid?.() === 0
if (!root) console.warn('tcp-only-call.test.ts skipped: dropping UDP to the TCP-only host needs root (iptables)')

let net: InProcessNet | undefined
let firewall: UdpFirewall | undefined
let supernode: RunningNode, alice: RunningNode, erin: RunningNode
const erinLog: string[] = []

function logFor (user: string): Logger {
  const level = process.env.TEST_LOG ?? 'warn'
  if (user !== 'erin') return pino({ level }) as unknown as Logger
  const lines = new Writable({ write (chunk, _encoding, done) { erinLog.push(String(chunk)); done() } })
  return pino({ level: 'info' }, lines) as unknown as Logger
}

function checkTone (path: string | undefined, hz: number): void {
  expect(path).toBeDefined()
  const wav = readWavFile(path as string)
  // Past the jitter buffer's start-up, a steady second.
  const steady = wav.samples.subarray(wav.sampleRate / 2, wav.sampleRate / 2 + wav.sampleRate)
  expect(Math.abs(dominantFrequency(steady, wav.sampleRate) - hz)).toBeLessThan(3)
  expect(levelDbfs(steady)).toBeGreaterThan(-20)
}

describe.skipIf(!root)('a call from a host whose network drops UDP', () => {
  beforeAll(async () => {
    net = await startInProcessNet({ dirPrefix: 'voxmesh-tcp-only-', users: ['super1', 'alice', 'erin'], log: logFor })
    firewall = blockUdpTo([TCP_ONLY], TCP_ONLY)
    // loopback peers: the lab flag. The relay on 127.0.0.2, apart from the users' media (see relay.test.ts).
    supernode = await net.startNode('super1', { role: 'supernode', listen: `127.0.0.2:${await freePort()}`, relayAllowPrivate: true })
    alice = await net.startNode('alice', { calls: { autoAnswer: true, tone: 660, recordDir: join(net.dir, 'recordings') } })
    erin = await net.startNode('erin', { mediaBindAddress: TCP_ONLY })
    for (const user of [alice, erin]) await net.waitForEvent(user, e => e.event === 'attached', 20_000)
    await erin.addContact('alice')
    await net.waitForEvent(alice, e => e.event === 'contact-request', 20_000)
    await alice.acceptContact('erin')
    await net.waitForEvent(erin, e => e.event === 'presence' && e.user === 'alice' && e.status === 'online', 20_000)
  }, 60_000)

  afterAll(async () => {
    firewall?.close()
    await net?.close()
    shutdownMedia()
  }, 30_000)

  it('relays over TCP through the bridge, reports path relay, and carries both tones', { timeout: 90_000 }, async () => {
    const net_ = net as InProcessNet
    const record = join(net_.dir, 'erin-heard.wav')
    const { callId } = await erin.placeCall('alice', { tone: 440, record })
    const connected = await net_.waitForEvent(erin, e => e.event === 'call-connected' && e.callId === callId, 30_000) as Extract<NodeEvent, { event: 'call-connected' }>
    expect(connected.path).toBe('relay')
    // Her own relay candidate: UDP from the relay to her is dropped, so it came through the bridge.
    expect(connected.relay).toMatch(/^super1@127\.0\.0\.2:\d+$/)
    await new Promise(resolve => setTimeout(resolve, CALL_SECONDS * 1000))
    erin.hangup(callId)
    const ended = await net_.waitForEvent(alice, e => e.event === 'call-ended' && e.callId === callId, 20_000) as Extract<NodeEvent, { event: 'call-ended' }>
    const mine = await net_.waitForEvent(erin, e => e.event === 'call-ended' && e.callId === callId, 20_000) as Extract<NodeEvent, { event: 'call-ended' }>
    checkTone(ended.recording, 440)
    checkTone(mine.recording, 660)

    // The node said, once, why its calls go over TCP.
    const said = erinLog.filter(line => line.includes('calls use TURN over TCP'))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(/UDP does not reach our supernode's relay \(no STUN answer over UDP from 127\.0\.0\.2:\d+ after 3 tries in 1200 ms\)/)
    // The probe's answers (and whatever ICE tried over UDP from outside) were dropped.
    expect(firewall?.dropped()).toBeGreaterThan(0)
    // The bridge's connection closed with the call, and with it her allocation (alice's was released).
    await waitUntil('the relay to hold no allocation', () => supernode.status().relay?.allocations === 0, 10_000)
  })
})
