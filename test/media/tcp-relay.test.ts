// A media session whose network takes no UDP from outside reaches its relay over TCP: libjuice
// speaks TURN over UDP only, so it is given the host's UDP ↔ TCP bridge (node/relay/bridge) as
// its TURN server, and the bridge carries its TURN traffic to the server's TCP port. The other
// side uses the same server over UDP. Each side sends its own tone; each checks the other's by
// frequency.
//
// Addresses: the "TCP-only" side (ICE and its bridge) on 127.0.0.4, the other side on 127.0.0.1,
// the TURN server's listeners on 127.0.0.3 and its relay sockets on 127.0.0.2 (TURN permissions
// are per IP: see relay.test.ts). As root, an iptables rule drops every UDP datagram to
// 127.0.0.4 that does not come from 127.0.0.4 itself: only the bridge can answer that side.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dominantFrequency } from '../../node/media/audio/analysis.js'
import { createOpusDecoder } from '../../node/media/audio/opus.js'
import { SAMPLE_RATE } from '../../node/media/audio/pcm.js'
import { shutdownMedia, type MediaIceServer } from '../../node/media/media-session.js'
import { startTurnTcpBridge, type TurnTcpBridge } from '../../node/relay/bridge/tcp-bridge.js'
import { probeUdp } from '../../node/relay/bridge/udp-probe.js'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import { startTurnServer, type RunningTurnServer } from '../../node/relay/udp/udp-turn-server.js'
import { blockUdpTo, type UdpFirewall } from '../helpers/udp-firewall.js'
import { closeAll, createPair, exchangeGathered, opusFrames, sendFrames, waitConnected, waitFor, type Pair, type Side } from './helpers.js'

const SECRET = 'tcp-relay-test-secret'
const TCP_ONLY = '127.0.0.4'
const FRAMES = 100 // 2 s of each tone
let turn: RunningTurnServer | undefined
let bridge: TurnTcpBridge | undefined
let firewall: UdpFirewall | undefined
let pair: Pair | undefined

const root = process.getuid?.() === 0
if (!root) console.warn('tcp-relay.test.ts: not root, so UDP to the TCP-only side is not dropped (iptables needs root); the bridge path is still checked')

function credentials (user: string): { username: string, password: string } {
  return issueTurnCredentials(SECRET, user, 600, Date.now())
}

async function heardFrequency (side: Side): Promise<number> {
  const decoder = await createOpusDecoder()
  try {
    const pcm = side.received.map(({ payload }) => decoder.decode(payload))
    const samples = new Float32Array(pcm.reduce((n, frame) => n + frame.length, 0))
    let at = 0
    for (const frame of pcm) for (const sample of frame) samples[at++] = sample / 32768
    return dominantFrequency(samples, SAMPLE_RATE, { minHz: 100, maxHz: 4000 })
  } finally {
    decoder.close()
  }
}

beforeAll(async () => {
  // loopback peers: the lab flag.
  turn = await startTurnServer({ listen: '127.0.0.3:0', relayHost: '127.0.0.2', realm: 'voxmesh.test', secret: SECRET, allowPrivatePeers: true, tcp: {} })
  if (root) firewall = blockUdpTo([TCP_ONLY], TCP_ONLY)
})
afterAll(async () => {
  closeAll(pair)
  shutdownMedia()
  firewall?.close()
  await bridge?.close()
  await turn?.close()
})

describe('TURN over TCP through the host bridge', () => {
  it('carries a call with real node-datachannel, relay path, each side\'s tone heard by the other', async () => {
    if (turn === undefined) throw new Error('no TURN server')
    const udpTurn = { address: turn.address, port: turn.port }
    // UDP reaches the server from the ordinary side; from the TCP-only side its answers are dropped.
    expect(await probeUdp(udpTurn, { bindAddress: '127.0.0.1' })).toMatchObject({ ok: true })
    if (root) {
      expect(await probeUdp(udpTurn, { bindAddress: TCP_ONLY, attempts: 2, waitMs: 200 })).toMatchObject({ ok: false })
      expect(firewall?.dropped()).toBeGreaterThan(0)
    }

    bridge = await startTurnTcpBridge({ server: { address: turn.address, port: turn.tcpPort as number }, bindAddress: TCP_ONLY })
    const viaBridge: MediaIceServer[] = [{ hostname: bridge.address, port: bridge.port, ...credentials('tcp-only'), relayType: 'TurnUdp' }]
    const direct: MediaIceServer[] = [{ hostname: turn.address, port: turn.port, ...credentials('udp'), relayType: 'TurnUdp' }]
    pair = createPair({ relayOnly: true, bindAddress: TCP_ONLY, iceServers: viaBridge, answerer: { bindAddress: '127.0.0.1', iceServers: direct } })
    const { offerer, answerer } = pair
    await exchangeGathered(pair)
    await waitConnected(pair, 20_000)
    expect(offerer.signalingErrors).toEqual([])
    expect(answerer.signalingErrors).toEqual([])

    const tones = sendFrames([offerer.session], opusFrames(FRAMES, 440))
    await sendFrames([answerer.session], opusFrames(FRAMES, 660))
    await tones
    await waitFor('the tones both ways', () => offerer.received.length >= FRAMES * 0.9 && answerer.received.length >= FRAMES * 0.9, 5000)
    expect(Math.abs(await heardFrequency(answerer) - 440)).toBeLessThan(5)
    expect(Math.abs(await heardFrequency(offerer) - 660)).toBeLessThan(5)

    expect(offerer.session.stats()).toMatchObject({ path: 'relay', localCandidateType: 'relay' })
    expect(answerer.session.stats().path).toBe('relay')
    // The TCP-only side's relay traffic went through the bridge, on one TCP connection.
    const crossed = bridge.stats()
    expect(crossed.sources).toBe(1)
    expect(crossed.toServer.messages).toBeGreaterThan(FRAMES)
    expect(crossed.fromServer.messages).toBeGreaterThan(FRAMES)
    expect(turn.stats().tcp).toMatchObject({ connections: 1, badStreams: 0 })
    expect(new Set(turn.stats().perAllocation.map(allocation => allocation.user))).toEqual(new Set(['tcp-only', 'udp']))

    // Closing the bridge (with the call) closes its connection, which ends its allocation.
    closeAll(pair)
    pair = undefined
    await bridge.close()
    await waitFor('the TCP client\'s allocation to end', () => turn?.stats().tcp?.connections === 0 &&
      turn.stats().perAllocation.every(allocation => allocation.user !== 'tcp-only'), 5000)
  })
})
