// The line's own signals, as the exchange would play them to a caller: a steady tone, the UK
// ringing tone, the busy tone and the special information tone (SIT) for a number not in service.
// Each is a generator of 8 kHz Int16 PCM, one 20 ms line frame (160 samples) per next() call, ready
// for encodeMulaw. Cadences are counted in samples, not frames (busy's 375 ms is 18.75 frames),
// and every oscillator keeps its phase across frames, so a tone is one unbroken sine however it
// is cut. Each burst of tone starts at phase 0 and fades in and out over RAMP_SAMPLES (1 ms,
// raised cosine), so switching it on and off does not click or splatter.
// Levels are dBFS per component (a sine of peak amplitude A reads 20·log10(A)); 0 dBm0 on a μ-law
// line is about -3.2 dBFS.
import { LINE_FRAME_SAMPLES, LINE_SAMPLE_RATE } from './g711.js'

/** One frame after another; `done` once a finite signal has played (next() then gives silence). */
export interface ToneSource {
  next: () => Int16Array
  readonly done: boolean
  /** Samples the signal lasts: Infinity for those that repeat until stopped. */
  readonly durationSamples: number
  /** Samples in one pass through the cadence (Infinity for a steady tone). */
  readonly cycleSamples: number
}

/** A stretch of a cadence: these frequencies together (none: silence) for this long (Infinity: for ever). */
export interface ToneSegment {
  frequencies: readonly number[]
  durationMs: number
}

export const RAMP_SAMPLES = 8

/** UK ringing tone (BT SIN 350): 400 + 450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, 2 s off. */
export const UK_RINGING_CADENCE: readonly ToneSegment[] = [
  { frequencies: [400, 450], durationMs: 400 },
  { frequencies: [], durationMs: 200 },
  { frequencies: [400, 450], durationMs: 400 },
  { frequencies: [], durationMs: 2000 }
]

/** Busy tone: 400 Hz, 0.375 s on, 0.375 s off. */
export const BUSY_CADENCE: readonly ToneSegment[] = [
  { frequencies: [400], durationMs: 375 },
  { frequencies: [], durationMs: 375 }
]

/**
 * SIT for "number not in service" (ITU-T E.180 / Q.35 style): 913.8, 1370.6, 1776.7 Hz rising, each
 * a long segment of 380 ms (E.180 allows 330 ± 70 ms; the North American vacant-code SIT uses
 * short 274 ms segments for the first two, not done here), no gaps, played once.
 */
export const SIT_NOT_IN_SERVICE: readonly ToneSegment[] = [
  { frequencies: [913.8], durationMs: 380 },
  { frequencies: [1370.6], durationMs: 380 },
  { frequencies: [1776.7], durationMs: 380 }
]

/** Default levels: dual tones at -19 dBFS per component (peaks stay near -13 dBFS), single at -13. */
export const DUAL_TONE_LEVEL_DBFS = -19
export const SINGLE_TONE_LEVEL_DBFS = -13

interface PreparedSegment {
  /** Phase increments (cycles per sample), one per frequency. */
  steps: number[]
  length: number
}

function amplitudeOf (levelDbfs: number): number {
  if (!Number.isFinite(levelDbfs) || levelDbfs > 0) throw new RangeError(`tone level must be a finite dBFS ≤ 0, got ${levelDbfs}`)
  return 32767 * 10 ** (levelDbfs / 20)
}

/** Gain at sample `index` of a burst `length` long (may be Infinity): a raised-cosine fade in and out at the edges. */
function rampGain (index: number, length: number): number {
  const edge = Math.min(index, length - 1 - index)
  if (edge >= RAMP_SAMPLES) return 1
  return 0.5 - 0.5 * Math.cos(Math.PI * (edge + 0.5) / RAMP_SAMPLES)
}

/**
 * A generator that plays `segments` in order, once or over and over, at `levelDbfs` per component.
 * Segment lengths are rounded to whole samples.
 */
export function cadencedTone (segments: readonly ToneSegment[], levelDbfs: number, repeat: boolean): ToneSource {
  const amplitude = amplitudeOf(levelDbfs)
  const prepared: PreparedSegment[] = segments.map((segment) => {
    for (const hz of segment.frequencies) {
      if (!(hz > 0 && hz < LINE_SAMPLE_RATE / 2)) throw new RangeError(`tone frequency must lie in (0, 4000) Hz, got ${hz}`)
    }
    if (!(segment.durationMs >= 0)) throw new RangeError(`segment duration must be ≥ 0 ms, got ${segment.durationMs}`)
    return { steps: segment.frequencies.map((hz) => hz / LINE_SAMPLE_RATE), length: Math.round(segment.durationMs * LINE_SAMPLE_RATE / 1000) }
  })
  const cycle = prepared.reduce((sum, segment) => sum + segment.length, 0)
  if (!(cycle > 0)) throw new RangeError('a cadence needs some duration')
  let segmentIndex = 0
  let inSegment = 0
  let phases = (prepared[0] as PreparedSegment).steps.map(() => 0)
  let done = false

  const sampleAt = (segment: PreparedSegment): number => {
    if (segment.steps.length === 0) return 0
    let sum = 0
    for (let k = 0; k < segment.steps.length; k++) {
      const phase = phases[k] as number
      sum += Math.sin(2 * Math.PI * phase)
      const nextPhase = phase + (segment.steps[k] as number)
      phases[k] = nextPhase >= 1 ? nextPhase - 1 : nextPhase
    }
    return amplitude * sum * rampGain(inSegment, segment.length)
  }

  const next = (): Int16Array => {
    const frame = new Int16Array(LINE_FRAME_SAMPLES)
    for (let i = 0; i < frame.length && !done; i++) {
      let segment = prepared[segmentIndex] as PreparedSegment
      while (inSegment >= segment.length) {
        segmentIndex++
        if (segmentIndex === prepared.length) {
          if (!repeat) { done = true; break }
          segmentIndex = 0
        }
        segment = prepared[segmentIndex] as PreparedSegment
        inSegment = 0
        phases = segment.steps.map(() => 0)
      }
      if (done) break
      const value = Math.round(sampleAt(segment))
      frame[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value
      inSegment++
    }
    // A finite signal is done as soon as its last sample has gone out, not one call later.
    if (!repeat && segmentIndex === prepared.length - 1 && inSegment >= (prepared[segmentIndex] as PreparedSegment).length) done = true
    return frame
  }

  return {
    next,
    get done () { return done },
    durationSamples: repeat ? Infinity : cycle,
    cycleSamples: cycle
  }
}

/** A steady tone at `hz` (0–4000 exclusive), `levelDbfs` (≤ 0), until stopped. */
export function steadyTone (hz: number, levelDbfs: number): ToneSource {
  return cadencedTone([{ frequencies: [hz], durationMs: Infinity }], levelDbfs, true)
}

/** The UK ringing tone (ring-back the caller hears), repeating. */
export function ringingTone (levelDbfs: number = DUAL_TONE_LEVEL_DBFS): ToneSource {
  return cadencedTone(UK_RINGING_CADENCE, levelDbfs, true)
}

/** The busy tone, repeating. */
export function busyTone (levelDbfs: number = SINGLE_TONE_LEVEL_DBFS): ToneSource {
  return cadencedTone(BUSY_CADENCE, levelDbfs, true)
}

/** The SIT for "not in service", played once (1.14 s); `done` after its last frame. */
export function notInServiceTone (levelDbfs: number = SINGLE_TONE_LEVEL_DBFS): ToneSource {
  return cadencedTone(SIT_NOT_IN_SERVICE, levelDbfs, false)
}
