// The telephone line's audio: the 48 kHz ↔ 8 kHz μ-law line codec (band limit, level, aliasing,
// whole frames, seams, latency) and the line's own tones (frequencies, levels, cadences).
import { describe, expect, it } from 'vitest'
import { compareSignals, dominantFrequency, levelDbfs, toneAmplitude } from '../../node/media/audio/analysis.js'
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../node/media/audio/pcm.js'
import { LINE_FRAME_SAMPLES, LINE_SAMPLE_RATE, decodeMulaw } from '../../pstn-gateway-stub/line/g711.js'
import { createLineCodec } from '../../pstn-gateway-stub/line/narrowband.js'
import { busyTone, notInServiceTone, ringingTone, steadyTone, type ToneSource } from '../../pstn-gateway-stub/line/tones.js'

function amplitudeAt (dbfs: number): number {
  return 32767 * 10 ** (dbfs / 20)
}

/** `frames` call frames of a sine at 48 kHz, one Int16Array per 20 ms. */
function sineFrames (hz: number, dbfs: number, frames: number): Int16Array[] {
  const amplitude = amplitudeAt(dbfs)
  return Array.from({ length: frames }, (_, f) => Int16Array.from({ length: FRAME_SAMPLES }, (_, i) =>
    Math.round(amplitude * Math.sin(2 * Math.PI * hz * (f * FRAME_SAMPLES + i) / SAMPLE_RATE))))
}

function concat (frames: Int16Array[]): Float32Array {
  const out = new Float32Array(frames.reduce((sum, frame) => sum + frame.length, 0))
  let at = 0
  for (const frame of frames) {
    for (let i = 0; i < frame.length; i++) out[at + i] = (frame[i] as number) / 32768
    at += frame.length
  }
  return out
}

/** Sends call frames down the line and back, one at a time, checking every frame's length. */
function throughLine (frames: Int16Array[]): { line: Uint8Array[], back: Int16Array[], delay: number } {
  const codec = createLineCodec()
  const line: Uint8Array[] = []
  const back: Int16Array[] = []
  for (const frame of frames) {
    const bytes = codec.toLine(frame)
    expect(bytes.length).toBe(LINE_FRAME_SAMPLES)
    const restored = codec.fromLine(bytes)
    expect(restored.length).toBe(FRAME_SAMPLES)
    line.push(bytes)
    back.push(restored)
  }
  return { line, back, delay: codec.toLineDelay * (SAMPLE_RATE / LINE_SAMPLE_RATE) + codec.fromLineDelay }
}

/** The input's and output's steady part: from when the delayed signal has settled to the end of the output. */
function steadyParts (input: Float32Array, output: Float32Array, delay: number): [Float32Array, Float32Array] {
  const settle = 4800 // 100 ms past the start, far beyond both filters' reach
  return [input.subarray(settle, input.length - delay), output.subarray(settle + delay)]
}

describe('line codec (48 kHz ↔ 8 kHz μ-law)', () => {
  it('has a constant whole-sample delay each way', () => {
    const codec = createLineCodec()
    console.log(`line codec delay: toLine ${codec.toLineDelay} line samples (${codec.toLineDelay * 6} at 48 kHz), ` +
      `fromLine ${codec.fromLineDelay} samples at 48 kHz; round trip ${codec.toLineDelay * 6 + codec.fromLineDelay} at 48 kHz`)
    expect(Number.isInteger(codec.toLineDelay) && codec.toLineDelay > 0 && codec.toLineDelay < LINE_FRAME_SAMPLES).toBe(true)
    expect(Number.isInteger(codec.fromLineDelay) && codec.fromLineDelay > 0 && codec.fromLineDelay < FRAME_SAMPLES).toBe(true)
  })

  it('passes a -6 dBFS 3.4 kHz tone at its frequency and within 3 dB of its level', () => {
    const input = sineFrames(3400, -6, 150) // 3 s
    const { back, delay } = throughLine(input)
    const [sent, received] = steadyParts(concat(input), concat(back), delay)
    const change = levelDbfs(received) - levelDbfs(sent)
    const frequency = dominantFrequency(received, SAMPLE_RATE)
    console.log(`3.4 kHz at -6 dBFS through the line: ${frequency.toFixed(2)} Hz, level change ${change.toFixed(2)} dB`)
    expect(Math.abs(frequency - 3400)).toBeLessThan(3)
    expect(Math.abs(change)).toBeLessThan(3)
  })

  it('keeps a 1 kHz tone at its level (well inside the band)', () => {
    const input = sineFrames(1000, -6, 50)
    const { back, delay } = throughLine(input)
    const [sent, received] = steadyParts(concat(input), concat(back), delay)
    expect(Math.abs(levelDbfs(received) - levelDbfs(sent))).toBeLessThan(0.3)
    expect(Math.abs(dominantFrequency(received, SAMPLE_RATE) - 1000)).toBeLessThan(1)
  })

  it('stops a 6 kHz tone (above the line\'s band) at least 40 dB down, on the line and back', () => {
    const input = sineFrames(6000, -6, 100)
    const { line, back, delay } = throughLine(input)
    const [sent, received] = steadyParts(concat(input), concat(back), delay)
    const attenuation = levelDbfs(sent) - levelDbfs(received)
    // On the line itself a leak would be the 2 kHz alias.
    const onLine = concat(line.map((bytes) => decodeMulaw(bytes))).subarray(LINE_FRAME_SAMPLES * 5)
    console.log(`6 kHz at -6 dBFS through the line: ${levelDbfs(received).toFixed(1)} dBFS back (${attenuation.toFixed(1)} dB down), ${levelDbfs(onLine).toFixed(1)} dBFS on the line`)
    expect(levelDbfs(sent) - levelDbfs(onLine)).toBeGreaterThanOrEqual(40)
    expect(attenuation).toBeGreaterThanOrEqual(40)
  })

  it('gives one whole frame per frame each way, and no click at the seams of a 1 kHz tone', () => {
    const dbfs = -6
    const input = sineFrames(1000, dbfs, 100)
    const { back, delay } = throughLine(input)
    const output = concat(back)
    expect(output.length).toBe(concat(input).length)
    // The largest step a 1 kHz sine at this level takes between 48 kHz samples, plus 10 % and the
    // line's quantisation noise (low-passed by the upsampler, a few tens of LSB).
    const sineStep = 2 * amplitudeAt(dbfs) * Math.sin(Math.PI * 1000 / SAMPLE_RATE) / 32768
    const allowed = sineStep * 1.1 + 100 / 32768
    let worst = 0
    let worstAtSeam = 0
    for (let n = delay + 1; n < output.length; n++) {
      const jump = Math.abs((output[n] as number) - (output[n - 1] as number))
      worst = Math.max(worst, jump)
      if (n % FRAME_SAMPLES === 0) worstAtSeam = Math.max(worstAtSeam, jump)
    }
    console.log(`1 kHz seams: largest jump ${(worst * 32768).toFixed(0)} LSB (at a seam ${(worstAtSeam * 32768).toFixed(0)}), a clean sine's ${(sineStep * 32768).toFixed(0)}`)
    expect(worst).toBeLessThan(allowed)
    // And before the delayed signal arrives, silence (the queued startup shortfall).
    expect(output.subarray(0, Math.max(0, delay - 200)).every((v) => v === 0)).toBe(true)
  })

  it('delays the signal by exactly toLineDelay × 6 + fromLineDelay samples', () => {
    // A band-limited, non-periodic signal (three incommensurate tones) so the lag is unambiguous.
    const amplitude = amplitudeAt(-12)
    const frames = Array.from({ length: 50 }, (_, f) => Int16Array.from({ length: FRAME_SAMPLES }, (_, i) => {
      const t = (f * FRAME_SAMPLES + i) / SAMPLE_RATE
      return Math.round(amplitude * (Math.sin(2 * Math.PI * 437 * t) + Math.sin(2 * Math.PI * 1291 * t + 1) + Math.sin(2 * Math.PI * 2713 * t + 2)) / 3)
    }))
    const { back, delay } = throughLine(frames)
    const comparison = compareSignals(concat(frames).subarray(0, 24_000), concat(back).subarray(0, 24_000 + 600), 600)
    expect(comparison.lag).toBe(delay)
    expect(comparison.snrDb).toBeGreaterThan(30)
  })

  it('turns silence into silence (μ-law 0xFF) and rejects frames of the wrong length', () => {
    const codec = createLineCodec()
    for (let f = 0; f < 5; f++) {
      const bytes = codec.toLine(new Int16Array(FRAME_SAMPLES))
      expect(bytes.every((code) => code === 0xFF)).toBe(true)
      expect(codec.fromLine(bytes).every((v) => v === 0)).toBe(true)
    }
    expect(() => codec.toLine(new Int16Array(480))).toThrow(RangeError)
    expect(() => codec.fromLine(new Uint8Array(80))).toThrow(RangeError)
  })
})

/** Plays a tone source for `frames` frames, checking each frame's length. */
function play (source: ToneSource, frames: number): Float32Array {
  const out: Int16Array[] = []
  for (let f = 0; f < frames; f++) {
    const frame = source.next()
    expect(frame.length).toBe(LINE_FRAME_SAMPLES)
    out.push(frame)
  }
  return concat(out)
}

/** [start, end) of each burst of sound: runs of non-zero samples, joined across gaps shorter than 5 ms. */
function bursts (samples: Float32Array): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  for (let n = 0; n < samples.length; n++) {
    if (samples[n] === 0) continue
    const last = runs[runs.length - 1]
    if (last !== undefined && n - last[1] < 40) last[1] = n + 1
    else runs.push([n, n + 1])
  }
  return runs
}

/** Checks bursts against expected [on, off] sample counts, within a couple of samples (the ramps' zero ends). */
function expectCadence (runs: Array<[number, number]>, onOff: Array<[number, number]>, from: number): void {
  for (let k = 0; k + 1 < runs.length; k++) {
    const [start, end] = runs[k] as [number, number]
    const [on, off] = onOff[k % onOff.length] as [number, number]
    expect(start).toBeLessThanOrEqual(from + 2)
    expect(start).toBeGreaterThanOrEqual(from)
    expect(Math.abs(end - from - on)).toBeLessThanOrEqual(1)
    from += on + off
  }
}

describe('line tones (8 kHz)', () => {
  it('plays a steady tone as one unbroken sine at its level, across frames', () => {
    const samples = play(steadyTone(1004, -10), 100)
    const amplitude = amplitudeAt(-10) / 32768
    let worst = 0
    for (let n = 8; n < samples.length; n++) {
      worst = Math.max(worst, Math.abs((samples[n] as number) - amplitude * Math.sin(2 * Math.PI * 1004 * n / LINE_SAMPLE_RATE)))
    }
    expect(worst * 32768).toBeLessThanOrEqual(1)
    expect(Math.abs(dominantFrequency(samples, LINE_SAMPLE_RATE) - 1004)).toBeLessThan(0.5)
    expect(levelDbfs(samples.subarray(8))).toBeCloseTo(-10, 1)
  })

  it('rings with the UK cadence: 400 + 450 Hz, 0.4 s on, 0.2 off, 0.4 on, 2 off', () => {
    const source = ringingTone()
    const samples = play(source, 300) // two cycles of 3 s
    expect(source.done).toBe(false)
    expect(source.cycleSamples).toBe(3 * LINE_SAMPLE_RATE)
    const runs = bursts(samples)
    expect(runs.length).toBe(4)
    expectCadence(runs, [[3200, 1600], [3200, 16_000]], 0)
    const burst = samples.subarray(100, 3100)
    expect(toneAmplitude(burst, LINE_SAMPLE_RATE, 400)).toBeCloseTo(amplitudeAt(-19) / 32768, 2)
    expect(toneAmplitude(burst, LINE_SAMPLE_RATE, 450)).toBeCloseTo(amplitudeAt(-19) / 32768, 2)
    expect(toneAmplitude(burst, LINE_SAMPLE_RATE, 425)).toBeLessThan(0.01)
  })

  it('plays busy as 400 Hz, 0.375 s on and 0.375 s off (across frame boundaries)', () => {
    const samples = play(busyTone(), 150) // 3 s: four cycles
    const runs = bursts(samples)
    expect(runs.length).toBe(4)
    expectCadence(runs, [[3000, 3000]], 0)
    for (const [start, end] of runs) {
      expect(Math.abs(dominantFrequency(samples.subarray(start, end), LINE_SAMPLE_RATE) - 400)).toBeLessThan(1)
    }
    expect(levelDbfs(samples.subarray(100, 2900))).toBeCloseTo(-13, 1)
  })

  it('plays the not-in-service SIT once: 913.8, 1370.6, 1776.7 Hz, 380 ms each, then done', () => {
    const source = notInServiceTone()
    expect(source.durationSamples).toBe(3 * 3040)
    const frames: Float32Array[] = []
    while (!source.done) {
      frames.push(play(source, 1))
      expect(frames.length).toBeLessThanOrEqual(57)
    }
    expect(frames.length).toBe(57) // 1.14 s = 57 frames exactly
    // Each 20 ms frame lies within one segment (380 ms = 19 frames): its frequency, in order.
    const expected = [913.8, 1370.6, 1776.7]
    frames.forEach((frame, f) => {
      expect(Math.abs(dominantFrequency(frame, LINE_SAMPLE_RATE) - (expected[Math.floor(f / 19)] as number))).toBeLessThan(10)
    })
    const samples = concat(frames.map((frame) => Int16Array.from(frame, (v) => Math.round(v * 32768))))
    for (let s = 0; s < 3; s++) {
      const segment = samples.subarray(s * 3040 + 8, (s + 1) * 3040 - 8)
      expect(Math.abs(dominantFrequency(segment, LINE_SAMPLE_RATE) - (expected[s] as number))).toBeLessThan(0.5)
    }
    // Afterwards: silence.
    expect(play(source, 3).every((v) => v === 0)).toBe(true)
  })

  it('rejects levels above full scale and frequencies off the line', () => {
    expect(() => steadyTone(1000, 3)).toThrow(RangeError)
    expect(() => steadyTone(4000, -10)).toThrow(RangeError)
    expect(() => steadyTone(0, -10)).toThrow(RangeError)
  })
})
