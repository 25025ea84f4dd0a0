// The media session's public shape: what a caller passes in and gets back.
import type { Clock } from '../../../common/clock.js'
import type { Logger } from '../../../common/logger.js'
import type { RandomSource } from '../../../common/random.js'
import type { CandidateType, GuardResult, SdpType } from '../sdp-guard.js'
import type { MediaSetup } from './setup-timeline.js'

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
  /** Opus's payload type as the descriptions negotiated it: packets of any other type are counted and dropped. */
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
  /**
   * Answerer: the offerer's checks reach us unasked (a supernode, which passed the dial-back): the
   * offerer connects first and serves DTLS (candidate-gate.ts). Default false.
   */
  reachable?: boolean
  /** Answerer: our networks as CIDRs, to see an offerer on the same machine or LAN; the machine's interfaces when absent. */
  localNetworks?: string[]
  /** Local address ICE gathers on; '127.0.0.1' in tests on one machine. */
  bindAddress?: string
  /** UDP ports ICE may bind, e.g. for a firewall rule; the whole ephemeral range when absent. */
  portRange?: { begin: number, end: number }
  /** Watchdog: 'disconnected' after this long without a packet; 0 turns it off. */
  mediaTimeoutMs?: number
  /** Watchdog: the silence allowed before the first packet after connecting (default: mediaTimeoutMs). */
  firstPacketTimeoutMs?: number
  /** One received Opus packet (RTP payload type 111). */
  onAudio: (payload: Uint8Array, rtp: ReceivedRtp) => void
  /** State changes; reason says why for 'disconnected' and 'failed'. Nothing fires after close(). */
  onState: (state: MediaState, reason?: string) => void
  log: Logger
  /** Time for the candidate hold, the watchdog and gathered()'s timeout; systemClock when absent. */
  clock?: Clock
  /** Chance for the SSRC, CNAME and first RTP timestamp; crypto-backed when absent. */
  random?: RandomSource
}

export interface MediaStats {
  state: MediaState
  path: MediaPath
  localCandidateType?: CandidateType
  remoteCandidateType?: CandidateType
  /** The selected pair, e.g. "srflx 198.18.21.1:5000 -> prflx 198.18.23.1:6000" (as each end's type says): to tell why a path was chosen. */
  selectedPair?: string
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
  /** The offerer creates its offer; a no-op for the answerer. */
  start: () => void
  /**
   * Our description once ICE gathering is complete, every candidate inside (signaling sends
   * one offer and one answer, no trickle). After timeoutMs it settles for the candidates
   * gathered so far; it rejects when the session closes or fails first.
   */
  gathered: (timeoutMs?: number) => Promise<string>
  /** Checks and applies the peer's description; the answerer's answer follows by itself. */
  setRemoteDescription: (sdp: string, type: SdpType) => GuardResult
  /**
   * Answerer: the offerer says it applied our answer, so our ICE may reach it now; the hold of its
   * candidates ends (candidate-gate.ts). A no-op for the offerer, before the offer is applied, and
   * after the hold; a peer that says so too early only races its own call's setup.
   */
  peerHasAnswer: () => void
  /** Sends one Opus packet; advances the RTP timestamp by `samples` (960 = 20 ms). */
  sendAudio: (opusPayload: Uint8Array, samples?: number) => boolean
  stats: () => MediaStats
  /** How the session set up so far: each step's time (its clock), the candidate types both sides had, our DTLS role. */
  setup: () => MediaSetup
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
