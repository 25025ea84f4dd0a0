// The time `contacts` shows with a status: when this node saw it change, or
// ("since TIME or earlier") when it first heard it, which may be later than the change.
import { describe, expect, it } from 'vitest'
import { createStatusTimes } from '../../node/runtime/status-times.js'

describe('status times', () => {
  it('marks the first status heard after attaching as learned, and later changes as exact', () => {
    const times = createStatusTimes(5000)
    times.listening(['bob', 'carol'], 0)
    expect(times.of('bob')).toEqual({ statusSince: null, statusSinceExact: false })
    // The answers to our presence query, right after we attached.
    times.attached(1000)
    times.changed('bob', 1200)
    expect(times.of('bob')).toEqual({ statusSince: 1200, statusSinceExact: false })
    times.changed('bob', 60_000)
    expect(times.of('bob')).toEqual({ statusSince: 60_000, statusSinceExact: true })
    // carol was offline when we started and came online a minute later: we saw that happen.
    times.changed('carol', 61_000)
    expect(times.of('carol')).toEqual({ statusSince: 61_000, statusSinceExact: true })
  })

  it('treats a new contact\'s first status as learned, and forgets removed contacts', () => {
    const times = createStatusTimes(5000)
    times.attached(0)
    times.listening(['dave'], 100_000)
    times.changed('dave', 100_300)
    expect(times.of('dave').statusSinceExact).toBe(false)
    times.forget(['dave'])
    expect(times.of('dave')).toEqual({ statusSince: null, statusSinceExact: false })
  })
})
