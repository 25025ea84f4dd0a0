// Time as the protocol code sees it. Real code uses systemClock; tests use
// FakeClock (node/net/fake-clock.ts) to run hundreds of nodes deterministically.
export type TimerHandle = { readonly id: number } | NodeJS.Timeout

export interface Clock {
  /** Milliseconds since the epoch. */
  now: () => number
  setTimeout: (fn: () => void, ms: number) => TimerHandle
  clearTimeout: (handle: TimerHandle) => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms)
    // Protocol timers never keep a process alive on their own.
    timer.unref()
    return timer
  },
  clearTimeout: handle => { clearTimeout(handle as NodeJS.Timeout) }
}

/**
 * The system clock read from the monotonic timer (still in epoch milliseconds): for pacing and
 * intervals, where a wall-clock step (NTP) must not burst or stall anything.
 */
export const monotonicClock: Clock = { ...systemClock, now: () => performance.timeOrigin + performance.now() }
