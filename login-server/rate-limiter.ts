// Fixed-window counters per key. The routes see `RateLimiter`, async because the counts may live
// in a database all the instances share (store/postgres/rate-limits.ts); where one process is the
// whole server they live in its memory (createMemoryRateLimiter, sans-IO: tests drive it with a fake
// clock, and its memory is bounded by sweeping expired windows).
import type { RateLimit } from './constants.js'

const MAX_TRACKED_KEYS = 100_000

export interface RateLimiter {
  /** Counts one hit; resolves to 0 when allowed, else the seconds until the key may try again. */
  hit: (key: string, nowSeconds: number) => Promise<number>
  /** Takes back one hit counted in the current window (e.g. a login attempt that succeeded). */
  forgive: (key: string, nowSeconds: number) => Promise<void>
}

export interface MemoryRateLimiter {
  hit: (key: string, nowSeconds: number) => number
  /** The seconds until `key` may try again (0: now), without counting a hit. */
  retryAfterSeconds: (key: string, nowSeconds: number) => number
  forgive: (key: string, nowSeconds: number) => void
}

/** The seconds until a window that started at `start` ends (at least 1). */
export const secondsLeft = (start: number, windowSeconds: number, now: number): number =>
  Math.max(1, Math.ceil(start + windowSeconds - now))

export function createMemoryRateLimiter ({ limit, windowSeconds }: RateLimit): MemoryRateLimiter {
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
      return window.count > limit ? secondsLeft(window.start, windowSeconds, now) : 0
    },
    retryAfterSeconds (key, now) {
      const window = windows.get(key)
      // Limited once `limit` hits are counted: the next one would be refused.
      if (window === undefined || window.count < limit || now - window.start >= windowSeconds) return 0
      return secondsLeft(window.start, windowSeconds, now)
    },
    forgive (key, now) {
      const window = windows.get(key)
      if (window !== undefined && window.count > 0 && now >= window.start && now - window.start < windowSeconds) window.count--
    }
  }
}

/** A memory limiter behind the routes' interface (the SQLite store's: one process). */
export function inMemory (limit: RateLimit): RateLimiter {
  const limiter = createMemoryRateLimiter(limit)
  return {
    hit: async (key, now) => limiter.hit(key, now),
    forgive: async (key, now) => { limiter.forgive(key, now) }
  }
}
