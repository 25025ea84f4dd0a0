import { describe, expect, it } from 'vitest'
import { createSeenOneShots } from '../../node/overlay/seen-one-shots.js'

const NOW = 1_800_000_000_000

describe('seen one-shot envelopes', () => {
  it('admits a key once, then calls it a duplicate', () => {
    const seen = createSeenOneShots(10, 60_000)
    expect(seen.admit('a', NOW, NOW)).toBe('new')
    expect(seen.admit('a', NOW, NOW + 1000)).toBe('duplicate')
    expect(seen.admit('b', NOW, NOW + 1000)).toBe('new')
  })

  it('refuses envelopes signed outside the window, in the past or the future', () => {
    const seen = createSeenOneShots(10, 60_000)
    expect(seen.admit('old', NOW - 60_001, NOW)).toBe('stale')
    expect(seen.admit('ahead', NOW + 60_001, NOW)).toBe('stale')
  })

  it('forgets ids once they are older than the window (and still refuses their replays by age)', () => {
    const seen = createSeenOneShots(10, 60_000)
    seen.admit('a', NOW, NOW)
    expect(seen.admit('b', NOW + 61_000, NOW + 61_000)).toBe('new')
    expect(seen.size).toBe(1)
    expect(seen.admit('a', NOW, NOW + 61_000)).toBe('stale')
  })

  it('when full, forgets the oldest id and refuses anything not newer than it', () => {
    const seen = createSeenOneShots(3, 60_000)
    for (const [i, key] of ['a', 'b', 'c'].entries()) expect(seen.admit(key, NOW + i, NOW)).toBe('new')
    expect(seen.admit('d', NOW + 3, NOW)).toBe('new')
    expect(seen.size).toBe(3)
    // 'a' was forgotten: its replay is refused by time, not admitted as new.
    expect(seen.admit('a', NOW, NOW)).toBe('stale')
    expect(seen.admit('b', NOW + 1, NOW)).toBe('duplicate')
    expect(seen.admit('e', NOW + 4, NOW)).toBe('new')
  })
})
