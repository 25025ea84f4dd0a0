// Rate limits all the instances share: a fixed window per (limiter, key) in one row, counted by
// one upsert (the row lock orders concurrent hits, from any instance), so a guesser who spreads
// attempts over the instances behind one address meets the same limit as on one instance.
// Expired windows are swept now and then by whichever instance counts.
import type { RateLimit } from '../../constants.js'
import { secondsLeft, type RateLimiter } from '../../rate-limiter.js'
import type { PostgresDatabase } from './database.js'

/** One hit in this many (per limiter and instance) also deletes the limiter's expired windows. */
const SWEEP_EVERY_HITS = 500

export function createPostgresRateLimiter ({ counters: pool }: PostgresDatabase, name: string, { limit, windowSeconds }: RateLimit): RateLimiter {
  let hits = 0
  return {
    async hit (key, now) {
      if (++hits % SWEEP_EVERY_HITS === 0) await pool.query('DELETE FROM rate_limits WHERE limiter = $1 AND window_start <= $2', [name, now - windowSeconds])
      const row = (await pool.query<{ window_start: number, count: number }>(`INSERT INTO rate_limits AS r (limiter, key, window_start, count) VALUES ($1, $2, $3, 1)
        ON CONFLICT (limiter, key) DO UPDATE SET
          window_start = CASE WHEN $3 - r.window_start >= $4 THEN $3 ELSE r.window_start END,
          count = CASE WHEN $3 - r.window_start >= $4 THEN 1 ELSE r.count + 1 END
        RETURNING window_start, count`, [name, key, now, windowSeconds])).rows[0] as { window_start: number, count: number }
      return row.count > limit ? secondsLeft(row.window_start, windowSeconds, now) : 0
    },
    async forgive (key, now) {
      await pool.query('UPDATE rate_limits SET count = count - 1 WHERE limiter = $1 AND key = $2 AND count > 0 AND $3 >= window_start AND $3 - window_start < $4',
        [name, key, now, windowSeconds])
    }
  }
}
