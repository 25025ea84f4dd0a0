import { describe, expect, it } from 'vitest'
import { republishDelay } from '../../node/overlay/host/records.js'
import { REPUBLISH_INTERVAL_MS, REPUBLISH_JITTER } from '../../node/overlay/constants.js'
import { seededRandom } from '../helpers/random.js'

describe('republish jitter', () => {
  it('spreads republishes uniformly over REPUBLISH_INTERVAL_MS ± REPUBLISH_JITTER, from the injected random source', () => {
    expect(republishDelay(() => 0)).toBe(Math.round(REPUBLISH_INTERVAL_MS * (1 - REPUBLISH_JITTER)))
    expect(republishDelay(() => 0.5)).toBe(REPUBLISH_INTERVAL_MS)
    expect(republishDelay(() => 0.999999)).toBeLessThanOrEqual(Math.round(REPUBLISH_INTERVAL_MS * (1 + REPUBLISH_JITTER)))
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
