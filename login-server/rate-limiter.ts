// Fixed-window counters per key, fed the current time: sans-IO, so tests can
// drive them with a fake clock. Memory is bounded by sweeping expired windows.
import type { RateLimit } from './constants.js'

const MAX_TRACKED_KEYS = 100_000

export interface RateLimiter {
  /** Counts one hit; returns 0 when allowed, else the seconds until the key may try again. */
  hit (key: string, nowSeconds: number): number
  /** The seconds until `key` may try again (0: now), without counting a hit. */
  retryAfterSeconds (key: string, nowSeconds: number): number
  /** Takes back one hit counted in the current window (e.g. a login attempt that succeeded). */
  forgive (key: string, nowSeconds: number): void
}

export function createRateLimiter ({ limit, windowSeconds }: RateLimit): RateLimiter {
  const windows = new Map<string, { start: number, count: number }>()

  const secondsLeft = (window: { start: number }, now: number): number =>
    Math.max(1, Math.ceil(window.start + windowSeconds - now))

  const sweep = (now: number): void => {
    for (const [key, window] of windows) {
      if (now - window.start >= windowSeconds) windows.delete(key)
    }
  }

  return {
    hit (key, now) {
      let window = windows.get(key)
      if (window === undefined || now - window.start >= windowSeconds) {
        if (windows.size >= MAX_TRACKED_KEYS) sweep(now)
        window = { start: now, count: 0 }
        windows.set(key, window)
      }
      window.count++
      return window.count > limit ? secondsLeft(window, now) : 0
    },
    retryAfterSeconds (key, now) {
      const window = windows.get(key)
      // Limited once `limit` hits are counted: the next one would be refused.
      if (window === undefined || window.count < limit || now - window.start >= windowSeconds) return 0
      return secondsLeft(window, now)
    },
    forgive (key, now) {
      const window = windows.get(key)
      if (window !== undefined && window.count > 0 && now >= window.start && now - window.start < windowSeconds) window.count--
    }
  }
}
