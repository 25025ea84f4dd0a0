// G.711 μ-law against the reference algorithm's known values, its round trips and its noise.
import { describe, expect, it } from 'vitest'
import { decodeMulaw, encodeMulaw, linearToMulaw, mulawToLinear } from '../../pstn-gateway-stub/line/g711.js'

/** Quantisation step of the segment a magnitude falls in (8 in segment 0 up to 1024 in segment 7). */
function stepAt (magnitude: number): number {
  const biased = Math.min(magnitude, 32635) + 0x84
  let segment = 0
  while (biased > (0xFF << segment)) segment++
  return 8 << segment
}

/**
 * Sun's g711.c linear2ulaw (14-bit: shifts right by 2 before taking the magnitude, bias 33, clip
 * 8159), an independent formulation: the same codes, except that the shift rounds negative values
 * towards -∞, so a few negatives just past an interval's edge land one code lower in magnitude.
 */
function sunLinearToMulaw (sample: number): number {
  let value = sample >> 2
  let mask = 0xFF
  if (value < 0) { value = -value; mask = 0x7F }
  value = Math.min(value, 8159) + 33
  const ends = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]
  let segment = 0
  while (segment < 8 && value > (ends[segment] as number)) segment++
  if (segment === 8) return 0x7F ^ mask // out of range: the top code
  return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask
}

describe('G.711 μ-law', () => {
  it('encodes the known values', () => {
    expect(linearToMulaw(0)).toBe(0xFF)
    expect(linearToMulaw(-1)).toBe(0x7F)
    expect(linearToMulaw(32767)).toBe(0x80)
    expect(linearToMulaw(-32768)).toBe(0x00)
    expect(linearToMulaw(8)).toBe(0xFE)
    expect(linearToMulaw(-8)).toBe(0x7E)
    expect(linearToMulaw(32635)).toBe(0x80)
    expect(linearToMulaw(1000)).toBe(0xCE) // the digital milliwatt's neighbourhood: segment 3
  })

  it('agrees with Sun\'s 14-bit g711.c on every non-negative input, and on negatives but at interval edges', () => {
    const differing: number[] = []
    for (let x = -32768; x <= 32767; x++) {
      const ours = linearToMulaw(x)
      const sun = sunLinearToMulaw(x)
      if (ours === sun) continue
      differing.push(x)
      // One code apart, towards the next interval: within 3 of the edge the 14-bit shift moved.
      expect(Math.abs(ours - sun)).toBe(1)
      expect(Math.abs(mulawToLinear(ours) - x)).toBeLessThanOrEqual(Math.abs(mulawToLinear(sun) - x) + 3)
    }
    expect(differing.every((x) => x < 0)).toBe(true)
    expect(differing.length).toBeLessThan(400)
  })

  it('decodes the table endpoints', () => {
    expect(mulawToLinear(0x80)).toBe(32124)
    expect(mulawToLinear(0x00)).toBe(-32124)
    expect(mulawToLinear(0xFF)).toBe(0)
    expect(mulawToLinear(0x7F)).toBe(0)
    expect(mulawToLinear(0xFE)).toBe(8)
    expect(mulawToLinear(0x7E)).toBe(-8)
    const table = decodeMulaw(Uint8Array.from({ length: 256 }, (_, code) => code))
    expect(Math.max(...table)).toBe(32124)
    expect(Math.min(...table)).toBe(-32124)
    // Monotonic within each sign: codes 0x80..0xFF fall from 32124 to 0, 0x00..0x7F rise to 0.
    for (let code = 0x81; code <= 0xFF; code++) expect(table[code] as number).toBeLessThan(table[code - 1] as number)
    for (let code = 0x01; code <= 0x7F; code++) expect(table[code] as number).toBeGreaterThan(table[code - 1] as number)
  })

  it('encode ∘ decode is the identity on all 256 codes (-0, 0x7F, comes back as +0, 0xFF)', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, code) => code)
    const back = encodeMulaw(decodeMulaw(codes))
    for (let code = 0; code < 256; code++) expect(back[code]).toBe(code === 0x7F ? 0xFF : code)
  })

  it('decode ∘ encode stays within half the segment\'s quantisation step (and clips at ±32124)', () => {
    const sweep = new Int16Array(65536)
    for (let i = 0; i < sweep.length; i++) sweep[i] = i - 32768
    const back = decodeMulaw(encodeMulaw(sweep))
    let worstRatio = 0
    const wrong: number[] = []
    for (let i = 0; i < sweep.length; i++) {
      const x = sweep[i] as number
      const y = back[i] as number
      const magnitude = Math.abs(x)
      if (y !== 0 && Math.sign(y) !== Math.sign(x)) wrong.push(x)
      // Beyond the top code's interval the value is clipped: the top code, whatever the magnitude.
      if (magnitude > 31612 + 1024) {
        if (Math.abs(y) !== 32124) wrong.push(x)
      } else {
        worstRatio = Math.max(worstRatio, Math.abs(y - x) / (stepAt(magnitude) / 2))
      }
    }
    expect(wrong).toEqual([])
    expect(worstRatio).toBeLessThanOrEqual(1)
  })

  it('clips and rounds out-of-range numbers as Int16 would be', () => {
    expect(linearToMulaw(1e9)).toBe(0x80)
    expect(linearToMulaw(-1e9)).toBe(0x00)
    expect(linearToMulaw(Number.NaN)).toBe(0xFF)
    expect(linearToMulaw(7.6)).toBe(linearToMulaw(8))
    expect(mulawToLinear(0x1FF)).toBe(mulawToLinear(0xFF))
  })

  // At 8 kHz a 1 kHz sine repeats every 8 samples, which would measure 8 quantisation errors: the
  // sine is sampled at 48 kHz here (μ-law does not care about the rate), and 1004 Hz at 8 kHz (the
  // test-tone frequency telephony uses for this reason) is measured too.
  for (const [hz, rate] of [[1000, 48000], [1004, 8000]] as const) {
    it(`keeps a -10 dBFS ${hz} Hz sine (sampled at ${rate} Hz) at an SNR of at least 35 dB`, () => {
      const amplitude = 32767 * 10 ** (-10 / 20)
      const sine = Int16Array.from({ length: rate }, (_, i) => Math.round(amplitude * Math.sin(2 * Math.PI * hz * i / rate + 0.3)))
      const back = decodeMulaw(encodeMulaw(sine))
      let signal = 0
      let noise = 0
      for (let i = 0; i < sine.length; i++) {
        signal += (sine[i] as number) ** 2
        noise += ((back[i] as number) - (sine[i] as number)) ** 2
      }
      const snrDb = 10 * Math.log10(signal / noise)
      console.log(`μ-law SNR of a -10 dBFS ${hz} Hz sine at ${rate} Hz: ${snrDb.toFixed(2)} dB`)
      expect(snrDb).toBeGreaterThanOrEqual(35)
    })
  }
})
