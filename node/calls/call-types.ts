// What a call looks like from outside the calls layer: the options a call is
// placed or answered with, its live figures, its summary and its events. The
// runtime's NodeApi and NodeEvent include these; calls/ owns them.

import type { AudioSource } from '../media/audio/sources.js'
import type { AudioSink } from '../media/audio/sinks.js'

/**
 * A call's audio as streams of 20 ms frames (48 kHz mono) instead of files: for programs that use
 * the node as a library (the PSTN gateway's lines). Not for the control API, which takes files.
 */
export interface CallAudioStreams { source: AudioSource, sink: AudioSink }

/** Where a call's audio comes from and goes to; the node's own defaults apply to what is left out. */
export interface CallAudioOptions {
  /** Both ways as streams (the other fields are then ignored). */
  streams?: CallAudioStreams
  /** WAV file to send (any common rate and channel count; resampled). */
  play?: string
  /** A sine tone to send, Hz. */
  tone?: number
  /** WAV file (48 kHz mono 16-bit) to record what the other side sends; its folder must exist. */
  record?: string
  /** Let `record` replace an existing file (else the call is refused). */
  overwrite?: boolean
  /** The browser page (web client) that sends and plays the call's audio with its own WebRTC; the other fields are then ignored. */
  mediaPage?: string
}

export interface CallOptions extends CallAudioOptions {
  /** Media only through the TURN relay (privacy; tests). */
  relayOnly?: boolean
  /** A service's node (the PSTN gateway) ringing a user: the phone caller's number, shown to them. */
  callerNumber?: string
}

/** The signaling state of a call (the media side has its own, MediaState). */
export type CallState = 'inviting' | 'ringing' | 'connecting' | 'connected' | 'ended'
export type CallDirection = 'outgoing' | 'incoming'
/** How a connected call's media flows: straight between the hosts, or through a supernode's TURN relay. */
export type CallPath = 'direct' | 'relay'

export interface CallStats {
  path: CallPath | 'unknown'
  rttMs: number | null
  jitterMs: number
  /** Percent of expected packets that never arrived. */
  lossPct: number
  /** Received audio bitrate. */
  bitrateKbps: number
  /** ITU-T E-model estimate, 1–4.5. */
  mos: number
  packetsSent: number
  packetsReceived: number
}

/**
 * How the call's first media session set up, each step in ms after the answer (on the caller, after
 * the answer reached it): to tell why a call was slow to start, or relayed.
 */
export interface CallSetup {
  /** The peer's description was applied. */
  descriptionMs?: number
  /** On the answering side: the caller's candidates went to ICE (they wait until the caller holds the answer), and why. */
  candidatesReleasedMs?: number
  releasedBecause?: string
  iceConnectedMs?: number
  dtlsConnectedMs?: number
  /** The first audio packet from the peer. */
  firstAudioMs?: number
  /** The candidate types we gathered, and those the peer signalled ("host", "srflx", "relay"). */
  localCandidates: string[]
  remoteCandidates: string[]
  /** The pair ICE first connected on (the path can move to a better pair later). */
  pair?: string
  dtlsRole?: 'client' | 'server'
}

export interface CallInfo {
  callId: string
  direction: CallDirection
  peer: string
  state: CallState
  startedAt: number
  connectedAt?: number
  muted: boolean
  stats?: CallStats
  /** How its media set up (a call with media of our own: not a browser page's). */
  setup?: CallSetup
  /** A call to a phone number (through the PSTN gateway): the number dialed, or `echo`. */
  number?: string
  /** A call from a phone: the caller's number (the PSTN gateway rang us for them). */
  callerNumber?: string
}

/** A finished call's media as this side saw it: its final path and its audio (20 ms frames). */
export interface CallMediaSummary {
  /**
   * The path the media took at the end. ICE can connect on one pair and move to a better one it
   * nominates a moment later (up to ~2 s: libjuice's nomination timeout), so this can differ from
   * call-connected's path.
   */
  path: CallPath | 'unknown'
  /** The selected candidate pair at the end, e.g. "host 10.0.0.2:5000 -> srflx 203.0.113.7:6000". */
  selectedPair?: string
  framesSent: number
  framesReceived: number
  /** Frames the other side sent that never arrived (sequence gaps). */
  framesLost: number
  /** Frames made up by concealment (lost, late, or not yet there when due). */
  framesConcealed: number
  setup?: CallSetup
}

// The web client's page as a call's media end (browser-media-port.ts).
/** An ICE server as RTCPeerConnection takes it. */
export interface BrowserIceServer { urls: string, username: string, credential: string }

/** What the page is asked to do for one of its calls. `page` names the page that placed or answered the call. */
export type BrowserMediaEvent = { event: 'browser-media', page: string, callId: string } & (
  | { step: 'offer', relayOnly: boolean, iceServers: BrowserIceServer[] }
  | { step: 'answer', offer: string, relayOnly: boolean, iceServers: BrowserIceServer[] }
  | { step: 'accept', answer: string }
  | { step: 'close' })

/** The page's replies (each names the page, which must be the call's): its SDP for the step it was asked for, then its media's state. */
export type BrowserMediaReply = { page: string } & (
  | { step: 'sdp', sdp: string }
  | { step: 'connected', path: CallPath }
  | { step: 'failed', reason: string }
  /** What the page's getStats() measured over the last second; the node adds the MOS. */
  | { step: 'stats', path: CallPath, rttMs: number | null, jitterMs: number, lossPct: number, bitrateKbps: number, bufferDelayMs: number, packetsSent: number, packetsReceived: number })

/** A call's progress, as NodeEvent carries it (one JSON object per line with --json). */
export type CallProgressEvent =
  | BrowserMediaEvent
  /** `callerNumber`: a phone caller the PSTN gateway rings us for; `number`: what a caller dialed (seen by the gateway). */
  | { event: 'call-incoming', callId: string, from: string, number?: string, callerNumber?: string }
  | { event: 'call-ringing', callId: string, peer: string }
  /** `relay` names the relaying supernode (user@address) when path is relay. */
  | { event: 'call-connected', callId: string, peer: string, path: CallPath, relay?: string, setupMs: number }
  | { event: 'call-stats', callId: string } & CallStats
  /** The call's media went silent (`reason` in words) and it is reconnecting through a fresh media session. */
  | { event: 'call-recovering', callId: string, peer: string, reason: string }
  /** Media flows again, `recoveryMs` after the interruption was noticed, over `path`. */
  | { event: 'call-recovered', callId: string, peer: string, recoveryMs: number, path: CallPath }
  /** `media`: the path the call ended on and what its audio did, when it had any. */
  | { event: 'call-ended', callId: string, peer: string, reason: string, message: string, durationMs: number, recording?: string, media?: CallMediaSummary }

