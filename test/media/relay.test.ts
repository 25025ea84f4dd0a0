// Relay-only media through voxmesh's own UDP TURN server (node/relay) on loopback.
// The relay sockets sit on 127.0.0.2, apart from the sessions' 127.0.0.1: TURN permissions are
// per IP, so with everything on one address a session's host socket could slip its packets
// through the peer's allocation (libjuice pairs host candidates even under the relay policy,
// libdatachannel #1587) and the test would not prove the path is relayed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import { startTurnServer, type RunningTurnServer } from '../../node/relay/udp/udp-turn-server.js'
import { shutdownMedia, type MediaIceServer } from '../../node/media/media-session.js'
import { sequenceDelta, timestampDelta } from '../../node/media/rtp.js'
import { checkRemoteSdp } from '../../node/media/sdp-guard.js'
import { closeAll, createPair, exchangeGathered, opusFrames, sendFrames, waitConnected, waitFor, type Pair } from './helpers.js'

const SECRET = 'relay-test-secret'
let turn: RunningTurnServer | undefined
let pair: Pair | undefined

function iceServersFor (user: string): MediaIceServer[] {
  if (turn === undefined) throw new Error('no TURN server')
  const credentials = issueTurnCredentials(SECRET, user, 600, Date.now())
  return [{ hostname: '127.0.0.1', port: turn.port, username: credentials.username, password: credentials.password, relayType: 'TurnUdp' }]
}

beforeAll(async () => {
  // loopback peers: the lab flag.
  turn = await startTurnServer({ listen: '127.0.0.1:0', relayHost: '127.0.0.2', realm: 'voxmesh.test', secret: SECRET, allowPrivatePeers: true })
})
afterEach(() => { closeAll(pair); pair = undefined })
afterAll(async () => {
  shutdownMedia()
  await turn?.close()
})

describe('relay-only media session', () => {
  it('connects through the TURN relay, reports path relay, and the relay counts the packets', async () => {
    // Each side has its own credentials, as each host gets them from its supernode.
    // Gathered descriptions, as calls send them.
    pair = createPair({ relayOnly: true, iceServers: iceServersFor('alice'), answerer: { iceServers: iceServersFor('bob') } })
    const { offerer, answerer } = pair
    await exchangeGathered(pair)
    await waitConnected(pair, 15_000)
    expect(offerer.signalingErrors).toEqual([])
    expect(answerer.signalingErrors).toEqual([])

    const before = turn?.stats()
    const frames = opusFrames(50)
    await sendFrames([offerer.session, answerer.session], frames)
    await waitFor('50 packets each way', () => offerer.received.length === 50 && answerer.received.length === 50, 5000)

    for (const side of [offerer, answerer]) {
      side.received.forEach(({ rtp }, i) => {
        expect(rtp.payloadType).toBe(111)
        const previous = side.received[i - 1]
        if (previous !== undefined) {
          expect(sequenceDelta(rtp.seq, previous.rtp.seq)).toBe(1)
          expect(timestampDelta(rtp.timestamp, previous.rtp.timestamp)).toBe(960)
        }
      })
      const stats = side.session.stats()
      expect(stats.path).toBe('relay')
      expect(stats.localCandidateType).toBe('relay')
      expect(stats.packetsSent).toBe(50)
      expect(stats.packetsReceived).toBe(50)
    }

    // Both directions crossed the relay: 100 RTP packets at least (plus RTCP and ICE checks).
    const after = turn?.stats()
    if (before === undefined || after === undefined) throw new Error('no TURN stats')
    const relayed = (after.toPeer.packets - before.toPeer.packets) + (after.fromPeer.packets - before.fromPeer.packets)
    expect(after.allocations).toBeGreaterThanOrEqual(2)
    expect(new Set(after.perAllocation.map(allocation => allocation.user))).toEqual(new Set(['alice', 'bob']))
    expect(relayed).toBeGreaterThanOrEqual(2 * 100)
    expect(after.toPeer.bytes - before.toPeer.bytes).toBeGreaterThan(frames.reduce((sum, f) => sum + f.length, 0))
  })

  it('a relay-only side ignores the peer\'s host candidates, so the call is relayed even where direct would work', async () => {
    // Gathered descriptions, as calls send them.
    pair = createPair({ relayOnly: true, iceServers: iceServersFor('dave'), answerer: { relayOnly: false, iceServers: iceServersFor('erin') } })
    const { offerer, answerer } = pair
    offerer.session.start()
    expect(answerer.session.setRemoteDescription(await offerer.session.gathered(), 'offer')).toEqual({ ok: true })
    const answer = await answerer.session.gathered()
    // Direct would work: the answer offers host candidates on 127.0.0.1 ...
    expect(answer).toMatch(/^a=candidate:.* typ host/m)
    // ... which the relay-only side leaves out.
    expect(offerer.session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitConnected(pair, 15_000)
    expect(offerer.signalingErrors).toEqual([])
    expect(answerer.signalingErrors).toEqual([])
    await sendFrames([offerer.session, answerer.session], opusFrames(10))
    await waitFor('10 packets each way', () => offerer.received.length === 10 && answerer.received.length === 10, 5000)
    expect(offerer.session.stats()).toMatchObject({ path: 'relay', localCandidateType: 'relay' })
    expect(answerer.session.stats().path).toBe('relay')
  })

  it('a relayed answerer serves DTLS (a=setup:passive), skips the candidate hold and carries audio', async () => {
    // libdatachannel #1630: the side whose ICE connects first must be the DTLS server.
    pair = createPair({ relayOnly: true, iceServers: iceServersFor('frank'), answerer: { relayOnly: false, iceServers: iceServersFor('grace') } })
    const { offerer, answerer } = pair
    offerer.session.start()
    const offer = await offerer.session.gathered()
    expect(checkRemoteSdp(offer, 'offer')).toMatchObject({ ok: true, summary: { setup: 'actpass' } })
    // The answerer itself is not relay-only: an offer of relay candidates alone decides it.
    expect(answerer.session.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    const answer = await answerer.session.gathered()
    expect(checkRemoteSdp(answer, 'answer')).toMatchObject({ ok: true, summary: { setup: 'passive' } })
    expect(offerer.session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitConnected(pair, 15_000)
    await sendFrames([offerer.session, answerer.session], opusFrames(10))
    await waitFor('10 packets each way', () => offerer.received.length === 10 && answerer.received.length === 10, 5000)
    expect(offerer.session.stats().path).toBe('relay')
  })

  it('offers only relay candidates, which the guard accepts', async () => {
    pair = createPair({ relayOnly: true, iceServers: iceServersFor('carol') })
    pair.offerer.session.start()
    const offer = await pair.offerer.session.gathered()
    expect(offer).toMatch(/^a=candidate:.* typ relay raddr /m)
    expect(offer).not.toMatch(/typ (host|srflx)/)
    expect(checkRemoteSdp(offer, 'offer')).toMatchObject({ ok: true })
  })
})
