import { describe, expect, it } from 'vitest'
import { estimateMos } from '../../node/calls/mos.js'

describe('MOS estimate (E-model)', () => {
  it('rates a clean, short call near the top of the scale', () => {
    expect(estimateMos({ oneWayDelayMs: 40, lossPct: 0 })).toBeGreaterThan(4.3)
  })

  it('falls with loss and with delay past ~177 ms', () => {
    const clean = estimateMos({ oneWayDelayMs: 40, lossPct: 0 })
    const lossy = estimateMos({ oneWayDelayMs: 40, lossPct: 5 })
    const slow = estimateMos({ oneWayDelayMs: 400, lossPct: 0 })
    expect(lossy).toBeLessThan(clean - 0.3)
    expect(slow).toBeLessThan(clean - 0.5)
    expect(estimateMos({ oneWayDelayMs: 2000, lossPct: 80 })).toBe(1)
  })
})
