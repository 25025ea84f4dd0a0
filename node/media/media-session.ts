// The media leg of a call: one node-datachannel PeerConnection with one Opus audio track
// (RTP, RFC 7587, DTLS-SRTP). This is the only module that touches node-datachannel; every
// string from the network passes sdp-guard before any native call, and every native call is
// wrapped so a libdatachannel exception becomes a logged result, never a crash.
//
// Shape of a session:
// - both ends add a SendRecv audio track with their own SSRC (a=ssrc in their description) and
//   the same mid, so each end's packets reach the other's track (onTrack is never relied on: it
//   fires only on the answerer, and a track it hands out carries no local SSRC);
// - the offerer adds its track in start() and creates the offer; the answerer adds its track
//   when the offer arrives (with the offer's mid) and node-datachannel answers by itself;
// - sending goes through RtpPacketizer → RtcpSrReporter → RtcpNackResponder; sendAudio() sets
//   the RTP timestamp and advances it by the frame's samples (960 per 20 ms);
// - received messages are whole RTP packets with RTCP mixed in: parsed here (rtp.ts);
// - libdatachannel hands ICE the remote credentials a moment before it records the remote
//   description, and verifies the peer's DTLS certificate against that record: when the peer's
//   ICE checks and DTLS handshake land inside that moment (loopback, a busy machine), the
//   offerer fails with "certificate verify failed" and then "Got a remote candidate without ICE
//   transport". So the answerer must not reach the offerer before the offerer holds the answer:
//   the offerer keeps its trickled candidates until its answer is applied, and the answerer
//   holds the offerer's candidates (inside the offer or trickled) until its ICE connects (the
//   offerer's checks reached it, so the offerer holds the answer) or ANSWERER_CANDIDATE_HOLD_MS
//   have passed. Letting the offerer move first also lets the DTLS handshake find the
//   offerer's DTLS transport up: ~60 ms to connect on loopback instead of a 1 s retransmission;
// - libdatachannel 0.24.5 (node-datachannel 0.33) can deadlock the whole process when a DTLS
//   server's ClientHello is already queued as its own ICE turns connected (libdatachannel #1630,
//   fixed upstream after this release): every later call into node-datachannel then blocks the
//   main thread. On a relayed path the answerer's ICE connects first (the offerer's checks wait
//   for the answerer's TURN permissions, which come with its held candidates), so a relayed
//   answerer (relay-only, or offered only relay candidates) rewrites the offer's a=setup:actpass
//   to active and becomes the DTLS server itself: the side that connects first serves. As the
//   server it cannot land a handshake before the offerer holds the answer, so it skips the
//   candidate hold too (relay-only setup: ~150 ms instead of ~1.15 s). A direct
//   path keeps libdatachannel's roles (the offerer connects first and serves). In the call
//   benchmark this took relay-only freezes from 2 in 26 connections to 0 in 80;
// - libdatachannel notices a vanished peer only after ~30 s (ICE consent), and a peer's close()
//   sends nothing the other side sees, so a media watchdog reports 'disconnected' when no
//   packet has arrived for mediaTimeoutMs, and 'connected' again when packets resume. The call
//   layer still ends calls with its own hangup message.
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import {
  Audio, PeerConnection, RtcpNackResponder, RtcpSrReporter, RtpPacketizationConfig, RtpPacketizer, cleanup,
  type DescriptionType, type RtcConfig, type Track
} from 'node-datachannel'
import type { Logger } from '../../common/logger.js'
import { MAX_OPUS_FRAME_BYTES, MAX_OPUS_PACKET_SAMPLES, OPUS_CLOCK_RATE, OPUS_PAYLOAD_TYPE, OPUS_SAMPLES_PER_FRAME, RTP_HEADER_BYTES, advanceTimestamp, packetKind, parseRtp } from './rtp.js'
import { checkCandidate, checkMid, checkRemoteSdp, filterSdpCandidates, sdpFingerprint, splitSdpCandidates, type AudioSdpSummary, type CandidateType, type GuardResult, type SdpType } from './sdp-guard.js'

/** The mid the offerer gives its audio m-line (the answerer takes whatever the offer says). */
export const AUDIO_MID = 'audio'
/** No packet for this long on a connected session: report 'disconnected'. */
export const DEFAULT_MEDIA_TIMEOUT_MS = 4000
export const WATCHDOG_TICK_MS = 250
/**
 * How long an answerer holds the offerer's candidates, unless its ICE connects sooner: time for
 * the answer to reach the offerer and be applied (see the race above). Where only the answerer
 * can open the path (its NAT drops the offerer's checks), it is also the extra setup time.
 */
export const ANSWERER_CANDIDATE_HOLD_MS = 1000
/** Local candidates an offerer keeps until the answer is applied. */
export const MAX_HELD_LOCAL_CANDIDATES = 64
/** Remote candidates held until the remote description is set. */
export const MAX_QUEUED_REMOTE_CANDIDATES = 32
/** Remote candidates accepted over a session's life. */
export const MAX_REMOTE_CANDIDATES = 64
export const MAX_ICE_SERVERS = 8
/** gathered() settles for the candidates it has after this long (TURN allocations included). */
export const DEFAULT_GATHER_TIMEOUT_MS = 10_000
/** Most bytes of Opus payload sendAudio() accepts (one frame at Opus's maximum size). */
export const MAX_AUDIO_PAYLOAD_BYTES = MAX_OPUS_FRAME_BYTES
/** Shortest Opus packet, 2.5 ms at 48 kHz. */
export const MIN_AUDIO_PACKET_SAMPLES = 120

export type MediaRole = 'offerer' | 'answerer'
export type MediaState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed'
export type MediaPath = 'direct' | 'relay' | 'unknown'

export interface MediaIceServer {
  hostname: string
  port: number
  username?: string
  password?: string
  /** Set for a TURN server; absent for a STUN server. */
  relayType?: 'TurnUdp'
}

export interface ReceivedRtp {
  /** Always OPUS_PAYLOAD_TYPE: packets of any other type are counted and dropped. */
  payloadType: number
  seq: number
  timestamp: number
  ssrc: number
  marker: boolean
}

export interface MediaSessionInit {
  role: MediaRole
  /** STUN servers and TURN relays (the two parties' supernodes). */
  iceServers: MediaIceServer[]
  /**
   * ICE transport policy "relay": only relayed candidates, for privacy and tests. libjuice
   * still pairs its host socket with every remote candidate (libdatachannel #1587), so such a
   * session also drops the peer's non-relay candidates: it can reach only relay addresses.
   */
  relayOnly?: boolean
  /** Local address ICE gathers on; '127.0.0.1' in tests on one machine. */
  bindAddress?: string
  /** UDP ports ICE may bind, e.g. for a firewall rule; the whole ephemeral range when absent. */
  portRange?: { begin: number, end: number }
  /** Watchdog: 'disconnected' after this long without a packet; 0 turns it off. */
  mediaTimeoutMs?: number
  /**
   * Our description, to sign and seal to the peer: an offer (offerer) or answer (answerer),
   * without candidates (they trickle through onLocalCandidate). Signaling that does not
   * trickle waits for gathered() instead.
   */
  onLocalDescription?: (sdp: string, type: SdpType) => void
  /**
   * A trickled ICE candidate, "candidate:..." (RFC 8839 attribute value, no "a=" prefix). The
   * offerer's come only once the answer is applied (see the race above).
   */
  onLocalCandidate?: (candidate: string, mid: string) => void
  /** One received Opus packet (RTP payload type 111). */
  onAudio: (payload: Uint8Array, rtp: ReceivedRtp) => void
  /** State changes; reason says why for 'disconnected' and 'failed'. Nothing fires after close(). */
  onState: (state: MediaState, reason?: string) => void
  log: Logger
}

export interface MediaStats {
  state: MediaState
  path: MediaPath
  localCandidateType?: CandidateType
  remoteCandidateType?: CandidateType
  /** RTP packets handed to the track, and their bytes (12-byte header + payload). */
  packetsSent: number
  bytesSent: number
  /** Opus RTP packets received, and their bytes (header + payload, RTCP not counted). */
  packetsReceived: number
  bytesReceived: number
  /** Frames sendAudio() refused or the track did not take. */
  packetsDropped: number
  rtcpPacketsReceived: number
  /** Received packets that were neither valid RTP with payload type 111 nor RTCP. */
  invalidPacketsReceived: number
  localSsrc: number
}

export interface MediaSession {
  readonly role: MediaRole
  /** The offerer creates its offer (onLocalDescription); a no-op for the answerer. */
  start: () => void
  /**
   * Our description once ICE gathering is complete, every candidate inside (for signaling
   * that sends one offer and one answer, no trickle). After timeoutMs it settles for the
   * candidates gathered so far; it rejects when the session closes or fails first.
   */
  gathered: (timeoutMs?: number) => Promise<string>
  /** Checks and applies the peer's description; the answerer's answer follows by itself. */
  setRemoteDescription: (sdp: string, type: SdpType) => GuardResult
  /** Checks a peer candidate; held until the remote description is set. */
  addRemoteCandidate: (candidate: string, mid: string) => GuardResult
  /** Sends one Opus packet; advances the RTP timestamp by `samples` (960 = 20 ms). */
  sendAudio: (opusPayload: Uint8Array, samples?: number) => boolean
  stats: () => MediaStats
  state: () => MediaState
  /** Our DTLS certificate's sha-256 fingerprint, once our description exists. */
  localFingerprint: () => string | undefined
  /** The fingerprint the peer's (checked) description carries. */
  remoteFingerprint: () => string | undefined
  /**
   * The relayed addresses of the TURN allocations our ICE made. libjuice does not delete its
   * allocations when a session closes: the call layer asks its supernode to (turn-release).
   */
  relayedAddresses: () => Array<{ ip: string, port: number }>
  /** Idempotent: closes the track and the connection and drops every native reference. */
  close: () => void
}

interface NativeParts {
  pc: PeerConnection
  track?: Track
  rtpConfig?: RtpPacketizationConfig
  /** Held so that the handler chain and description live exactly as long as the session. */
  keep: unknown[]
}

const NATIVE_STATES: Record<string, MediaState> = {
  new: 'new', connecting: 'connecting', connected: 'connected', disconnected: 'disconnected', failed: 'failed', closed: 'closed'
}

function errorText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function checkIceServers (servers: MediaIceServer[]): string | undefined {
  if (!Array.isArray(servers) || servers.length > MAX_ICE_SERVERS) return `iceServers must be an array of at most ${MAX_ICE_SERVERS}`
  for (const server of servers) {
    if (typeof server.hostname !== 'string' || !/^[A-Za-z0-9.\-:]{1,253}$/.test(server.hostname)) return 'an ICE server hostname is invalid'
    if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) return 'an ICE server port is invalid'
    for (const field of [server.username, server.password]) {
      if (field !== undefined && (typeof field !== 'string' || !/^[\x20-\x7e]{0,256}$/.test(field))) return 'an ICE server credential is invalid'
    }
    if (server.relayType !== undefined && server.relayType !== 'TurnUdp') return 'only TurnUdp relays are supported'
  }
  return undefined
}

function randomSsrc (): number {
  return (randomBytes(4).readUInt32BE(0) >>> 0) || 1
}

export function createMediaSession (init: MediaSessionInit): MediaSession {
  const log = init.log
  const role = init.role
  if (role !== 'offerer' && role !== 'answerer') throw new TypeError(`role must be offerer or answerer, got ${String(role)}`)
  const serverProblem = checkIceServers(init.iceServers)
  if (serverProblem !== undefined) throw new TypeError(serverProblem)
  const relayOnly = init.relayOnly === true
  const mediaTimeoutMs = init.mediaTimeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS
  if (!Number.isFinite(mediaTimeoutMs) || mediaTimeoutMs < 0) throw new TypeError('mediaTimeoutMs must be a non-negative number')

  const config: RtcConfig = {
    iceServers: init.iceServers.map(server => ({ ...server })),
    iceTransportPolicy: relayOnly ? 'relay' : 'all'
  }
  if (init.bindAddress !== undefined) {
    if (typeof init.bindAddress !== 'string' || isIP(init.bindAddress) === 0) throw new TypeError('bindAddress must be an IP address')
    config.bindAddress = init.bindAddress
  }
  if (init.portRange !== undefined) {
    const { begin, end } = init.portRange
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 1024 || end > 65535 || begin > end) {
      throw new TypeError('portRange must be integers with 1024 <= begin <= end <= 65535')
    }
    config.portRangeBegin = begin
    config.portRangeEnd = end
  }

  const localSsrc = randomSsrc()
  const cname = `voxmesh-${randomBytes(6).toString('hex')}`
  let rtpTimestamp = randomBytes(4).readUInt32BE(0)

  let native: NativeParts | undefined
  let closed = false
  /** Native state is terminal (failed/closed): native parts released, nothing more happens. */
  let ended = false
  let started = false
  let nativeState: MediaState = 'new'
  let reported: MediaState = 'new'
  let trackOpen = false
  let lastPacketAt = 0
  let watchdog: NodeJS.Timeout | undefined
  let localSdp: string | undefined
  const relayed = new Map<string, { ip: string, port: number }>()
  let remote: AudioSdpSummary | undefined
  let gatheringComplete = false
  const gatherWaiters = new Set<{ settle: (sdp: string | undefined, problem?: string) => void }>()
  const queuedCandidates: Array<{ candidate: string, mid: string }> = []
  /** The offerer's trickled candidates, kept until the answer is applied. */
  const heldLocalCandidates: Array<{ candidate: string, mid: string }> = []
  /** The answerer holds the offerer's candidates from the offer on until it releases them. */
  let holdingRemoteCandidates = role === 'answerer'
  let heldRemoteCandidates: string[] = []
  let holdTimer: NodeJS.Timeout | undefined
  let remoteCandidatesSeen = 0
  /** "address:port" → type of every remote candidate signalled, to see through prflx pairs. */
  const remoteCandidateTypes = new Map<string, CandidateType>()
  const counters = { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, packetsDropped: 0, rtcpPacketsReceived: 0, invalidPacketsReceived: 0 }

  /** Runs a user callback; a throw is logged, never left to unwind into native code. */
  function deliver (what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      log.error({ err: errorText(err), callback: what }, 'media session callback threw')
    }
  }

  function report (state: MediaState, reason?: string): void {
    if (closed || state === reported) return
    reported = state
    log.debug({ state, reason }, 'media state')
    deliver('onState', () => { init.onState(state, reason) })
  }

  function updateConnected (): void {
    if (nativeState === 'connected' && trackOpen) {
      lastPacketAt = Date.now()
      refreshPath()
      report('connected')
    }
  }

  /** The last selected pair seen; kept after close so a finished call still reports its path. */
  let pathInfo: Pick<MediaStats, 'path' | 'localCandidateType' | 'remoteCandidateType'> = { path: 'unknown' }

  function refreshPath (): void {
    if (native === undefined) return
    try {
      const pair = native.pc.getSelectedCandidatePair()
      if (pair === null || typeof pair !== 'object') return
      const localType = pair.local.type as CandidateType
      let remoteType = pair.remote.type as CandidateType
      // A peer's relayed address can first show up as peer-reflexive (its checks arrive
      // before its candidate); the signalled candidate at that address says what it is.
      if (remoteType === 'prflx') remoteType = remoteCandidateTypes.get(`${pair.remote.address}:${pair.remote.port}`) ?? remoteType
      const next: typeof pathInfo = {
        path: localType === 'relay' || remoteType === 'relay' ? 'relay' : 'direct',
        localCandidateType: localType,
        remoteCandidateType: remoteType
      }
      pathInfo = next
    } catch (err) {
      log.debug({ err: errorText(err) }, 'reading the selected candidate pair failed')
    }
  }

  /** The local description as it is now, candidates gathered so far included. */
  function currentLocalSdp (): string | undefined {
    if (native === undefined) return undefined
    try {
      return native.pc.localDescription()?.sdp ?? localSdp
    } catch {
      return localSdp
    }
  }

  function failWaiters (problem: string): void {
    for (const waiter of [...gatherWaiters]) waiter.settle(undefined, problem)
  }

  function releaseNative (): void {
    if (holdTimer !== undefined) { clearTimeout(holdTimer); holdTimer = undefined }
    heldRemoteCandidates = []
    heldLocalCandidates.length = 0
    failWaiters(closed ? 'the media session was closed' : 'the media session ended')
    refreshPath()
    if (watchdog !== undefined) { clearInterval(watchdog); watchdog = undefined }
    const parts = native
    native = undefined
    trackOpen = false
    if (parts === undefined) return
    // Closing the track releases its callbacks (otherwise they keep the process alive);
    // closing the connection releases the rest.
    try { parts.track?.close() } catch (err) { log.warn({ err: errorText(err) }, 'closing the audio track failed') }
    try { parts.pc.close() } catch (err) { log.warn({ err: errorText(err) }, 'closing the peer connection failed') }
    parts.track = undefined
    parts.rtpConfig = undefined
    parts.keep.length = 0
  }

  function onNativeState (text: string): void {
    if (closed || ended) return
    const state = NATIVE_STATES[text]
    if (state === undefined) { log.warn({ state: text }, 'unknown native media state'); return }
    nativeState = state
    switch (state) {
      case 'connected': updateConnected(); break
      case 'connecting': case 'new': report(state); break
      case 'disconnected': report('disconnected', 'ICE connectivity lost'); break
      case 'failed': case 'closed':
        ended = true
        report(state, state === 'failed' ? 'ICE or DTLS failed' : 'closed by the transport')
        setImmediate(releaseNative)
        break
    }
  }

  function checkWatchdog (): void {
    if (closed || ended || mediaTimeoutMs === 0 || nativeState !== 'connected' || !trackOpen) return
    const silent = Date.now() - lastPacketAt
    if (silent > mediaTimeoutMs && reported === 'connected') report('disconnected', `no media for ${silent} ms`)
  }

  function onMessage (message: Buffer): void {
    if (closed || ended) return
    lastPacketAt = Date.now()
    if (reported === 'disconnected' && nativeState === 'connected' && trackOpen) report('connected')
    const kind = packetKind(message)
    if (kind === 'rtcp') { counters.rtcpPacketsReceived++; return }
    const parsed = kind === 'rtp' ? parseRtp(message) : undefined
    if (parsed === undefined || !parsed.ok || parsed.packet.payloadType !== OPUS_PAYLOAD_TYPE || parsed.packet.payload.length === 0) {
      counters.invalidPacketsReceived++
      return
    }
    const packet = parsed.packet
    counters.packetsReceived++
    counters.bytesReceived += message.length
    deliver('onAudio', () => {
      init.onAudio(packet.payload, { payloadType: packet.payloadType, seq: packet.sequenceNumber, timestamp: packet.timestamp, ssrc: packet.ssrc, marker: packet.marker })
    })
  }

  function addTrack (mid: string): string | undefined {
    if (native === undefined) return 'closed'
    if (native.track !== undefined) return undefined
    try {
      const audio = new Audio(mid, 'SendRecv')
      audio.addOpusCodec(OPUS_PAYLOAD_TYPE)
      audio.addSSRC(localSsrc, cname, 'voxmesh', 'voxmesh-audio')
      const track = native.pc.addTrack(audio)
      const rtpConfig = new RtpPacketizationConfig(localSsrc, cname, OPUS_PAYLOAD_TYPE, OPUS_CLOCK_RATE)
      rtpConfig.timestamp = rtpTimestamp
      const packetizer = new RtpPacketizer(rtpConfig)
      const srReporter = new RtcpSrReporter(rtpConfig)
      const nackResponder = new RtcpNackResponder()
      packetizer.addToChain(srReporter)
      packetizer.addToChain(nackResponder)
      track.setMediaHandler(packetizer)
      track.onOpen(() => {
        if (closed || ended) return
        trackOpen = true
        updateConnected()
      })
      track.onClosed(() => {
        if (closed || ended) return
        trackOpen = false
        log.debug({}, 'audio track closed')
      })
      track.onError(err => { if (!closed) log.warn({ err }, 'audio track error') })
      track.onMessage(onMessage)
      native.track = track
      native.rtpConfig = rtpConfig
      native.keep.push(audio, packetizer, srReporter, nackResponder)
      return undefined
    } catch (err) {
      return `adding the audio track failed: ${errorText(err)}`
    }
  }

  /** The answerer stops holding the offerer's candidates and hands them to ICE. */
  function releaseRemoteCandidates (why: string): void {
    if (!holdingRemoteCandidates || remote === undefined || closed || ended) return
    holdingRemoteCandidates = false
    if (holdTimer !== undefined) { clearTimeout(holdTimer); holdTimer = undefined }
    const held = heldRemoteCandidates
    heldRemoteCandidates = []
    log.debug({ candidates: held.length, why }, 'adding the offerer\'s candidates')
    for (const candidate of held) applyCandidate(candidate, remote.mid)
  }

  function emitLocalCandidate (candidate: string, mid: string): void {
    const onLocalCandidate = init.onLocalCandidate
    if (onLocalCandidate !== undefined) deliver('onLocalCandidate', () => { onLocalCandidate(candidate, mid) })
  }

  function applyCandidate (candidate: string, mid: string): GuardResult {
    if (native === undefined) return { ok: false, reason: 'closed' }
    try {
      native.pc.addRemoteCandidate(candidate, mid)
      return { ok: true }
    } catch (err) {
      log.warn({ err: errorText(err) }, 'node-datachannel refused a remote candidate')
      return { ok: false, reason: `refused: ${errorText(err)}` }
    }
  }

  try {
    const pc = new PeerConnection(`voxmesh-${role}`, config)
    native = { pc, keep: [] }
    pc.onStateChange(onNativeState)
    pc.onLocalDescription((sdp: string, type: DescriptionType) => {
      if (closed || ended) return
      if (type !== 'offer' && type !== 'answer') { log.warn({ type }, 'ignoring a local description of an unexpected type'); return }
      localSdp = sdp
      const onLocalDescription = init.onLocalDescription
      if (onLocalDescription !== undefined) deliver('onLocalDescription', () => { onLocalDescription(sdp, type) })
    })
    pc.onLocalCandidate((candidate: string, mid: string) => {
      if (closed || ended) return
      const plain = candidate.startsWith('a=') ? candidate.slice(2) : candidate
      const own = checkCandidate(plain)
      if (own.ok && own.summary.type === 'relay' && relayed.size < MAX_ICE_SERVERS) relayed.set(`${own.summary.address}:${own.summary.port}`, { ip: own.summary.address, port: own.summary.port })
      if (role === 'offerer' && remote === undefined) {
        if (heldLocalCandidates.length < MAX_HELD_LOCAL_CANDIDATES) heldLocalCandidates.push({ candidate: plain, mid })
        return
      }
      emitLocalCandidate(plain, mid)
    })
    pc.onIceStateChange((state: string) => {
      if (closed || ended) return
      log.debug({ state }, 'ICE state')
      if (state === 'connected' || state === 'completed') releaseRemoteCandidates(`ICE ${state}`)
    })
    pc.onGatheringStateChange((state: string) => {
      if (closed || ended) return
      log.debug({ state }, 'ICE gathering')
      if (state !== 'complete') return
      gatheringComplete = true
      const sdp = currentLocalSdp()
      for (const waiter of [...gatherWaiters]) waiter.settle(sdp, sdp === undefined ? 'gathering completed without a local description' : undefined)
    })
  } catch (err) {
    releaseNative()
    throw new Error(`creating the peer connection failed: ${errorText(err)}`)
  }

  const session: MediaSession = {
    role,

    start () {
      if (closed || ended || started) return
      started = true
      if (role !== 'offerer' || native === undefined) return
      const problem = addTrack(AUDIO_MID)
      if (problem !== undefined) { log.error({ problem }, 'cannot start the media session'); report('failed', problem); return }
      try {
        native.pc.setLocalDescription('offer')
      } catch (err) {
        log.error({ err: errorText(err) }, 'creating the offer failed')
        report('failed', `creating the offer failed: ${errorText(err)}`)
      }
    },

    gathered (timeoutMs = DEFAULT_GATHER_TIMEOUT_MS) {
      if (closed || ended || native === undefined) return Promise.reject(new Error('the media session is closed'))
      if (gatheringComplete) {
        const sdp = currentLocalSdp()
        if (sdp !== undefined) return Promise.resolve(sdp)
      }
      return new Promise<string>((resolve, reject) => {
        const waiter = {
          settle: (sdp: string | undefined, problem?: string) => {
            gatherWaiters.delete(waiter)
            clearTimeout(timer)
            if (sdp !== undefined) resolve(sdp)
            else reject(new Error(problem ?? 'no local description'))
          }
        }
        const timer = setTimeout(() => {
          const sdp = currentLocalSdp()
          if (sdp !== undefined) log.warn({ timeoutMs }, 'ICE gathering incomplete; using the candidates gathered so far')
          waiter.settle(sdp, `no local description after ${timeoutMs} ms`)
        }, timeoutMs)
        gatherWaiters.add(waiter)
      })
    },

    setRemoteDescription (sdp, type) {
      if (closed || ended || native === undefined) return { ok: false, reason: 'closed' }
      if (remote !== undefined) return { ok: false, reason: 'the remote description is already set' }
      const expected: SdpType = role === 'offerer' ? 'answer' : 'offer'
      if (type !== expected) return { ok: false, reason: `the ${role} takes an ${expected}, not ${String(type)}` }
      if (role === 'offerer' && localSdp === undefined) return { ok: false, reason: 'no offer was made yet' }
      const check = checkRemoteSdp(sdp, type)
      if (!check.ok) {
        log.warn({ type, reason: check.reason }, `refused the remote ${type}: ${check.reason}`)
        return check
      }
      if (role === 'offerer' && check.summary.mid !== AUDIO_MID) return { ok: false, reason: `the answer's mid is not ${AUDIO_MID}` }
      if (role === 'answerer') {
        started = true
        const problem = addTrack(check.summary.mid)
        if (problem !== undefined) return { ok: false, reason: problem }
      }
      // Candidates inside the description (signaling without trickle) say what their
      // addresses are, like trickled ones: a relayed peer first shows up as prflx.
      const accepted = filterSdpCandidates(sdp, candidate => {
        if (relayOnly && candidate.type !== 'relay') return false
        const key = `${candidate.address}:${candidate.port}`
        if (!remoteCandidateTypes.has(key) || candidate.type === 'relay') remoteCandidateTypes.set(key, candidate.type)
        return true
      })
      // The answerer holds the offerer's candidates for a moment (see the race above).
      const split = role === 'answerer' ? splitSdpCandidates(accepted) : { sdp: accepted, candidates: [] }
      const relayedPath = relayOnly || (remoteCandidateTypes.size > 0 && [...remoteCandidateTypes.values()].every(t => t === 'relay'))
      // A relayed answerer takes the DTLS server role (see the deadlock above).
      const applied = role === 'answerer' && relayedPath ? split.sdp.replace(/^a=setup:actpass(?=\r?$)/m, 'a=setup:active') : split.sdp
      try {
        native.pc.setRemoteDescription(applied, type)
      } catch (err) {
        log.warn({ err: errorText(err) }, 'node-datachannel refused the remote description')
        return { ok: false, reason: `refused: ${errorText(err)}` }
      }
      remote = check.summary
      const queued: string[] = []
      for (const { candidate, mid } of queuedCandidates.splice(0)) {
        if (mid !== remote.mid) { log.warn({ mid }, 'dropping a queued candidate for another mid'); continue }
        queued.push(candidate)
      }
      if (role === 'answerer') {
        heldRemoteCandidates = [...split.candidates, ...queued]
        if (relayedPath) {
          // As the DTLS server the answerer cannot land its handshake before the offerer holds
          // the answer: the offerer starts it, once its own ICE has connected.
          queueMicrotask(() => { releaseRemoteCandidates('relayed: the answerer serves DTLS') })
        } else {
          holdTimer = setTimeout(() => { releaseRemoteCandidates('hold time over') }, ANSWERER_CANDIDATE_HOLD_MS)
          holdTimer.unref()
        }
      } else {
        for (const candidate of queued) applyCandidate(candidate, remote.mid)
      }
      // The offerer's candidates go out now that the answer is in place, after this call returns.
      if (heldLocalCandidates.length > 0) {
        const held = heldLocalCandidates.splice(0)
        queueMicrotask(() => { if (!closed && !ended) for (const { candidate, mid } of held) emitLocalCandidate(candidate, mid) })
      }
      return { ok: true }
    },

    addRemoteCandidate (candidate, mid) {
      if (closed || ended || native === undefined) return { ok: false, reason: 'closed' }
      const midCheck = checkMid(mid)
      if (!midCheck.ok) return midCheck
      const check = checkCandidate(candidate)
      if (!check.ok) return check
      if (remoteCandidatesSeen >= MAX_REMOTE_CANDIDATES) return { ok: false, reason: `more than ${MAX_REMOTE_CANDIDATES} remote candidates` }
      if (remote !== undefined && mid !== remote.mid) return { ok: false, reason: `candidate for mid ${mid}, not ${remote.mid}` }
      if (remote === undefined && queuedCandidates.length >= MAX_QUEUED_REMOTE_CANDIDATES) {
        return { ok: false, reason: 'too many candidates before the remote description' }
      }
      remoteCandidatesSeen++
      const { summary } = check
      if (relayOnly && summary.type !== 'relay') return { ok: false, reason: `relay-only: ignoring a ${summary.type} candidate` }
      const key = `${summary.address}:${summary.port}`
      if (!remoteCandidateTypes.has(key) || summary.type === 'relay') remoteCandidateTypes.set(key, summary.type)
      if (remote === undefined) {
        queuedCandidates.push({ candidate: summary.candidate, mid })
        return { ok: true }
      }
      if (holdingRemoteCandidates) {
        heldRemoteCandidates.push(summary.candidate)
        return { ok: true }
      }
      return applyCandidate(summary.candidate, mid)
    },

    sendAudio (opusPayload, samples = OPUS_SAMPLES_PER_FRAME) {
      if (closed || ended || native?.track === undefined || native.rtpConfig === undefined || !trackOpen) return false
      if (!Number.isInteger(samples) || samples < MIN_AUDIO_PACKET_SAMPLES || samples > MAX_OPUS_PACKET_SAMPLES) {
        throw new RangeError(`samples must be an integer in ${MIN_AUDIO_PACKET_SAMPLES}..${MAX_OPUS_PACKET_SAMPLES}`)
      }
      const timestamp = rtpTimestamp
      rtpTimestamp = advanceTimestamp(rtpTimestamp, samples)
      if (!(opusPayload instanceof Uint8Array) || opusPayload.length === 0 || opusPayload.length > MAX_AUDIO_PAYLOAD_BYTES) {
        counters.packetsDropped++
        return false
      }
      try {
        native.rtpConfig.timestamp = timestamp
        const sent = native.track.sendMessageBinary(Buffer.from(opusPayload.buffer, opusPayload.byteOffset, opusPayload.byteLength))
        if (!sent) { counters.packetsDropped++; return false }
      } catch (err) {
        counters.packetsDropped++
        log.debug({ err: errorText(err) }, 'sending an audio packet failed')
        return false
      }
      counters.packetsSent++
      counters.bytesSent += RTP_HEADER_BYTES + opusPayload.length
      return true
    },

    stats () {
      refreshPath()
      return { state: session.state(), ...pathInfo, ...counters, localSsrc }
    },

    state () {
      return closed ? 'closed' : reported
    },

    relayedAddresses: () => [...relayed.values()],

    localFingerprint () {
      return localSdp === undefined ? undefined : sdpFingerprint(localSdp)
    },

    remoteFingerprint () {
      return remote?.fingerprint
    },

    close () {
      if (closed) return
      closed = true
      queuedCandidates.length = 0
      releaseNative()
    }
  }

  watchdog = setInterval(checkWatchdog, WATCHDOG_TICK_MS)
  watchdog.unref()
  return session
}

let shutDown = false

/**
 * Process-wide: closes every node-datachannel object and joins its threads. Call once at
 * process exit (and at the end of a forked test file), after the sessions were closed.
 */
export function shutdownMedia (): void {
  if (shutDown) return
  shutDown = true
  try {
    cleanup()
  } catch {
    // cleanup() throws when a native thread does not stop in time; the process is exiting anyway.
  }
}
