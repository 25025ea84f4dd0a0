// Two real node-datachannel sessions in one process on 127.0.0.1.
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { dominantFrequency } from '../../node/media/audio/analysis.js'
import { createOpusDecoder } from '../../node/media/audio/opus.js'
import { SAMPLE_RATE, int16ToFloat } from '../../node/media/audio/pcm.js'
import { createMediaSession, shutdownMedia } from '../../node/media/media-session.js'
import { OPUS_PAYLOAD_TYPE, opusPacketSamples, sequenceDelta, timestampDelta } from '../../node/media/rtp.js'
import { checkRemoteSdp } from '../../node/media/sdp-guard.js'
import { closeAll, createPair, exchangeGathered, opusFrames, sendFrames, waitConnected, waitFor, type Pair, type Received, type Side } from './helpers.js'

let pair: Pair | undefined
afterEach(() => { closeAll(pair); pair = undefined })
afterAll(() => { shutdownMedia() })

function expectStream (received: Received[], sent: Uint8Array[], senderSsrc: number): void {
  expect(received.length).toBe(sent.length)
  received.forEach(({ payload, rtp }, i) => {
    expect(rtp.payloadType).toBe(OPUS_PAYLOAD_TYPE)
    expect(rtp.ssrc).toBe(senderSsrc)
    expect(Buffer.from(payload).equals(Buffer.from(sent[i] as Uint8Array))).toBe(true)
    const previous = received[i - 1]
    if (previous !== undefined) {
      expect(sequenceDelta(rtp.seq, previous.rtp.seq)).toBe(1)
      expect(timestampDelta(rtp.timestamp, previous.rtp.timestamp)).toBe(960)
    }
  })
}

function bytesOf (frames: Uint8Array[]): number {
  return frames.reduce((sum, frame) => sum + 12 + frame.length, 0)
}

async function connectedPair (options: Parameters<typeof createPair>[0] = {}): Promise<Pair> {
  pair = createPair(options)
  await exchangeGathered(pair)
  await waitConnected(pair)
  return pair
}

/** The offer with Opus moved from 111 to `payloadType` (m-line format, rtpmap, fmtp, rtcp-fb), as Firefox offers 109. */
function withOpusOn (offer: string, payloadType: number): string {
  const moved = offer
    .replace(/^(m=audio [0-9]+ UDP\/TLS\/RTP\/SAVPF(?: [0-9]+)*) 111\b/m, `$1 ${payloadType}`)
    .replace(/^a=(rtpmap|fmtp|rtcp-fb):111 /gm, `a=$1:${payloadType} `)
  expect(moved).toContain(`a=rtpmap:${payloadType} opus/48000/2`)
  expect(moved).not.toMatch(/ 111\r?$|:111 /m)
  return moved
}

/** The dominant frequency of received Opus packets, decoded, leaving out the encoder's first 100 ms. */
async function receivedFrequency (received: Received[]): Promise<number> {
  const decoder = await createOpusDecoder()
  try {
    const frames = received.map(({ payload }) => decoder.decode(payload)).slice(5)
    const pcm = new Int16Array(frames.reduce((sum, frame) => sum + frame.length, 0))
    let at = 0
    for (const frame of frames) { pcm.set(frame, at); at += frame.length }
    return dominantFrequency(int16ToFloat(pcm), SAMPLE_RATE)
  } finally {
    decoder.close()
  }
}

function noSignalingErrors (...sides: Side[]): void {
  for (const side of sides) expect(side.signalingErrors).toEqual([])
}

describe('media session on loopback', () => {
  it('carries Opus RTP both ways: payload type 111, consecutive sequence numbers, timestamps +960', async () => {
    const { offerer, answerer } = await connectedPair()
    noSignalingErrors(offerer, answerer)
    const frames = opusFrames(50)
    expect(frames.every(frame => opusPacketSamples(frame) === 960)).toBe(true)
    await sendFrames([offerer.session, answerer.session], frames)
    await waitFor('50 packets each way', () => offerer.received.length === 50 && answerer.received.length === 50, 5000)

    expectStream(answerer.received, frames, offerer.session.stats().localSsrc)
    expectStream(offerer.received, frames, answerer.session.stats().localSsrc)

    for (const [self, peer] of [[offerer, answerer], [answerer, offerer]] as const) {
      const stats = self.session.stats()
      const peerStats = peer.session.stats()
      expect(stats.state).toBe('connected')
      expect(stats.path).toBe('direct')
      expect(stats.localCandidateType).toBe('host')
      expect(['host', 'prflx']).toContain(stats.remoteCandidateType)
      expect(stats.packetsSent).toBe(50)
      expect(stats.bytesSent).toBe(bytesOf(frames))
      expect(stats.packetsDropped).toBe(0)
      expect(stats.packetsReceived).toBe(peerStats.packetsSent)
      expect(stats.bytesReceived).toBe(peerStats.bytesSent)
      expect(stats.invalidPacketsReceived).toBe(0)
      expect(self.session.remoteFingerprint()).toBe(peer.session.localFingerprint())
      expect(self.session.localFingerprint()).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    }
    expect(offerer.states).toEqual(['connecting', 'connected'])
    expect(answerer.states).toEqual(['connecting', 'connected'])
  })

  it('close() on one side: the other reports disconnected within a few seconds, and both close() calls return', async () => {
    const { offerer, answerer } = await connectedPair({ mediaTimeoutMs: 1500 })
    const frames = opusFrames(10)
    await sendFrames([offerer.session, answerer.session], frames)
    await waitFor('media both ways', () => offerer.received.length > 0 && answerer.received.length > 0)

    let started = Date.now()
    offerer.session.close()
    expect(Date.now() - started).toBeLessThan(1500)
    expect(offerer.session.state()).toBe('closed')
    offerer.session.close() // idempotent

    // The answerer keeps talking into the void and notices the silence.
    const talking = sendFrames([answerer.session], opusFrames(150))
    const noticedAfter = await waitFor('the answerer to notice', () => answerer.states.includes('disconnected'), 5000)
    expect(noticedAfter).toBeLessThan(4000)
    await talking

    started = Date.now()
    answerer.session.close()
    expect(Date.now() - started).toBeLessThan(1500)
    expect(answerer.session.state()).toBe('closed')

    // Nothing fires after close(); sending is refused; the path stays known for the call record.
    const statesAtClose = [...offerer.states]
    expect(offerer.session.sendAudio(frames[0] as Uint8Array)).toBe(false)
    expect(offerer.session.stats().path).toBe('direct')
    expect(offerer.session.stats().state).toBe('closed')
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(offerer.states).toEqual(statesAtClose)
    expect(offerer.states).not.toContain('closed')
  })

  it('reports connected again when media resumes after a silence', async () => {
    const { offerer, answerer } = await connectedPair({ mediaTimeoutMs: 600 })
    await waitFor('the offerer to notice silence', () => offerer.states.includes('disconnected'), 3000)
    await sendFrames([answerer.session], opusFrames(5))
    await waitFor('the offerer to see media again', () => offerer.states.at(-1) === 'connected', 3000)
    expect(offerer.states).toEqual(['connecting', 'connected', 'disconnected', 'connected'])
  })

  it('gathered() gives offer and answer with every candidate inside', async () => {
    pair = createPair()
    const { offerer, answerer } = pair
    offerer.session.start()
    const offer = await offerer.session.gathered()
    expect(offer).toMatch(/^a=candidate:.* typ host/m)
    expect(offer).toMatch(/^a=end-of-candidates/m)
    expect(checkRemoteSdp(offer, 'offer').ok).toBe(true)
    expect(answerer.session.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    const answer = await answerer.session.gathered()
    expect(checkRemoteSdp(answer, 'answer')).toMatchObject({ ok: true, summary: { setup: 'active' } })
    expect(offerer.session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitConnected(pair)
    const frames = opusFrames(5)
    await sendFrames([offerer.session, answerer.session], frames)
    await waitFor('5 packets each way', () => offerer.received.length === 5 && answerer.received.length === 5)
    expect(await offerer.session.gathered()).toBe(offer)
  })

  it('takes Opus on the offer\'s payload type: an offer moved to 109 (as Firefox offers) carries a tone each way', async () => {
    pair = createPair()
    const { offerer, answerer } = pair
    offerer.session.start()
    const offer = withOpusOn(await offerer.session.gathered(), 109)
    expect(checkRemoteSdp(offer, 'offer')).toMatchObject({ ok: true, summary: { opusPayloadType: 109 } })
    expect(answerer.session.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    // libdatachannel answers with the answerer's track description: Opus must be on 109 there too.
    const answer = await answerer.session.gathered()
    expect(answer).toMatch(/^m=audio [0-9]+ UDP\/TLS\/RTP\/SAVPF 109\r$/m)
    expect(answer).toContain('a=rtpmap:109 opus/48000/2')
    expect(answer).not.toMatch(/:111 /)
    expect(checkRemoteSdp(answer, 'answer')).toMatchObject({ ok: true, summary: { opusPayloadType: 109 } })
    expect(offerer.session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitConnected(pair)

    // A different tone each way, so each side's audio is known to be the other's.
    await Promise.all([sendFrames([offerer.session], opusFrames(50, 440)), sendFrames([answerer.session], opusFrames(50, 1000))])
    await waitFor('50 packets each way', () => offerer.received.length === 50 && answerer.received.length === 50, 5000)
    for (const side of [offerer, answerer]) {
      expect(side.received.every(({ rtp }) => rtp.payloadType === 109)).toBe(true)
      expect(side.session.stats()).toMatchObject({ packetsReceived: 50, invalidPacketsReceived: 0 })
    }
    expect(Math.abs(await receivedFrequency(answerer.received) - 440)).toBeLessThan(2)
    expect(Math.abs(await receivedFrequency(offerer.received) - 1000)).toBeLessThan(2)
  })

  it('refuses signaling out of order or in the wrong role, and stays usable', async () => {
    pair = createPair()
    const { offerer, answerer } = pair
    expect(offerer.session.setRemoteDescription('v=0', 'answer')).toMatchObject({ ok: false, reason: 'no offer was made yet' })
    offerer.session.start()
    const offer = await offerer.session.gathered()
    expect(offerer.session.setRemoteDescription(offer, 'offer').ok).toBe(false)
    expect(answerer.session.setRemoteDescription(offer, 'answer').ok).toBe(false)
    expect(answerer.session.setRemoteDescription(offer, 'rollback' as 'offer').ok).toBe(false)
    expect(answerer.session.setRemoteDescription(offer.replace('a=fingerprint:', 'a=fingerprint-x:'), 'offer').ok).toBe(false)
    expect(answerer.session.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    expect(answerer.session.setRemoteDescription(offer, 'offer')).toMatchObject({ ok: false, reason: 'the remote description is already set' })
    const answer = await answerer.session.gathered()
    expect(offerer.session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitConnected(pair)
    expect(offerer.session.sendAudio(new Uint8Array(0))).toBe(false)
    expect(offerer.session.sendAudio(new Uint8Array(1276))).toBe(false)
    expect(() => offerer.session.sendAudio(new Uint8Array(10), 7)).toThrow(RangeError)
    expect(offerer.session.stats().packetsDropped).toBe(2)
  })

  it('fails gathered() and refuses everything once closed', async () => {
    const session = createMediaSession({
      role: 'offerer', iceServers: [], bindAddress: '127.0.0.1', log: silentLogger, onAudio: () => {}, onState: () => {}
    })
    const waiting = session.gathered()
    session.close()
    await expect(waiting).rejects.toThrow(/closed/)
    await expect(session.gathered()).rejects.toThrow(/closed/)
    session.start()
    expect(session.setRemoteDescription('v=0', 'answer')).toEqual({ ok: false, reason: 'closed' })
    expect(session.stats()).toMatchObject({ state: 'closed', path: 'unknown', packetsSent: 0 })
    expect(() => createMediaSession({
      role: 'offerer', iceServers: [{ hostname: 'turn:evil@x', port: 3478 }], log: silentLogger, onAudio: () => {}, onState: () => {}
    })).toThrow(TypeError)
    const base = { role: 'offerer' as const, iceServers: [], log: silentLogger, onAudio: () => {}, onState: () => {} }
    expect(() => createMediaSession({ ...base, bindAddress: 'localhost' })).toThrow(/bindAddress/)
    expect(() => createMediaSession({ ...base, portRange: { begin: 5000, end: 4000 } })).toThrow(/portRange/)
    expect(() => createMediaSession({ ...base, mediaTimeoutMs: -1 })).toThrow(/mediaTimeoutMs/)
  })
})
