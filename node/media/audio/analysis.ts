// Measurements on audio, for tests, benchmarks and the call demo: the dominant frequency (FFT with
// interpolation, well under 1 Hz on a 1 s tone), a tone's amplitude at a given frequency, level
// (RMS, dBFS), duration, and how closely one signal reproduces another (lag, correlation, SNR).

/** Longest FFT dominantFrequency runs (2^20 points); longer signals are analysed in their middle. */
export const ANALYSIS_MAX_FFT = 1 << 20

/** In-place iterative radix-2 FFT; `re.length` must be a power of two. */
export function fft (re: Float64Array, im: Float64Array): void {
  const n = re.length
  if ((n & (n - 1)) !== 0 || im.length !== n) throw new RangeError('fft: length must be a power of two')
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; (j & bit) !== 0; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      const tr = re[i] as number; re[i] = re[j] as number; re[j] = tr
      const ti = im[i] as number; im[i] = im[j] as number; im[j] = ti
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1
    const step = -2 * Math.PI / size
    const wr = Math.cos(step)
    const wi = Math.sin(step)
    for (let start = 0; start < n; start += size) {
      let cr = 1
      let ci = 0
      for (let k = 0; k < half; k++) {
        const a = start + k
        const b = a + half
        const xr = (re[b] as number) * cr - (im[b] as number) * ci
        const xi = (re[b] as number) * ci + (im[b] as number) * cr
        re[b] = (re[a] as number) - xr
        im[b] = (im[a] as number) - xi
        re[a] = (re[a] as number) + xr
        im[a] = (im[a] as number) + xi
        const nr = cr * wr - ci * wi
        ci = cr * wi + ci * wr
        cr = nr
      }
    }
  }
}

function hann (i: number, n: number): number {
  return 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (n - 1))
}

export interface FrequencyRange { minHz?: number, maxHz?: number }

/**
 * The frequency (Hz) of the strongest spectral peak: Hann window, zero padding to at least twice
 * the length, then parabolic interpolation of the log magnitude around the peak bin. NaN for
 * silence or fewer than 16 samples.
 */
export function dominantFrequency (samples: Float32Array, sampleRate: number, range: FrequencyRange = {}): number {
  let signal = samples
  if (signal.length > ANALYSIS_MAX_FFT / 2) {
    const start = Math.floor((signal.length - ANALYSIS_MAX_FFT / 2) / 2)
    signal = signal.subarray(start, start + ANALYSIS_MAX_FFT / 2)
  }
  const n = signal.length
  if (n < 16) return NaN
  let size = 1
  while (size < 2 * n) size <<= 1
  const re = new Float64Array(size)
  const im = new Float64Array(size)
  for (let i = 0; i < n; i++) re[i] = (signal[i] as number) * hann(i, n)
  fft(re, im)
  const binHz = sampleRate / size
  const lo = Math.max(1, Math.ceil((range.minHz ?? 0) / binHz))
  const hi = Math.min(size / 2 - 1, Math.floor((range.maxHz ?? sampleRate / 2) / binHz))
  let best = -1
  let bestPower = 0
  for (let k = lo; k <= hi; k++) {
    const power = (re[k] as number) ** 2 + (im[k] as number) ** 2
    if (power > bestPower) { bestPower = power; best = k }
  }
  if (best < 0 || bestPower === 0) return NaN
  const logMag = (k: number): number => 0.5 * Math.log((re[k] as number) ** 2 + (im[k] as number) ** 2 + 1e-300)
  const a = logMag(best - 1)
  const b = logMag(best)
  const c = logMag(best + 1)
  const denominator = a - 2 * b + c
  const delta = denominator === 0 ? 0 : 0.5 * (a - c) / denominator
  return (best + delta) * binHz
}

/**
 * Amplitude (peak, 1 = full scale) of the component at `hz`: one Hann-windowed DFT bin. Tells
 * how much of a given tone (an alias, an image, a leak) a signal holds.
 */
export function toneAmplitude (samples: Float32Array, sampleRate: number, hz: number): number {
  const n = samples.length
  if (n < 2) return 0
  const w = 2 * Math.PI * hz / sampleRate
  let re = 0
  let im = 0
  let windowSum = 0
  for (let i = 0; i < n; i++) {
    const win = hann(i, n)
    const v = (samples[i] as number) * win
    re += v * Math.cos(w * i)
    im -= v * Math.sin(w * i)
    windowSum += win
  }
  return 2 * Math.hypot(re, im) / windowSum
}

/** Root mean square of the samples (0 for none). */
export function rms (samples: Float32Array | Int16Array): number {
  if (samples.length === 0) return 0
  const scale = samples instanceof Int16Array ? 1 / 32768 : 1
  let sum = 0
  for (let i = 0; i < samples.length; i++) sum += ((samples[i] as number) * scale) ** 2
  return Math.sqrt(sum / samples.length)
}

/**
 * RMS level in dBFS as AES17 defines it: relative to the RMS of a full-scale sine, so a sine of
 * peak amplitude A reads 20·log10(A) (a full-scale square wave reads +3.01). -Infinity for silence.
 */
export function levelDbfs (samples: Float32Array | Int16Array): number {
  return 20 * Math.log10(rms(samples) * Math.SQRT2)
}

export function durationSeconds (samples: { length: number }, sampleRate: number): number {
  return samples.length / sampleRate
}

export interface Comparison {
  /** Samples by which `test` lags `reference` (positive: test is late). */
  lag: number
  /** Normalised cross-correlation at that lag (1 = same shape). */
  correlation: number
  /** Signal-to-noise ratio at that lag, in dB, after matching the gain. */
  snrDb: number
}

/**
 * Aligns `test` to `reference` (lag searched in [-maxLag, maxLag]) and says how closely it follows:
 * correlation and gain-matched SNR over the overlap.
 */
export function compareSignals (reference: Float32Array, test: Float32Array, maxLag: number): Comparison {
  const overlap = (lag: number): [number, number] => [Math.max(0, -lag), Math.min(reference.length, test.length - lag)]
  const correlationAt = (lag: number): number => {
    const [from, to] = overlap(lag)
    let xy = 0
    let xx = 0
    let yy = 0
    for (let i = from; i < to; i++) {
      const x = reference[i] as number
      const y = test[i + lag] as number
      xy += x * y; xx += x * x; yy += y * y
    }
    return xx === 0 || yy === 0 ? 0 : xy / Math.sqrt(xx * yy)
  }
  let bestLag = 0
  let best = -Infinity
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const c = correlationAt(lag)
    if (c > best) { best = c; bestLag = lag }
  }
  const [from, to] = overlap(bestLag)
  let xy = 0
  let xx = 0
  for (let i = from; i < to; i++) {
    xy += (reference[i] as number) * (test[i + bestLag] as number)
    xx += (reference[i] as number) ** 2
  }
  const gain = xx === 0 ? 0 : xy / xx
  let signal = 0
  let noise = 0
  for (let i = from; i < to; i++) {
    const x = (reference[i] as number) * gain
    signal += x * x
    noise += ((test[i + bestLag] as number) - x) ** 2
  }
  return { lag: bestLag, correlation: best, snrDb: 10 * Math.log10(signal / Math.max(noise, 1e-30)) }
}
