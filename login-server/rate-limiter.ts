// Fixed-window counters per key, fed the current time: sans-IO, so tests can
// drive them with a fake clock. Memory is bounded by sweeping expired windows.
import type { RateLimit } from './constants.js'

const MAX_TRACKED_KEYS = 100_000

export interface RateLimiter {
  /** Counts one hit; returns 0 when allowed, else the seconds until the key may try again. */
  hit (key: string, nowSeconds: number): number
  /** The seconds until `key` may try again (0: now), without counting a hit. */
  retryAfter (key: string, nowSeconds: number): number
}

export function createRateLimiter ({ limit, windowSeconds }: RateLimit): RateLimiter {
  const windows = new Map<string, { start: number, count: number }>()

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
      return this.retryAfter(key, now)
    },
    retryAfter (key, now) {
      const window = windows.get(key)
      if (window === undefined || window.count <= limit || now - window.start >= windowSeconds) return 0
      return Math.max(1, Math.ceil(window.start + windowSeconds - now))
    }
  }
}
