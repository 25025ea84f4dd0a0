// The bench's input signals: speech (espeak-ng's voice, or a synthetic voiced signal) and a
// 440 Hz tone, cut into 20 ms frames of 16-bit PCM.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FRAME_SAMPLES, SAMPLE_RATE, floatToInt16 } from '../../node/index.js'
import { resample } from '../../node/index.js'
import { findExecutable } from '../../node/index.js'
import { parseWav } from '../../node/index.js'

export const TONE_DESCRIPTION = '440 Hz, 0.5 peak (-6 dBFS), 3 s'

export function tone (): Float32Array {
  return Float32Array.from({ length: 3 * SAMPLE_RATE }, (_, i) => 0.5 * Math.sin(2 * Math.PI * 440 * i / SAMPLE_RATE))
}

export function frames (signal: Float32Array): Int16Array[] {
  const out: Int16Array[] = []
  for (let at = 0; at + FRAME_SAMPLES <= signal.length; at += FRAME_SAMPLES) out.push(floatToInt16(signal.subarray(at, at + FRAME_SAMPLES)))
  return out
}

/** espeak-ng's voice at 48 kHz (through our WAV parser and resampler), or a synthetic voiced signal. */
export function speech (): { signal: Float32Array, source: string } {
  const espeak = findExecutable('espeak-ng')
  if (espeak !== null) {
    const dir = mkdtempSync(join(tmpdir(), 'voxmesh-opus-bench-'))
    try {
      const file = join(dir, 'speech.wav')
      const text = 'Hello, this is a voice call over the voxmesh network. The quick brown fox jumps over the lazy dog. ' +
        'Please leave a message after the tone, and we will call you back as soon as we can.'
      const result = spawnSync(espeak, ['-v', 'en-us', '-s', '150', '-w', file, text], { encoding: 'utf8' })
      if (result.status === 0) {
        const wav = parseWav(readFileSync(file))
        const signal = resample(wav.samples, wav.sampleRate)
        // espeak-ng speaks quietly: normalise to -3 dBFS peak, as a microphone with AGC would deliver.
        let peak = 0
        for (const v of signal) peak = Math.max(peak, Math.abs(v))
        const gain = peak > 0 ? 0.707 / peak : 1
        for (let i = 0; i < signal.length; i++) signal[i] = (signal[i] as number) * gain
        return { signal, source: `espeak-ng (${wav.sampleRate} Hz → 48 kHz, ${(signal.length / SAMPLE_RATE).toFixed(1)} s)` }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  // Voiced synthetic speech: a gliding 100–180 Hz pulse-like harmonic series, two moving formants, 4 Hz syllables.
  const n = 8 * SAMPLE_RATE
  const signal = new Float32Array(n)
  let phase = 0
  for (let i = 0; i < n; i++) {
    const t = i / SAMPLE_RATE
    const f0 = 140 + 40 * Math.sin(2 * Math.PI * 0.7 * t)
    phase += f0 / SAMPLE_RATE
    const f1 = 500 + 300 * Math.sin(2 * Math.PI * 1.3 * t)
    const f2 = 1500 + 700 * Math.sin(2 * Math.PI * 0.9 * t)
    let v = 0
    for (let h = 1; h * f0 < 4000; h++) {
      const f = h * f0
      const gain = 1 / (1 + ((f - f1) / 150) ** 2) + 0.5 / (1 + ((f - f2) / 250) ** 2)
      v += gain * Math.sin(2 * Math.PI * h * phase) / h
    }
    signal[i] = 0.3 * v * Math.max(0, Math.sin(2 * Math.PI * 4 * t))
  }
  return { signal, source: 'synthetic voiced signal (espeak-ng not installed), 8 s' }
}
