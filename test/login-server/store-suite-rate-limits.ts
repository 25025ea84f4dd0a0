// The store suite's rate limiters: fixed windows per key, counted where the store counts.
import { describe, expect, it } from 'vitest'
import { NOW, type StoreUnderTest } from './store-suite-common.js'

const LIMIT = { limit: 3, windowSeconds: 60 }

export function rateLimiterTests ({ store }: StoreUnderTest): void {
  describe('rate limiters', () => {
    it('hit allows `limit` hits per key, then answers the seconds left in the window', async () => {
      const limiter = store().rateLimiter('logins', LIMIT)
      for (let i = 0; i < LIMIT.limit; i++) expect(await limiter.hit('198.51.100.0', NOW + i)).toBe(0)
      const later = 10
      expect(await limiter.hit('198.51.100.0', NOW + later)).toBe(LIMIT.windowSeconds - later)
      expect(await limiter.hit('203.0.113.0', NOW + later)).toBe(0)
    })

    it('a new window starts windowSeconds after the first hit', async () => {
      const limiter = store().rateLimiter('logins', LIMIT)
      for (let i = 0; i <= LIMIT.limit; i++) await limiter.hit('key', NOW)
      expect(await limiter.hit('key', NOW + LIMIT.windowSeconds - 1)).toBe(1)
      const nextWindow = NOW + LIMIT.windowSeconds
      for (let i = 0; i < LIMIT.limit; i++) expect(await limiter.hit('key', nextWindow)).toBe(0)
      expect(await limiter.hit('key', nextWindow)).toBe(LIMIT.windowSeconds)
    })

    it('forgive takes one hit back', async () => {
      const limiter = store().rateLimiter('logins', LIMIT)
      for (let i = 0; i < LIMIT.limit; i++) await limiter.hit('key', NOW)
      await limiter.forgive('key', NOW + 1)
      expect(await limiter.hit('key', NOW + 2)).toBe(0)
      expect(await limiter.hit('key', NOW + 2)).toBeGreaterThan(0)
    })

    it('limiters of different names count apart', async () => {
      const logins = store().rateLimiter('logins', { limit: 1, windowSeconds: 60 })
      const signUps = store().rateLimiter('sign-ups', { limit: 1, windowSeconds: 60 })
      expect(await logins.hit('key', NOW)).toBe(0)
      expect(await logins.hit('key', NOW)).toBeGreaterThan(0)
      expect(await signUps.hit('key', NOW)).toBe(0)
    })
  })
}
