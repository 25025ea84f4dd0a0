// One call, one home: its signaling state (what the two sides have said), the
// timer of the state it is in, and its media side (session, audio, stats,
// recording), which the media port attaches as a child. `setState` is the only
// way the state changes, so every change is logged and reported once; `close()`
// is idempotent and closes the children (a mediasoup-style cascade).
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { EndReason } from './call-bodies.js'
import type { CallDirection, CallPath, CallState } from './call-types.js'
import type { AudioPlan } from './audio-choice.js'
import { callError } from './errors.js'
import type { CallRecovery } from './signaling/recovery.js'
import type { Resend } from './signaling/resend.js'

/** What a call owns besides its signaling: the media port's side of it. */
export interface CallChild {
  /** Idempotent; resolves when everything the child holds is released (a recording is complete). */
  close: () => void | Promise<void>
  /** How long no audio has arrived (a recovery counts it in), when the child knows. */
  silentMs?: () => number
}

export interface CallInit {
  id: string
  direction: CallDirection
  peer: string
  state: CallState
  relayOnly: boolean
  /** The other side's device once known (the one that answered, or the caller's). */
  peerDevice?: string
  /** A call to the PSTN gateway: the number dialed (or the echo line). */
  number?: string
  /** A call from the PSTN gateway: the phone caller's number. */
  callerNumber?: string
  /** The browser page (web client) that is this call's media end; the node's own media when undefined. */
  mediaPage?: string
}

/** A call as data: what the signaling knows of it at one moment. */
export interface CallView {
  id: string
  direction: CallDirection
  peer: string
  state: CallState
  startedAt: number
  connectedAt?: number
  path?: CallPath
  relayOnly: boolean
  number?: string
  callerNumber?: string
}

export class Call {
  readonly id: string
  readonly direction: CallDirection
  readonly peer: string
  state: CallState
  readonly startedAt: number
  acceptedAt?: number
  connectedAt?: number
  path?: CallPath
  relayOnly: boolean
  peerDevice?: string
  readonly number?: string
  readonly callerNumber?: string
  /** Caller: how many devices the invite reached (as the supernodes count them), which rang, and which have refused and why. */
  reached = 0
  readonly rang = new Set<string>()
  readonly refusals = new Map<string, EndReason>()
  /** What this call sends and records, chosen and checked when it was placed or answered. */
  audio?: AudioPlan
  muted = false
  /** The browser page that sends and plays this call's audio (set when placed or answered there); else the node does. */
  mediaPage?: string
  /** The media side, once the media port opened it. */
  media?: CallChild
  /** Once connected: what brings the media back when it goes silent. */
  recovery?: CallRecovery
  /** Our call-end, resent until the peer acknowledges it. */
  endResend?: Resend
  private timer?: TimerHandle
  private closing?: Promise<void>

  constructor (private readonly clock: Clock, private readonly log: Logger, init: CallInit) {
    this.id = init.id
    this.direction = init.direction
    this.peer = init.peer
    this.state = init.state
    this.number = init.number
    this.callerNumber = init.callerNumber
    this.relayOnly = init.relayOnly
    this.peerDevice = init.peerDevice
    this.mediaPage = init.mediaPage
    this.startedAt = clock.now()
  }

  get live (): boolean { return this.state !== 'ended' }
  /** Whether close() has run (the media side is released or being released). */
  get closed (): boolean { return this.closing !== undefined }

  view (): CallView {
    const { id, direction, peer, state, startedAt, connectedAt, path, relayOnly, number, callerNumber } = this
    return { id, direction, peer, state, startedAt, connectedAt, path, relayOnly, number, callerNumber }
  }

  /** Moves to `next` (once; the same state again is a no-op) and logs why. */
  setState (next: CallState, why: string): boolean {
    if (this.state === next || this.state === 'ended') return false
    const previous = this.state
    this.state = next
    if (next === 'connecting') this.acceptedAt = this.clock.now()
    if (next === 'connected') this.connectedAt = this.clock.now()
    this.log.debug({ callId: this.id, peer: this.peer, previous, state: next }, `call ${previous} → ${next}: ${why}`)
    return true
  }

  /** The timer of the current state (ring timeout, answer-setup timeout); a new one replaces it. */
  setTimer (ms: number, onTimeout: () => void): void {
    this.clearTimer()
    this.timer = this.clock.setTimeout(onTimeout, ms)
  }

  clearTimer (): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Stops the timer and closes the media side. Idempotent: every caller gets the same promise. */
  close (): Promise<void> {
    this.closing ??= (async () => {
      this.clearTimer()
      this.recovery?.stop()
      await this.media?.close()
    })()
    return this.closing
  }
}

/**
 * The one way a command names a call: by its id or any prefix of it, or (left out) the first live call
 * that fits. `none` words the refusal when there is no such call at all.
 */
export function pickCall (calls: Iterable<Call>, callId: string | undefined, fits: (call: Call) => boolean, none = 'no call to act on'): Call {
  const candidates = [...calls].filter(call => call.live && fits(call))
  const call = callId === undefined ? candidates[0] : candidates.find(c => c.id.startsWith(callId))
  if (call !== undefined) return call
  throw callId === undefined ? callError('no_call', none) : callError('no_such_call', `no such call: ${callId}`)
}
