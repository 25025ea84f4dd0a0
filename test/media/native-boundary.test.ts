// The media session against a stand-in for node-datachannel that records every native call
// (fake-node-datachannel.ts): rejected descriptions and candidates never reach it, and the
// session's own logic (RTP timestamps, payload types, receive path, watchdog, callbacks that
// throw, close) is checked in isolation.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { native } from './fake-node-datachannel.js'

vi.mock('node-datachannel', async () => (await import('./fake-node-datachannel.js')).native.module)

const { ANSWERER_CANDIDATE_HOLD_MS, createMediaSession, shutdownMedia } = await import('../../node/media/media-session.js')
const { buildRtp } = await import('../../node/media/rtp.js')
const { FakeClock } = await import('../../node/net/fake-clock.js')
const { seededRandom } = await import('../helpers/random.js')
const { silentLogger } = await import('../../common/logger.js')
type MediaState = import('../../node/media/media-session.js').MediaState

const OFFER = [
  'v=0', 'o=rtc 1 0 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE audio',
  'a=fingerprint:sha-256 CD:23:5B:5A:77:DF:22:FA:FE:1E:82:A3:18:1D:BE:D6:6D:4B:FB:EB:16:9E:A0:C2:DD:B6:6D:90:0C:A7:56:55',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:audio', 'a=sendrecv', 'a=ssrc:2222 cname:peer',
  'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', 'a=setup:actpass', 'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', ''
].join('\r\n')

/** The offer with `candidates` inside, as gathered() writes them. */
function withCandidates (sdp: string, ...candidates: string[]): string {
  return sdp.replace('a=setup:actpass', ['a=setup:actpass', ...candidates.map(candidate => `a=${candidate}`), 'a=end-of-candidates'].join('\r\n'))
}

/** An Opus RTP packet as the peer would send it. */
function rtpPacket (seq: number, payloadType: number): Buffer {
  return Buffer.from(buildRtp({ payloadType, sequenceNumber: seq, timestamp: seq * 960, ssrc: 2222, payload: Uint8Array.from([0xf8, seq & 0xff]) }))
}

function nativeCalls (name: string): unknown[][] {
  return native.calls.filter(call => call[0] === name)
}

/** The native calls that set Opus's payload type ("addOpusCodec 111"), and setRemoteDescription, in order. */
function payloadTypeCalls (): string[] {
  return native.calls.filter(call => ['addOpusCodec', 'RtpPacketizationConfig', 'setRemoteDescription'].includes(call[0]))
    .map(call => call[0] === 'setRemoteDescription' ? call[0] : `${call[0]} ${String(call[1])}`)
}

function answerer (events: { states: MediaState[], audio: Array<{ payload: Uint8Array, seq: number }> }, mediaTimeoutMs?: number) {
  const session = createMediaSession({
    role: 'answerer',
    iceServers: [{ hostname: '198.18.0.1', port: 3478, username: '1700000000:alice', password: 'pw', relayType: 'TurnUdp' }],
    relayOnly: true,
    mediaTimeoutMs,
    log: silentLogger,
    onAudio: (payload, rtp) => { events.audio.push({ payload, seq: rtp.seq }) },
    onState: state => { events.states.push(state) }
  })
  const pc = native.peers.at(-1)
  if (pc === undefined) throw new Error('no peer connection')
  return { session, pc }
}

beforeEach(() => { native.calls.length = 0; native.peers.length = 0 })
afterEach(() => { vi.useRealTimers() })

describe('the native boundary', () => {
  it('passes ICE servers as objects and the relay policy', () => {
    const { session } = answerer({ states: [], audio: [] })
    expect(nativeCalls('new PeerConnection')[0]?.[1]).toEqual({
      iceServers: [{ hostname: '198.18.0.1', port: 3478, username: '1700000000:alice', password: 'pw', relayType: 'TurnUdp' }],
      iceTransportPolicy: 'relay'
    })
    session.close()
  })

  it('never hands rejected descriptions or candidates to native code', () => {
    const { session } = answerer({ states: [], audio: [] })
    const badDescriptions: unknown[] = [
      undefined, 17, '', 'v=0', OFFER.replace('a=fingerprint', 'a=fingerprints'), OFFER + 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\n',
      OFFER.replace('opus/48000/2', 'opus/48000/1'), OFFER.replace('a=setup:actpass\r\n', ''), OFFER + 'a=x'.repeat(6000),
      OFFER.replace('s=-', 's=\u0000'), OFFER.replace('a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n', '')
    ]
    for (const sdp of badDescriptions) expect(session.setRemoteDescription(sdp as string, 'offer').ok).toBe(false)
    expect(session.setRemoteDescription(OFFER, 'answer').ok).toBe(false)
    // Candidates inside the description: one bad line refuses it all.
    const badCandidates = ['candidate:1 1 TCP 1 127.0.0.1 9 typ host', 'candidate:1 1 UDP 1 127.0.0.1 9 typ nat', 'candidate:1 1 UDP 1 localhost 9 typ host', 'candidate:x']
    for (const candidate of badCandidates) expect(session.setRemoteDescription(withCandidates(OFFER, candidate), 'offer').ok).toBe(false)
    expect(nativeCalls('setRemoteDescription')).toEqual([])
    expect(nativeCalls('addRemoteCandidate')).toEqual([])
    expect(nativeCalls('addTrack')).toEqual([])

    // A good candidate waits past the description; both then go through, candidate after description.
    expect(session.setRemoteDescription(withCandidates(OFFER, 'candidate:1 1 UDP 1 198.18.5.5 3478 typ relay raddr 198.18.0.2 rport 5000'), 'offer')).toEqual({ ok: true })
    expect(nativeCalls('setRemoteDescription')[0]?.[1]).not.toMatch(/candidate/)
    expect(nativeCalls('addRemoteCandidate')).toEqual([]) // the answerer lets the offerer move first
    const pc = native.peers.at(-1)
    pc?.handlers.ice?.('connected')
    expect(native.calls.map(call => call[0]).filter(name => name === 'setRemoteDescription' || name === 'addRemoteCandidate'))
      .toEqual(['setRemoteDescription', 'addRemoteCandidate'])
    expect(nativeCalls('addRemoteCandidate')[0]).toEqual(['addRemoteCandidate', 'candidate:1 1 UDP 1 198.18.5.5 3478 typ relay raddr 198.18.0.2 rport 5000', 'audio'])
    // The answerer's track: the offer's mid, Opus 111, its SSRC, the handler chain.
    expect(nativeCalls('addTrack')).toEqual([['addTrack', 'audio']])
    expect(nativeCalls('addOpusCodec')).toEqual([['addOpusCodec', 111]])
    expect(nativeCalls('RtpPacketizationConfig')).toEqual([['RtpPacketizationConfig', 111, 48000]])
    expect(nativeCalls('addToChain').map(call => call[1])).toEqual(['RtcpSrReporter', 'RtcpNackResponder'])
    session.close()
  })

  it('relay-only: hands native code only the peer\'s relay candidates (libdatachannel #1587)', () => {
    vi.useFakeTimers()
    const { session, pc } = answerer({ states: [], audio: [] })
    const relay = 'candidate:2 1 UDP 16777215 198.18.5.5 3478 typ relay raddr 198.18.0.2 rport 5000'
    const withCandidates = OFFER.replace('a=setup:actpass', `a=setup:actpass\r\na=candidate:1 1 UDP 2114977791 10.0.0.2 5000 typ host\r\na=${relay}\r\na=candidate:3 1 UDP 1686052607 198.18.0.2 5000 typ srflx raddr 10.0.0.2 rport 5000\r\na=end-of-candidates`)
    expect(session.setRemoteDescription(withCandidates, 'offer')).toEqual({ ok: true })
    // The offer's candidates wait (the offerer may not hold our answer yet), then only the relay one goes in.
    const handed = nativeCalls('setRemoteDescription')[0]?.[1] as string
    expect(handed).not.toMatch(/candidate/)
    expect(nativeCalls('addRemoteCandidate')).toEqual([])
    pc.handlers.ice?.('connected')
    expect(nativeCalls('addRemoteCandidate')).toEqual([['addRemoteCandidate', relay, 'audio']])
    vi.advanceTimersByTime(5000)
    expect(nativeCalls('addRemoteCandidate')).toHaveLength(1)
    session.close()
  })

  it('answerer: holds the offer\'s candidates until ICE connects or the hold time is over', () => {
    vi.useFakeTimers()
    const events = { states: [] as MediaState[], audio: [] as Array<{ payload: Uint8Array, seq: number }> }
    const session = createMediaSession({ role: 'answerer', iceServers: [], log: silentLogger, onAudio: () => {}, onState: state => { events.states.push(state) } })
    const host = 'candidate:1 1 UDP 2114977791 10.0.0.2 5000 typ host'
    expect(session.setRemoteDescription(OFFER.replace('a=setup:actpass', `a=setup:actpass\r\na=${host}\r\na=end-of-candidates`), 'offer')).toEqual({ ok: true })
    expect(nativeCalls('setRemoteDescription')[0]?.[1]).not.toMatch(/candidate/)
    vi.advanceTimersByTime(ANSWERER_CANDIDATE_HOLD_MS - 1)
    expect(nativeCalls('addRemoteCandidate')).toEqual([])
    vi.advanceTimersByTime(1)
    expect(nativeCalls('addRemoteCandidate')).toEqual([['addRemoteCandidate', host, 'audio']])
    session.close()
  })

  it('sets the RTP timestamp before each send and advances it by the frame length', () => {
    const { session, pc } = answerer({ states: [], audio: [] })
    session.setRemoteDescription(OFFER, 'offer')
    const track = pc.track
    if (track === undefined) throw new Error('no track')
    expect(session.sendAudio(Uint8Array.from([1]))).toBe(false) // not open yet
    track.handlers.open?.()
    pc.handlers.state?.('connected')
    expect(session.state()).toBe('connected')
    const payload = new Uint8Array([9, 0xf8, 1, 2, 9]).subarray(1, 4)
    expect(session.sendAudio(payload)).toBe(true)
    expect(session.sendAudio(payload)).toBe(true)
    expect(session.sendAudio(payload, 1920)).toBe(true)
    expect(session.sendAudio(payload)).toBe(true)
    expect(track.sent.map(buffer => [...buffer])).toEqual([[0xf8, 1, 2], [0xf8, 1, 2], [0xf8, 1, 2], [0xf8, 1, 2]])
    const [t0, t1, t2, t3] = track.timestampsAtSend as [number, number, number, number]
    expect([(t1 - t0) >>> 0, (t2 - t1) >>> 0, (t3 - t2) >>> 0]).toEqual([960, 960, 1920])
    expect(session.stats()).toMatchObject({ packetsSent: 4, bytesSent: 4 * 15 })
    session.close()
  })

  it('delivers Opus RTP, counts RTCP and garbage, and survives callbacks that throw', () => {
    const events = { states: [] as MediaState[], audio: [] as Array<{ payload: Uint8Array, seq: number }> }
    const { session, pc } = answerer(events)
    session.setRemoteDescription(OFFER, 'offer')
    const track = pc.track
    if (track === undefined) throw new Error('no track')
    track.handlers.open?.()
    pc.handlers.state?.('connected')
    const rtp = (seq: number, payloadType = 111, payload = [0xf8, seq & 0xff]): Buffer =>
      Buffer.from(buildRtp({ payloadType, sequenceNumber: seq, timestamp: seq * 960, ssrc: 2222, payload: Uint8Array.from(payload) }))
    track.handlers.message?.(rtp(1))
    track.handlers.message?.(Buffer.from('80c80006000008aeeeb1992cf50b48008e8c6269000000010000000481ca0004000008ae0107636e616d652d42000000', 'hex'))
    track.handlers.message?.(rtp(2, 96))
    track.handlers.message?.(Buffer.from([1, 2, 3]))
    track.handlers.message?.(Buffer.alloc(5000))
    track.handlers.message?.(rtp(3, 111, []))
    track.handlers.message?.(rtp(4))
    expect(events.audio.map(packet => [packet.seq, [...packet.payload]])).toEqual([[1, [0xf8, 1]], [4, [0xf8, 4]]])
    expect(session.stats()).toMatchObject({ packetsReceived: 2, rtcpPacketsReceived: 1, invalidPacketsReceived: 4 })

    const throwing = createMediaSession({
      role: 'offerer',
      iceServers: [],
      log: silentLogger,
      onAudio: () => { throw new Error('boom') },
      onState: () => { throw new Error('boom') }
    })
    const throwingPc = native.peers.at(-1)
    throwing.start()
    expect(() => {
      throwingPc?.handlers.description?.(OFFER, 'offer')
      throwingPc?.handlers.candidate?.('a=candidate:1 1 UDP 1 127.0.0.1 9 typ host', 'audio')
      throwingPc?.track?.handlers.open?.()
      throwingPc?.handlers.state?.('connected')
      throwingPc?.track?.handlers.message?.(rtp(5))
    }).not.toThrow()
    expect(throwing.localFingerprint()).toBe('CD:23:5B:5A:77:DF:22:FA:FE:1E:82:A3:18:1D:BE:D6:6D:4B:FB:EB:16:9E:A0:C2:DD:B6:6D:90:0C:A7:56:55')
    throwing.close()
    session.close()
  })

  it('answerer: takes Opus on the offer\'s payload type (Firefox: 109), sends on it and accepts only it', () => {
    const events = { states: [] as MediaState[], audio: [] as Array<{ payload: Uint8Array, seq: number }> }
    const { session, pc } = answerer(events)
    const firefoxLike = OFFER.replace('SAVPF 111', 'SAVPF 109 0 8 101').replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:109 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000')
    expect(session.setRemoteDescription(firefoxLike, 'offer')).toEqual({ ok: true })
    // The track is made with 109 before the offer reaches native code: libdatachannel answers with its description.
    expect(payloadTypeCalls()).toEqual(['addOpusCodec 109', 'RtpPacketizationConfig 109', 'setRemoteDescription'])
    pc.track?.handlers.open?.()
    pc.handlers.state?.('connected')
    expect(session.sendAudio(Uint8Array.from([0xf8, 1]))).toBe(true)
    expect(pc.track?.payloadTypesAtSend).toEqual([109])
    for (const [seq, payloadType] of [[1, 109], [2, 111], [3, 0], [4, 101], [5, 109]] as const) pc.track?.handlers.message?.(rtpPacket(seq, payloadType))
    expect(events.audio.map(packet => packet.seq)).toEqual([1, 5])
    expect(session.stats()).toMatchObject({ packetsReceived: 2, invalidPacketsReceived: 3 })
    session.close()
  })

  it('offerer: offers 111, and takes the answer\'s Opus payload type before native code sees the answer', () => {
    const audio: number[] = []
    const session = createMediaSession({ role: 'offerer', iceServers: [], log: silentLogger, onAudio: (_payload, rtp) => { audio.push(rtp.payloadType) }, onState: () => {} })
    const pc = native.peers.at(-1)
    session.start()
    pc?.handlers.description?.(OFFER, 'offer')
    const answer = OFFER.replaceAll(':111 ', ':109 ').replace('SAVPF 111', 'SAVPF 109').replace('a=setup:actpass', 'a=setup:active')
    expect(session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    expect(payloadTypeCalls()).toEqual(['addOpusCodec 111', 'RtpPacketizationConfig 111', 'RtpPacketizationConfig 109', 'setRemoteDescription'])
    pc?.track?.handlers.open?.()
    pc?.handlers.state?.('connected')
    expect([session.sendAudio(Uint8Array.from([0xf8, 1])), session.sendAudio(Uint8Array.from([0xf8, 2]))]).toEqual([true, true])
    expect(pc?.track?.payloadTypesAtSend).toEqual([109, 109])
    expect(((pc?.track?.timestampsAtSend[1] ?? 0) - (pc?.track?.timestampsAtSend[0] ?? 0)) >>> 0).toBe(960)
    // The answer's number, and the offer's (what we asked the peer to send, RFC 3264 §5.1); nothing else.
    for (const [seq, payloadType] of [[1, 109], [2, 111], [3, 96]] as const) pc?.track?.handlers.message?.(rtpPacket(seq, payloadType))
    expect(audio).toEqual([109, 111])
    expect(session.stats()).toMatchObject({ packetsReceived: 2, invalidPacketsReceived: 1 })
    session.close()
  })

  it('lists the relayed addresses among its own candidates ("a=" prefix or not), and keeps them after close', () => {
    const session = createMediaSession({ role: 'answerer', iceServers: [], log: silentLogger, onAudio: () => {}, onState: () => {} })
    const pc = native.peers.at(-1)
    pc?.handlers.candidate?.('a=candidate:1 1 UDP 2114977791 127.0.0.1 41445 typ host', 'audio')
    pc?.handlers.candidate?.('a=candidate:2 1 UDP 16777215 198.18.5.5 50000 typ relay raddr 198.18.0.2 rport 5000', 'audio')
    pc?.handlers.candidate?.('candidate:3 1 UDP 16777215 198.18.5.6 50002 typ relay raddr 198.18.0.2 rport 5000', 'audio')
    expect(session.relayedAddresses()).toEqual([{ ip: '198.18.5.5', port: 50000 }, { ip: '198.18.5.6', port: 50002 }])
    session.close()
    expect(session.relayedAddresses()).toHaveLength(2)
  })

  it('reports a relayed path when the peer\'s relay address shows up as peer-reflexive', () => {
    const { session, pc } = answerer({ states: [], audio: [] })
    session.setRemoteDescription(withCandidates(OFFER, 'candidate:9 1 UDP 16777215 198.18.5.5 3478 typ relay raddr 198.18.0.9 rport 4000'), 'offer')
    pc.track?.handlers.open?.()
    pc.handlers.state?.('connected')
    expect(session.stats()).toMatchObject({ path: 'relay', localCandidateType: 'host', remoteCandidateType: 'relay' })
    session.close()
  })

  it('watchdog: disconnected after mediaTimeoutMs of silence, connected when packets return', () => {
    vi.useFakeTimers()
    const events = { states: [] as MediaState[], audio: [] as Array<{ payload: Uint8Array, seq: number }> }
    const { session, pc } = answerer(events, 1000)
    session.setRemoteDescription(OFFER, 'offer')
    pc.handlers.state?.('connecting')
    pc.track?.handlers.open?.()
    pc.handlers.state?.('connected')
    vi.advanceTimersByTime(900)
    expect(events.states).toEqual(['connecting', 'connected'])
    vi.advanceTimersByTime(500)
    expect(events.states).toEqual(['connecting', 'connected', 'disconnected'])
    pc.track?.handlers.message?.(Buffer.from(buildRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 2222, payload: Uint8Array.from([0xf8]) })))
    expect(events.states).toEqual(['connecting', 'connected', 'disconnected', 'connected'])
    pc.handlers.state?.('failed')
    expect(events.states.at(-1)).toBe('failed')
    vi.runOnlyPendingTimers()
    expect(pc.closed).toBe(true) // native released after a terminal state
    expect(pc.track?.closed).toBe(true)
    session.close()
    expect(nativeCalls('pc.close')).toHaveLength(1)
  })

  it('takes its time from an injected clock: the candidate hold, the watchdog, gathered()\'s timeout', async () => {
    const clock = new FakeClock()
    const states: MediaState[] = []
    const session = createMediaSession({ role: 'answerer', iceServers: [], mediaTimeoutMs: 1000, clock, log: silentLogger, onAudio: () => {}, onState: state => { states.push(state) } })
    const pc = native.peers.at(-1)
    const host = 'candidate:1 1 UDP 2114977791 10.0.0.2 5000 typ host'
    expect(session.setRemoteDescription(withCandidates(OFFER, host), 'offer')).toEqual({ ok: true })
    clock.advance(ANSWERER_CANDIDATE_HOLD_MS - 1)
    expect(nativeCalls('addRemoteCandidate')).toEqual([])
    clock.advance(1)
    expect(nativeCalls('addRemoteCandidate')).toEqual([['addRemoteCandidate', host, 'audio']])
    pc?.track?.handlers.open?.()
    pc?.handlers.state?.('connected')
    clock.advance(1000)
    expect(states).toEqual(['connected'])
    clock.advance(250)
    expect(states).toEqual(['connected', 'disconnected'])
    const gathering = session.gathered(5000)
    clock.advance(5000)
    await expect(gathering).rejects.toThrow('no local description after 5000 ms')
    session.close()
    expect(clock.pending).toBe(0)
  })

  it('takes its SSRC from an injected random source', () => {
    const base = { role: 'offerer' as const, iceServers: [], log: silentLogger, onAudio: () => {}, onState: () => {} }
    const [a, b] = [createMediaSession({ ...base, random: seededRandom(7) }), createMediaSession({ ...base, random: seededRandom(7) })]
    expect(a.stats().localSsrc).toBe(b.stats().localSsrc)
    expect(a.stats().localSsrc).toBe(Math.floor(seededRandom(7)() * 2 ** 32))
    a.close()
    b.close()
  })

  it('close() is idempotent, closes track and connection once, and silences callbacks', () => {
    const events = { states: [] as MediaState[], audio: [] as Array<{ payload: Uint8Array, seq: number }> }
    const { session, pc } = answerer(events)
    session.setRemoteDescription(OFFER, 'offer')
    session.close()
    session.close()
    expect(nativeCalls('track.close')).toHaveLength(1)
    expect(nativeCalls('pc.close')).toHaveLength(1)
    pc.handlers.state?.('connected')
    pc.track?.handlers.message?.(Buffer.alloc(20, 0x80))
    expect(events.states).toEqual([])
    shutdownMedia()
    shutdownMedia()
    expect(nativeCalls('cleanup')).toHaveLength(1)
  })
})
