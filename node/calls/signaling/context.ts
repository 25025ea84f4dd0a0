// What the signaling state machine is made of: its components (sans-IO: the
// overlay's send, the media port, a Clock and a random source are injected),
// its settings, the events it reports, and the shared state its message
// handlers work on.
import type { Sodium } from '../../../common/sodium.js'
import type { Clock } from '../../../common/clock.js'
import type { Logger } from '../../../common/logger.js'
import type { EndReason } from '../call-bodies.js'
import type { CallPath } from '../call-types.js'
import type { Call } from '../call.js'

export type CallEvent =
  | { event: 'incoming', callId: string, from: string, number?: string, callerNumber?: string }
  | { event: 'ringing', callId: string, peer: string }
  | { event: 'connected', callId: string, peer: string, path: CallPath, relay?: string, setupMs: number }
  | { event: 'ended', callId: string, peer: string, reason: EndReason, message: string, durationMs: number }
  | { event: 'recovering', callId: string, peer: string, reason: string }
  | { event: 'recovered', callId: string, peer: string, recoveryMs: number, path: CallPath }

/**
 * What a call needs from the media layer; the node implements it with node-datachannel, tests with a fake.
 * Whatever `offer` or `answer` opens, it attaches to `call.media`, so closing the call closes it.
 */
export interface MediaPort {
  /**
   * The call rings (generation 0; at the caller, once the first device rings): what can be made
   * ready before an answer is. The node's port gathers the caller's offer and asks for the callee's
   * relay credentials; nothing is sent to the peer before the answer. Optional; offer and answer
   * work without it.
   */
  prepare?: (call: Call) => void
  /**
   * Caller: opens the media side and resolves its complete offer SDP (ICE gathered). `generation`
   * above 0 (a re-offer) opens another session beside the one that went silent; it takes over once it connects.
   */
  offer: (call: Call, options: { relayOnly: boolean, generation?: number }) => Promise<string>
  /** Callee: opens the media side (session `generation`, 0 when left out) from the offer and resolves its complete answer SDP. */
  answer: (call: Call, offerSdp: string, options: { relayOnly: boolean, generation?: number }) => Promise<string>
  /**
   * Caller: applies the callee's answer to session `generation` (0 when left out); throws when the
   * media layer refuses it (the message says why). False: the answer went on to a media end that
   * applies it later (a browser page), so the callee is not told it is applied.
   */
  accept: (call: Call, answerSdp: string, generation?: number) => boolean | void
  /** Callee: the caller applied our answer for session `generation`: its candidates may go to ICE now. Optional. */
  answerApplied?: (call: Call, generation: number) => void
}

export interface CallSignalingComponents {
  sodium: Sodium
  clock: Clock
  log: Logger
  media: MediaPort
  /** Routes a signed envelope with this body to every device of `to`; resolves with the devices reached. */
  send: (to: string, body: Record<string, string | number | boolean>) => Promise<{ delivered: number }>
  /** This device's Ed25519 secret key (to open SDP sealed to us). */
  deviceSecretKey: Uint8Array
  /** Call ids come from here (default: the system's CSPRNG); a seeded source makes a run replayable. */
  randomBytes?: (n: number) => Uint8Array
}

export interface CallSignalingInit {
  user: string
  deviceKey: string
  /** Whether `from` may call us (the node: contacts only unless configured otherwise). */
  mayCall: (from: string) => boolean
  /** A service (the PSTN gateway): only its invites may carry a phone caller's number. */
  isService?: (user: string) => boolean
  callWaiting?: boolean
  ringTimeoutMs?: number
  /** Every call event, with the call it is about. */
  onEvent: (event: CallEvent, call: Call) => void
}

/** A signed sender, as the overlay vouches for it. */
export interface Sender { user: string, deviceKey: string }

/** The state the handlers share, and the two things every handler does: signal the peer, end a call. */
export interface SignalingContext {
  components: CallSignalingComponents
  init: CallSignalingInit
  calls: Map<string, Call>
  ringTimeoutMs: number
  live: () => Call[]
  signal: (call: Call, body: Record<string, string | number | boolean>) => Promise<{ delivered: number }>
  /**
   * Ends a call once: closes it, tells the other side (`notify`; not when it told us), reports why.
   * `byPeer` marks an end the peer decided that we still pass on (a decline cancels the rest).
   */
  end: (call: Call, reason: EndReason, notify: boolean, byPeer?: boolean) => void
}
