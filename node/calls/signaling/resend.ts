// A signal that must get through a dying path (a hangup while our or the peer's
// supernode goes away): sent at once, then again every `intervalMs` until it is
// acknowledged (stop()) or it was sent `maxSends` times. Sans-IO: time comes from
// the injected Clock, the sending from `send` (which may stop it too).
import type { Clock, TimerHandle } from '../../../common/clock.js'

export interface Resend {
  /** The signal was acknowledged (or no longer matters): no more sends. Idempotent. */
  stop: () => void
  /** Sends so far. */
  readonly sends: number
}

export function resendUntilAcked (clock: Clock, options: { intervalMs: number, maxSends: number }, send: (attempt: number, stop: () => void) => void): Resend {
  let sends = 0
  let timer: TimerHandle | undefined
  let stopped = false
  const stop = (): void => {
    stopped = true
    if (timer !== undefined) clock.clearTimeout(timer)
    timer = undefined
  }
  const fire = (): void => {
    timer = undefined
    if (stopped) return
    sends++
    send(sends, stop)
    if (!stopped && sends < options.maxSends) timer = clock.setTimeout(fire, options.intervalMs)
  }
  fire()
  return { stop, get sends () { return sends } }
}
