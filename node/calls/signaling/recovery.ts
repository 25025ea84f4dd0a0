// Recovery of a connected call whose media went silent (its relay's supernode
// died, a NAT mapping vanished): the caller leads. It opens a fresh media session
// (a new generation, with TURN credentials from the supernode it is attached to
// now) and re-offers it; the callee answers; the call carries on over the new
// session once it connects. A callee that notices first asks the caller to
// re-offer. Bounded: REOFFER_ATTEMPTS per interruption, each waited for
// REOFFER_WAIT_MS (the callee waits CALLEE_RECOVER_WAIT_MS), and at most
// MAX_MEDIA_SESSIONS_PER_CALL sessions over the call's life, so a peer cannot make
// us open sessions without end. Sans-IO: fed media and signaling events, timed
// by the injected Clock; what it decides goes out through RecoveryActions.
import type { Clock, TimerHandle } from '../../../common/clock.js'
import { MAX_MEDIA_SESSIONS_PER_CALL } from '../call-bodies.js'
import { CALLEE_RECOVER_WAIT_MS, RECOVER_ASK_INTERVAL_MS, REOFFER_ATTEMPTS, REOFFER_WAIT_MS } from '../constants.js'

export type RecoveryRole = 'caller' | 'callee'

export interface RecoveryActions {
  /** Caller: open media session `generation` and send its re-offer (attemptFailed() when that fails). */
  reoffer: (generation: number) => void
  /** Callee: ask the caller to re-offer; `generation` is the session that went silent here. */
  askReoffer: (generation: number) => void
  /** The call is interrupted and reconnecting; `reason` in words. */
  recovering: (reason: string) => void
  /** Media flows again over session `generation`, `recoveryMs` after the audio stopped. */
  recovered: (generation: number, recoveryMs: number) => void
  /** Recovery failed: end the call; `reason` in words. */
  giveUp: (reason: string) => void
}

/** Whether a re-offer is taken, or why not. */
export type ReofferVerdict = { ok: true } | { ok: false, reason: string }

export class CallRecovery {
  /** The media session that carries (or last carried) the call. */
  current = 0
  /** The session being set up by a recovery, if any. */
  pending: number | undefined
  /** Media sessions opened over the call's life, the first included. */
  sessions = 1
  /** The highest generation used (caller) or accepted (callee). */
  private highest = 0
  private attempts = 0
  /** When the audio stopped (the interruption noticed, less the silence before); undefined while media flows. */
  private since: number | undefined
  private timer: TimerHandle | undefined
  private askTimer: TimerHandle | undefined
  private stopped = false

  constructor (readonly role: RecoveryRole, private readonly clock: Clock, private readonly actions: RecoveryActions) {}

  get recovering (): boolean { return this.since !== undefined }

  /**
   * Session `generation` went silent or failed. The current one starts a recovery; a pending one
   * (a re-offer that failed) makes the caller try the next. `silentMs`: how long no audio had come
   * when it was noticed (counted in recoveryMs). Returns what it made of it, for the log.
   */
  interrupted (generation: number, reason: string, silentMs = 0): string {
    if (this.stopped) return 'ignored: the call is over'
    if (generation === this.pending) { this.attemptFailed(generation, reason); return 'a reconnection attempt failed' }
    if (generation !== this.current) return `ignored: session ${generation} no longer carries the call`
    if (this.recovering) return 'ignored: already reconnecting'
    this.since = this.clock.now() - Math.max(0, silentMs)
    this.actions.recovering(reason)
    if (this.role === 'caller') {
      this.attempts = 0
      this.nextAttempt()
    } else {
      this.askForReoffer()
      this.wait(CALLEE_RECOVER_WAIT_MS, `the caller did not reconnect within ${CALLEE_RECOVER_WAIT_MS / 1000} s`)
    }
    return 'reconnecting'
  }

  /**
   * Caller: the callee asks for a re-offer, as its session `generation` went silent; `silentMs` is how
   * long no audio has come here either. Returns why it is ignored, if it is.
   */
  peerAsked (generation: number, silentMs = 0): string | undefined {
    if (this.role !== 'caller') return 'only the caller re-offers'
    if (generation !== this.current) return `it is about session ${generation}, and session ${this.current} carries the call`
    if (this.recovering) return 'already reconnecting'
    this.interrupted(generation, 'the other side hears no audio', silentMs)
    return undefined
  }

  /** Callee: a re-offer for session `generation` arrived. */
  reoffered (generation: number): ReofferVerdict {
    if (this.stopped) return { ok: false, reason: 'the call is over' }
    if (this.role !== 'callee') return { ok: false, reason: 'only the caller re-offers' }
    if (generation <= this.highest) return { ok: false, reason: `stale generation ${generation} (latest ${this.highest})` }
    if (this.sessions >= MAX_MEDIA_SESSIONS_PER_CALL) return { ok: false, reason: `the call used up its ${MAX_MEDIA_SESSIONS_PER_CALL} media sessions` }
    this.highest = generation
    this.sessions++
    this.pending = generation
    this.clearAsk()
    if (!this.recovering) {
      this.since = this.clock.now()
      this.actions.recovering('the other side lost our audio and reconnects')
    }
    this.wait(CALLEE_RECOVER_WAIT_MS, `the caller did not reconnect within ${CALLEE_RECOVER_WAIT_MS / 1000} s`)
    return { ok: true }
  }

  /** Session `generation` connected; true when that ended a recovery. */
  connected (generation: number): boolean {
    if (this.stopped || generation !== this.pending) return false
    const recoveryMs = Math.round(this.clock.now() - (this.since ?? this.clock.now()))
    this.current = generation
    this.pending = undefined
    this.since = undefined
    this.clearTimer()
    this.clearAsk()
    this.actions.recovered(generation, recoveryMs)
    return true
  }

  /** The pending session `generation` could not be set up (or failed before it connected). */
  attemptFailed (generation: number, _reason: string): void {
    if (this.stopped || generation !== this.pending) return
    // The callee keeps waiting for the caller's next attempt (its timer runs); the caller makes it.
    if (this.role === 'caller') this.nextAttempt()
  }

  /** The call ended: no more timers or actions. Idempotent. */
  stop (): void {
    this.stopped = true
    this.clearTimer()
    this.clearAsk()
  }

  private nextAttempt (): void {
    if (this.attempts >= REOFFER_ATTEMPTS) { this.giveUp(`no audio after ${REOFFER_ATTEMPTS} attempts to reconnect`); return }
    if (this.sessions >= MAX_MEDIA_SESSIONS_PER_CALL) { this.giveUp(`the call used up its ${MAX_MEDIA_SESSIONS_PER_CALL} media sessions`); return }
    this.attempts++
    this.sessions++
    this.highest++
    this.pending = this.highest
    // The timer first: reoffer() may report a failure at once, which starts the next attempt.
    this.wait(REOFFER_WAIT_MS, undefined)
    this.actions.reoffer(this.pending)
  }

  private askForReoffer (): void {
    this.actions.askReoffer(this.current)
    this.askTimer = this.clock.setTimeout(() => { this.askForReoffer() }, RECOVER_ASK_INTERVAL_MS)
  }

  /** After `ms`: the caller's next attempt (`giveUpWith` undefined), or the end with that reason. */
  private wait (ms: number, giveUpWith: string | undefined): void {
    this.clearTimer()
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      if (giveUpWith === undefined) this.nextAttempt()
      else this.giveUp(giveUpWith)
    }, ms)
  }

  private giveUp (reason: string): void {
    this.stop()
    this.actions.giveUp(reason)
  }

  private clearTimer (): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private clearAsk (): void {
    if (this.askTimer !== undefined) this.clock.clearTimeout(this.askTimer)
    this.askTimer = undefined
  }
}
