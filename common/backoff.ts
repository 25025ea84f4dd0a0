// Jittered exponential backoff: after a mass restart, nodes spread their
// retries instead of hitting the login server and supernodes in one wave
// (Skype's August 2007 outage).
export interface Backoff {
  /** Milliseconds to wait before the next attempt; grows with each call. */
  next: () => number
  reset: () => void
}

export function createBackoff (options: { initialMs: number, maxMs: number, random?: () => number }): Backoff {
  const random = options.random ?? Math.random
  let attempt = 0
  return {
    next () {
      const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** attempt)
      attempt++
      // "Full jitter": uniform in [ceiling/2, ceiling].
      return Math.round(ceiling / 2 + random() * ceiling / 2)
    },
    reset () { attempt = 0 }
  }
}
