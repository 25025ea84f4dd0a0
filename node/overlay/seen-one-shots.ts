// Remembers which one-shot envelopes (texts, receipts, contact notices) a host
// has acted on, so a supernode that delivers one many times gets it shown and
// receipted once. Memory is bounded two ways: only envelopes signed within
// ONE_SHOT_MAX_AGE_MS of now are accepted at all (older ones cannot be told
// apart from replays of forgotten ones), and at most MAX_SEEN_ONE_SHOTS ids are
// kept. When the cap forces an id out, the accepted window shrinks past that
// id's time: anything not older than every forgotten id is remembered if seen,
// so a replay is never mistaken for news.
import { MAX_SEEN_ONE_SHOTS, ONE_SHOT_MAX_AGE_MS, ONE_SHOT_MAX_AHEAD_MS } from './constants.js'

export type OneShotVerdict = 'new' | 'duplicate' | 'stale'

export interface SeenOneShots {
  /** `at`: the envelope's signed time (unix ms). Records the key when the verdict is 'new'. */
  admit: (key: string, at: number, now: number) => OneShotVerdict
  readonly size: number
}

export function createSeenOneShots (cap = MAX_SEEN_ONE_SHOTS, maxAgeMs = ONE_SHOT_MAX_AGE_MS, maxAheadMs = ONE_SHOT_MAX_AHEAD_MS): SeenOneShots {
  // Insertion order; signed times are close to arrival order, so the oldest sit first.
  const seen = new Map<string, number>()
  /** The newest signed time among ids forgotten to make room: nothing at or before it is accepted. */
  let floor = -Infinity

  const forgetExpired = (now: number): void => {
    for (const [key, at] of seen) {
      if (at >= now - maxAgeMs) break
      seen.delete(key)
    }
  }

  return {
    admit (key, at, now) {
      // Only a little ahead of our clock: an envelope signed far in the future, once forgotten,
      // would push the floor past now and make every honest envelope look stale.
      if (now - at > maxAgeMs || at - now > maxAheadMs || at <= floor) return 'stale'
      forgetExpired(now)
      if (seen.has(key)) return 'duplicate'
      if (seen.size >= cap) {
        const [oldestKey, oldestAt] = seen.entries().next().value as [string, number]
        seen.delete(oldestKey)
        floor = Math.max(floor, oldestAt)
        if (at <= floor) return 'stale'
      }
      seen.set(key, at)
      return 'new'
    },
    get size () { return seen.size }
  }
}
