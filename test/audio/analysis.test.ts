import { describe, expect, it } from 'vitest'
import { compareSignals, dominantFrequency, durationSeconds, fft, levelDbfs, rms, toneAmplitude } from '../../node/media/audio/analysis.js'
import { tone } from './helpers.js'

describe('analysis', () => {
  it('finds the dominant frequency of a 1 s tone to well under 1 Hz, off the FFT bins too', () => {
    for (const hz of [50, 440, 441.3, 997, 3000.7, 15_000]) {
      expect(Math.abs(dominantFrequency(tone(hz, 48000, 1), 48000) - hz)).toBeLessThan(0.1)
    }
    expect(Math.abs(dominantFrequency(tone(440, 8000, 1), 8000) - 440)).toBeLessThan(0.1)
  })

  it('picks the strongest of several tones, within a range when given one; NaN for silence', () => {
    const a = tone(300, 48000, 1, 0.2)
    const b = tone(1200, 48000, 1, 0.5)
    const mix = a.map((v, i) => v + (b[i] as number))
    expect(dominantFrequency(mix, 48000)).toBeCloseTo(1200, 0)
    expect(dominantFrequency(mix, 48000, { maxHz: 800 })).toBeCloseTo(300, 0)
    expect(dominantFrequency(new Float32Array(48000), 48000)).toBeNaN()
    expect(dominantFrequency(new Float32Array(8), 48000)).toBeNaN()
  })

  it('measures a tone’s amplitude, RMS, dBFS (AES17: a full-scale sine is 0 dBFS) and duration', () => {
    const sine = tone(1000, 48000, 1, 0.25)
    expect(toneAmplitude(sine, 48000, 1000)).toBeCloseTo(0.25, 3)
    expect(toneAmplitude(sine, 48000, 5000)).toBeLessThan(1e-5)
    expect(rms(sine)).toBeCloseTo(0.25 / Math.SQRT2, 4)
    expect(levelDbfs(tone(1000, 48000, 1, 1))).toBeCloseTo(0, 2)
    expect(levelDbfs(sine)).toBeCloseTo(-12.04, 2)
    expect(levelDbfs(Int16Array.from(sine, v => Math.round(v * 32768)))).toBeCloseTo(-12.04, 2)
    expect(levelDbfs(new Float32Array(10))).toBe(-Infinity)
    expect(durationSeconds(sine, 48000)).toBe(1)
  })

  it('compares signals: finds the lag, correlation and SNR', () => {
    const reference = tone(440, 48000, 0.5).map((v, i) => v * Math.sin(Math.PI * i / 24000)) // one swell, so the lag is unique
    const delayed = new Float32Array(reference.length)
    delayed.set(reference.subarray(0, reference.length - 123), 123)
    const same = compareSignals(reference, delayed, 500)
    expect(same.lag).toBe(123)
    expect(same.correlation).toBeCloseTo(1, 6)
    expect(same.snrDb).toBeGreaterThan(100)
    const noisy = delayed.map((v, i) => v + 0.01 * Math.sin(i * 1.7))
    const cmp = compareSignals(reference, noisy, 500)
    expect(cmp.lag).toBe(123)
    expect(cmp.snrDb).toBeGreaterThan(25)
    expect(cmp.snrDb).toBeLessThan(40)
  })

  it('fft: a unit impulse has a flat spectrum; non-powers of two are refused', () => {
    const re = new Float64Array(8)
    const im = new Float64Array(8)
    re[0] = 1
    fft(re, im)
    expect([...re]).toEqual(new Array(8).fill(1))
    expect(() => fft(new Float64Array(6), new Float64Array(6))).toThrow(RangeError)
  })
})
