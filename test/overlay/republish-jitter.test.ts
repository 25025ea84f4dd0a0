import { describe, expect, it } from 'vitest'
import { firstRepublishDelay, republishDelay } from '../../node/overlay/host/records.js'
import { REPUBLISH_INTERVAL_MS, REPUBLISH_JITTER } from '../../node/overlay/constants.js'
import { seededRandom } from '../helpers/random.js'

describe('republish jitter', () => {
  it('spreads republishes uniformly over REPUBLISH_INTERVAL_MS ± REPUBLISH_JITTER, from the injected random source', () => {
    expect(republishDelay(() => 0)).toBe(Math.round(REPUBLISH_INTERVAL_MS * (1 - REPUBLISH_JITTER)))
    expect(republishDelay(() => 0.5)).toBe(REPUBLISH_INTERVAL_MS)
    expect(republishDelay(() => 0.999999)).toBeLessThanOrEqual(Math.round(REPUBLISH_INTERVAL_MS * (1 + REPUBLISH_JITTER)))
  })

  it('spreads the first republish after attaching over a whole interval, so hosts that attached together do not republish together', () => {
    const random = seededRandom(3)
    const delays = Array.from({ length: 1000 }, () => firstRepublishDelay(random))
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...delays)).toBeLessThanOrEqual(REPUBLISH_INTERVAL_MS)
    // Uniform: each tenth of the interval gets about a tenth of them (a band around each jittered interval would leave most tenths empty).
    const tenths = Array.from({ length: 10 }, (_, i) => delays.filter(d => Math.floor(d / (REPUBLISH_INTERVAL_MS / 10)) === i).length)
    for (const count of tenths) expect(count).toBeGreaterThan(50)
  })

  it('repeats exactly for the same seed', () => {
    const run = (seed: number): number[] => {
      const random = seededRandom(seed)
      return Array.from({ length: 20 }, () => republishDelay(random))
    }
    expect(run(9)).toEqual(run(9))
    expect(run(9)).not.toEqual(run(10))
  })
})
