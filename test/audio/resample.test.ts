import { describe, expect, it } from 'vitest'
import { Resampler, resample } from '../../node/media/audio/resample.js'
import { dominantFrequency, levelDbfs, toneAmplitude } from '../../node/media/audio/analysis.js'

function tone (hz: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin(2 * Math.PI * hz * i / rate))
}

describe('resample', () => {
  for (const rate of [8000, 11025, 16000, 22050, 32000, 44100, 88200, 96000, 192000, 12345]) {
    it(`keeps a 440 Hz tone at 440 Hz and scales the length: ${rate} Hz → 48 kHz`, () => {
      const input = tone(440, rate, 1)
      const out = resample(input, rate)
      expect(out.length).toBe(Math.ceil(input.length * 48000 / rate))
      expect(Math.abs(out.length / 48000 - 1)).toBeLessThan(1 / rate + 1e-9)
      expect(dominantFrequency(out, 48000)).toBeCloseTo(440, 0)
      expect(Math.abs(dominantFrequency(out, 48000) - 440)).toBeLessThan(1)
      // Level kept: a 0.5 sine is -6.02 dBFS (ignore the edges, where the filter meets the silence around the signal).
      const middle = out.subarray(2400, out.length - 2400)
      expect(levelDbfs(middle)).toBeCloseTo(20 * Math.log10(0.5), 1)
    })
  }

  it('is aligned in time: input sample i lands on output i × 48000 / rate (no filter delay)', () => {
    const rate = 44100
    const input = new Float32Array(4410)
    // A smooth bump centred on input sample 2205 (50 ms).
    for (let i = 0; i < input.length; i++) input[i] = Math.exp(-(((i - 2205) / 40) ** 2))
    const out = resample(input, rate)
    let peak = 0
    for (let i = 1; i < out.length; i++) if ((out[i] as number) > (out[peak] as number)) peak = i
    expect(Math.abs(peak - 2400)).toBeLessThanOrEqual(1)
  })

  it('filters aliases when downsampling: a 30 kHz tone at 96 kHz is gone at 48 kHz (< -70 dB), 1 kHz passes unchanged', () => {
    const input = tone(30_000, 96000, 1, 0.5)
    const pass = tone(1000, 96000, 1, 0.5)
    for (let i = 0; i < input.length; i++) input[i] = (input[i] as number) + (pass[i] as number)
    const out = resample(input, 96000).subarray(4800, 43200)
    const alias = toneAmplitude(out, 48000, 18_000) // 48k - 30k
    expect(20 * Math.log10(alias / 0.5)).toBeLessThan(-70)
    expect(20 * Math.log10(toneAmplitude(out, 48000, 1000) / 0.5)).toBeCloseTo(0, 1)
  })

  it('filters images when upsampling: 8 kHz → 48 kHz leaves nothing above 4 kHz from a 3 kHz tone (< -70 dB)', () => {
    const out = resample(tone(3000, 8000, 1), 8000).subarray(4800, 43200)
    expect(20 * Math.log10(toneAmplitude(out, 48000, 5000) / 0.5)).toBeLessThan(-70) // 8k - 3k image
    expect(20 * Math.log10(toneAmplitude(out, 48000, 11000) / 0.5)).toBeLessThan(-70) // 8k + 3k image
    expect(20 * Math.log10(toneAmplitude(out, 48000, 3000) / 0.5)).toBeCloseTo(0, 1)
  })

  it('streams: any chunking gives the same output as one call', () => {
    for (const rate of [22050, 96000, 8000]) {
      const input = tone(440, rate, 0.5)
      const whole = resample(input, rate)
      const streaming = new Resampler(rate)
      const parts: Float32Array[] = []
      let at = 0
      let size = 1
      while (at < input.length) {
        parts.push(streaming.process(input.subarray(at, at + size)))
        at += size
        size = (size * 7 + 3) % 1500 + 1
      }
      parts.push(streaming.flush())
      const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
      let offset = 0
      for (const p of parts) { joined.set(p, offset); offset += p.length }
      expect(joined.length).toBe(whole.length)
      let maxDiff = 0
      for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs((whole[i] as number) - (joined[i] as number)))
      expect(maxDiff).toBeLessThan(1e-6)
    }
  })

  it('passes 48 kHz through untouched and refuses nonsense rates', () => {
    const input = tone(440, 48000, 0.1)
    expect(resample(input, 48000)).toEqual(input)
    expect(() => new Resampler(0)).toThrow(RangeError)
    expect(() => new Resampler(44100.5)).toThrow(RangeError)
  })
})
