// Sample-rate conversion to 48 kHz (or any rate): a polyphase windowed-sinc (Kaiser) resampler,
// linear phase, streaming. Output sample n sits at input time n·inRate/outRate exactly (no delay:
// it waits for the filter's half width of future input, and flush() supplies the end).
//
// The sinc's cutoff is ROLLOFF × the lower of the two Nyquist frequencies, so downsampling
// filters aliases out and upsampling filters images out (stopband ≈ -85 dB with β = 8.6).
// Phases: one per distinct fractional position when the rate ratio is a small fraction
// (44.1k→48k has 160); otherwise MAX_PHASES, with positions rounded to the nearest
// (1/8192 of an input sample, far below audibility).
import { SAMPLE_RATE } from './pcm.js'

/** Zero crossings of the sinc on each side of the centre. */
export const RESAMPLER_ZERO_CROSSINGS = 24
/** Cutoff as a fraction of the lower Nyquist frequency. */
export const RESAMPLER_ROLLOFF = 0.9
export const RESAMPLER_KAISER_BETA = 8.6
export const RESAMPLER_MAX_PHASES = 4096

function gcd (a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}

/** Zeroth-order modified Bessel function of the first kind (power series). */
function besselI0 (x: number): number {
  let sum = 1
  let term = 1
  for (let k = 1; k < 64; k++) {
    term *= (x / (2 * k)) ** 2
    sum += term
    if (term < sum * 1e-12) break
  }
  return sum
}

/** The coefficient tables for one rate pair (shared by every Resampler of that pair). */
interface Filter {
  /** taps coefficients per phase, phase-major. */
  coefficients: Float32Array
  taps: number
  /** Input samples before the centre that a phase reaches: taps / 2 - 1. */
  before: number
  phases: number
}

const filterCache = new Map<string, Filter>()

function designFilter (upFactor: number, downFactor: number): Filter {
  const key = `${upFactor}/${downFactor}`
  const cached = filterCache.get(key)
  if (cached !== undefined) return cached
  const cutoff = Math.min(1, upFactor / downFactor) * RESAMPLER_ROLLOFF // of the input Nyquist
  const halfWidth = RESAMPLER_ZERO_CROSSINGS / cutoff // in input samples
  const half = Math.ceil(halfWidth)
  const taps = 2 * half
  const phases = Math.min(upFactor, RESAMPLER_MAX_PHASES)
  const coefficients = new Float32Array(phases * taps)
  const i0Beta = besselI0(RESAMPLER_KAISER_BETA)
  for (let p = 0; p < phases; p++) {
    const frac = p / phases
    let sum = 0
    const row = new Float64Array(taps)
    for (let j = 0; j < taps; j++) {
      // Tap j multiplies input sample floor(t) - half + 1 + j, at distance tau from the output time t.
      const tau = frac + half - 1 - j
      const x = tau / halfWidth
      if (Math.abs(x) >= 1) continue
      const arg = Math.PI * cutoff * tau
      const sinc = arg === 0 ? 1 : Math.sin(arg) / arg
      const window = besselI0(RESAMPLER_KAISER_BETA * Math.sqrt(1 - x * x)) / i0Beta
      row[j] = cutoff * sinc * window
      sum += row[j] as number
    }
    // Unity gain at DC for every phase.
    for (let j = 0; j < taps; j++) coefficients[p * taps + j] = (row[j] as number) / sum
  }
  const filter = { coefficients, taps, before: half - 1, phases }
  filterCache.set(key, filter)
  return filter
}

/** Streaming resampler from `inRate` to `outRate` (48 kHz by default), both whole Hz. */
export class Resampler {
  readonly inRate: number
  readonly outRate: number
  private readonly up: number
  private readonly down: number
  private readonly filter: Filter | undefined
  /** Input history: buffer[0] is input sample number `bufferStart` (negative numbers are the leading silence). */
  private buffer: Float32Array
  private bufferLength = 0
  private bufferStart: number
  /** Input samples received; outputs produced; the next output's position as center + acc / up. */
  private received = 0
  private produced = 0
  private center = 0
  private acc = 0
  private flushed = false

  constructor (inRate: number, outRate: number = SAMPLE_RATE) {
    if (!Number.isSafeInteger(inRate) || inRate <= 0 || !Number.isSafeInteger(outRate) || outRate <= 0) {
      throw new RangeError(`Resampler: rates must be positive whole numbers, got ${inRate} → ${outRate}`)
    }
    this.inRate = inRate
    this.outRate = outRate
    const g = gcd(inRate, outRate)
    this.up = outRate / g
    this.down = inRate / g
    this.filter = inRate === outRate ? undefined : designFilter(this.up, this.down)
    const before = this.filter?.before ?? 0
    this.bufferStart = -before
    this.buffer = new Float32Array(4096 + (this.filter?.taps ?? 0))
    this.bufferLength = before // leading silence
  }

  /** Output samples the input so far maps to once flushed: ceil(received × outRate / inRate). */
  get expectedOutput (): number {
    return Math.ceil(this.received * this.up / this.down)
  }

  /** Feeds input; returns the output samples it completed (none until the filter has enough look-ahead). */
  process (input: Float32Array): Float32Array {
    if (this.flushed) throw new Error('Resampler: process after flush')
    this.received += input.length
    if (this.filter === undefined) {
      this.produced += input.length
      return input.slice()
    }
    this.append(input)
    return this.run()
  }

  /** Ends the input: returns the remaining output, computed with silence after the last sample. */
  flush (): Float32Array {
    if (this.flushed) return new Float32Array(0)
    this.flushed = true
    if (this.filter === undefined) return new Float32Array(0)
    const total = this.expectedOutput
    const out: Float32Array[] = []
    let count = 0
    // Enough silence for every remaining output's look-ahead.
    while (this.produced < total) {
      this.append(new Float32Array(this.filter.taps + 64))
      const chunk = this.run(total)
      out.push(chunk)
      count += chunk.length
    }
    const result = new Float32Array(count)
    let at = 0
    for (const chunk of out) { result.set(chunk, at); at += chunk.length }
    return result
  }

  private append (input: Float32Array): void {
    if (this.bufferLength + input.length > this.buffer.length) {
      const grown = new Float32Array(Math.max(this.buffer.length * 2, this.bufferLength + input.length))
      grown.set(this.buffer.subarray(0, this.bufferLength))
      this.buffer = grown
    }
    this.buffer.set(input, this.bufferLength)
    this.bufferLength += input.length
  }

  /** Produces outputs whose taps lie within the buffer (and, when given, up to `limit` in all). */
  private run (limit = Infinity): Float32Array {
    const filter = this.filter as Filter
    const { coefficients, taps, before, phases } = filter
    const bufferEnd = this.bufferStart + this.bufferLength
    const available = Math.max(0, Math.min(
      limit - this.produced,
      // The last tap of an output at `center` is sample center - before + taps - 1 = center + half;
      // a rounded phase may move the centre one sample on.
      this.countOutputsUntil(bufferEnd - (taps - before) - (phases === this.up ? 0 : 1))
    ))
    const out = new Float32Array(available)
    const buffer = this.buffer
    for (let n = 0; n < available; n++) {
      let phase = this.acc
      let center = this.center
      if (phases !== this.up) {
        phase = Math.round(this.acc * phases / this.up)
        if (phase === phases) { phase = 0; center++ }
      }
      const first = center - before - this.bufferStart
      const row = phase * taps
      let sum = 0
      for (let j = 0; j < taps; j++) sum += (buffer[first + j] as number) * (coefficients[row + j] as number)
      out[n] = sum
      this.advance()
    }
    this.produced += available
    // Drop history no future output reaches.
    const keepFrom = this.center - before - this.bufferStart
    if (keepFrom > 0) {
      this.buffer.copyWithin(0, keepFrom, this.bufferLength)
      this.bufferLength -= keepFrom
      this.bufferStart += keepFrom
    }
    return out
  }

  /** How many outputs from the current one have their centre at or before `lastCenter`. */
  private countOutputsUntil (lastCenter: number): number {
    if (this.center > lastCenter) return 0
    // Output k (from now) has centre floor((center·up + acc + k·down) / up) ≤ lastCenter
    // ⇔ k ≤ ((lastCenter + 1)·up - 1 - center·up - acc) / down.
    return Math.floor(((lastCenter - this.center) * this.up + this.up - 1 - this.acc) / this.down) + 1
  }

  private advance (): void {
    this.acc += this.down
    if (this.acc >= this.up) {
      const whole = Math.floor(this.acc / this.up)
      this.center += whole
      this.acc -= whole * this.up
    }
  }
}

/** Resamples a whole signal: length ceil(n × outRate / inRate), aligned sample for sample in time. */
export function resample (input: Float32Array, inRate: number, outRate: number = SAMPLE_RATE): Float32Array {
  if (inRate === outRate) return input.slice()
  const resampler = new Resampler(inRate, outRate)
  const head = resampler.process(input)
  const tail = resampler.flush()
  const out = new Float32Array(head.length + tail.length)
  out.set(head)
  out.set(tail, head.length)
  return out
}
