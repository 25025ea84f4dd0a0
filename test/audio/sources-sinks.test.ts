import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  MICROPHONE_MAX_QUEUED_FRAMES, createMicrophoneSource, createSampleSource, createSilenceSource, createToneSource,
  createWavFileSource, readInt16Frame, type AudioSource
} from '../../node/media/audio/sources.js'
import { createMemorySink, createNullSink, createSpeakerSink, createWavFileSink } from '../../node/media/audio/sinks.js'
import { SoxMissingError } from '../../node/media/audio/sox.js'
import { FRAME_SAMPLES, FrameChunker, SAMPLE_RATE, floatToInt16, int16ToFloat } from '../../node/media/audio/pcm.js'
import { encodeWav, readWavFile, WavFormatError } from '../../node/media/audio/wav.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { requireTool, tone } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'voxmesh-sources-test-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

/** Reads up to `max` frames; every frame must be FRAME_SAMPLES long. */
function drain (source: AudioSource, max = 10_000): { audio: Float32Array, frames: number } {
  const frames: Float32Array[] = []
  for (let i = 0; i < max; i++) {
    const frame = source.read()
    if (frame === null) break
    expect(frame.length).toBe(FRAME_SAMPLES)
    frames.push(frame)
  }
  const audio = new Float32Array(frames.length * FRAME_SAMPLES)
  frames.forEach((f, i) => { audio.set(f, i * FRAME_SAMPLES) })
  return { audio, frames: frames.length }
}

function maxStep (signal: Float32Array): number {
  let max = 0
  for (let i = 1; i < signal.length; i++) max = Math.max(max, Math.abs((signal[i] as number) - (signal[i - 1] as number)))
  return max
}

/** Runs `fn` with PATH emptied, so no sox can be found. */
function withoutPath<T> (fn: () => T): T {
  const saved = process.env.PATH
  process.env.PATH = ''
  try { return fn() } finally { process.env.PATH = saved }
}

describe('pcm', () => {
  it('converts Float32 ↔ Int16 with rounding and clipping', () => {
    expect([...floatToInt16(Float32Array.of(0, 0.5, -0.5, 1, -1, 2, -2, NaN))]).toEqual([0, 16384, -16383, 32767, -32767, 32767, -32768, 0])
    expect([...int16ToFloat(Int16Array.of(0, 16384, -32768))]).toEqual([0, 0.5, -1])
  })

  it('chunks any lengths into whole frames and pads the last one on flush', () => {
    const chunker = new FrameChunker(4)
    expect(chunker.push(Float32Array.of(1, 2, 3))).toEqual([])
    expect(chunker.push(Float32Array.of(4, 5, 6, 7, 8, 9, 10))).toEqual([Float32Array.of(1, 2, 3, 4), Float32Array.of(5, 6, 7, 8)])
    expect(chunker.buffered).toBe(2)
    expect(chunker.flush()).toEqual(Float32Array.of(9, 10, 0, 0))
    expect(chunker.flush()).toBeNull()
  })
})

describe('sources', () => {
  it('tone: 440 Hz at the level asked, phase-continuous across frames, for its duration', () => {
    const source = createToneSource({ frequency: 440, levelDbfs: -12, durationSeconds: 1 })
    expect(source.description).toBe('tone 440 Hz -12 dBFS')
    const { audio, frames } = drain(source)
    expect(frames).toBe(50)
    expect(source.read()).toBeNull()
    expect(Math.abs(dominantFrequency(audio, SAMPLE_RATE) - 440)).toBeLessThan(0.1)
    expect(levelDbfs(audio)).toBeCloseTo(-12, 1)
    // No seam between frames: steps never exceed the sine's own slope.
    expect(maxStep(audio)).toBeLessThanOrEqual(2 * Math.PI * 440 / SAMPLE_RATE * 10 ** (-12 / 20) + 1e-6)
    expect(drain(createToneSource({ durationSeconds: 0.51 })).frames).toBe(26)
    expect(() => createToneSource({ frequency: 30_000 })).toThrow(RangeError)
    expect(() => createToneSource({ levelDbfs: 3 })).toThrow(RangeError)
  })

  it('tone and silence are endless without a duration, and end when closed', () => {
    const endless = createToneSource()
    expect(drain(endless, 500).frames).toBe(500)
    endless.close()
    expect(endless.read()).toBeNull()
    const silence = createSilenceSource({ durationSeconds: 0.1 })
    const { audio, frames } = drain(silence)
    expect(frames).toBe(5)
    expect(audio.every(v => v === 0)).toBe(true)
  })

  it('WAV file at 44.1 kHz stereo: resampled to 48 kHz, 440 Hz, the file’s length, then the end', () => {
    const path = join(dir, 'stereo.wav')
    const left = tone(440, 44100, 0.5)
    writeFileSync(path, encodeWav([left, left], { sampleRate: 44100, format: 'pcm', bitsPerSample: 16 }))
    const source = createWavFileSource(path)
    expect(source.description).toContain('44100 Hz, 2 ch')
    const { audio, frames } = drain(source)
    expect(frames).toBe(25) // 24000 samples at 48 kHz
    expect(source.read()).toBeNull()
    expect(Math.abs(dominantFrequency(audio, SAMPLE_RATE) - 440)).toBeLessThan(1)
    expect(levelDbfs(audio.subarray(2400, 21600))).toBeCloseTo(-6.02, 1)
  })

  it('WAV file looped: seamless, the tone carries on past the end of the file', () => {
    const path = join(dir, 'loop.wav')
    writeFileSync(path, encodeWav([tone(440, 22050, 0.5)], { sampleRate: 22050, format: 'pcm', bitsPerSample: 16 })) // 220 whole cycles
    const source = createWavFileSource(path, { loop: true })
    const { audio, frames } = drain(source, 100) // 2 s: four passes
    expect(frames).toBe(100)
    expect(Math.abs(dominantFrequency(audio, SAMPLE_RATE) - 440)).toBeLessThan(0.5)
    expect(maxStep(audio.subarray(4800))).toBeLessThan(2 * Math.PI * 440 / SAMPLE_RATE * 0.5 * 1.05)
    source.close()
    expect(source.read()).toBeNull()
  })

  it('an empty WAV file ends at once, looped or not; a non-WAV file is refused clearly', () => {
    expect(drain(createSampleSource(new Float32Array(0), 16000, { loop: true })).frames).toBe(0)
    const path = join(dir, 'fake.wav')
    writeFileSync(path, 'ID3\u0004 this is an mp3')
    expect(() => createWavFileSource(path)).toThrow(WavFormatError)
    expect(readInt16Frame(createToneSource({ durationSeconds: 0.02 }))?.length).toBe(FRAME_SAMPLES)
  })

  it('microphone through sox (sox required; synthesised input stands in for the device): 440 Hz frames, then the end', async () => {
    requireTool('sox')
    const mic = createMicrophoneSource({ inputArgs: ['-n'], effects: ['synth', '1', 'sine', '440', 'vol', '0.5'] })
    expect(mic.description).toBe('microphone (sox -n)')
    const { code, stderr } = await mic.exited
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    // The reader fell behind by a second: only the newest frames are kept.
    expect(mic.overruns).toBe(50 - MICROPHONE_MAX_QUEUED_FRAMES)
    const { audio, frames } = drain(mic)
    expect(frames).toBe(MICROPHONE_MAX_QUEUED_FRAMES)
    expect(Math.abs(dominantFrequency(audio, SAMPLE_RATE) - 440)).toBeLessThan(2)
    expect(levelDbfs(audio)).toBeCloseTo(-6.02, 0)
    mic.close()
  })

  it('microphone: before audio arrives it reads silence (an underrun); within the queue every frame is kept', async () => {
    requireTool('sox')
    // 0.18 s = 9 frames, fewer than the queue holds (sox synthesises faster than real time).
    const mic = createMicrophoneSource({ inputArgs: ['-n'], effects: ['synth', '0.18', 'sine', '1000'] })
    const first = mic.read()
    expect(first?.every(v => v === 0)).toBe(true)
    expect(mic.underruns).toBe(1)
    await mic.exited
    const { audio, frames } = drain(mic)
    expect(frames).toBe(9)
    expect(mic.overruns).toBe(0)
    expect(Math.abs(dominantFrequency(audio, SAMPLE_RATE) - 1000)).toBeLessThan(3)
    mic.close()
  })

  it('microphone without sox: a clear error', () => {
    expect(() => withoutPath(() => createMicrophoneSource())).toThrow(SoxMissingError)
    expect(() => withoutPath(() => createMicrophoneSource())).toThrow(/needs the sox command.*apt-get install sox/)
  })
})

describe('sinks', () => {
  it('null sink counts samples; memory sink keeps them', async () => {
    const sink = createNullSink()
    sink.write(new Float32Array(960))
    sink.write(new Int16Array(960))
    expect(sink.samples).toBe(1920)
    await sink.close()
    const memory = createMemorySink()
    memory.write(Float32Array.of(0.5, -0.5))
    memory.write(Int16Array.of(16384))
    expect([...memory.audio()]).toEqual([0.5, -0.5, 0.5])
  })

  it('WAV file sink: a 48 kHz mono 16-bit recording of what was written', async () => {
    const path = join(dir, 'sink.wav')
    const sink = createWavFileSink(path)
    const source = createToneSource({ durationSeconds: 1.5 })
    for (let frame = source.read(); frame !== null; frame = source.read()) sink.write(frame)
    expect(sink.samples).toBe(72000)
    await sink.close()
    const wav = readWavFile(path)
    expect(wav).toMatchObject({ sampleRate: 48000, channels: 1, bitsPerSample: 16, durationSeconds: 1.5 })
    expect(Math.abs(dominantFrequency(wav.samples, SAMPLE_RATE) - 440)).toBeLessThan(0.5)
    expect(sink.truncated).toBe(false)
  })

  it('speaker sink through sox (sox required; a file stands in for the device) plays what it is given', async () => {
    requireTool('sox')
    const path = join(dir, 'speaker.wav')
    const speaker = createSpeakerSink({ outputArgs: ['-t', 'wav', path] })
    const source = createToneSource({ frequency: 1000, durationSeconds: 1 })
    for (let frame = source.read(); frame !== null; frame = source.read()) {
      speaker.write(frame)
      await new Promise(resolve => setImmediate(resolve))
    }
    await speaker.close()
    expect(speaker.dropped).toBe(0)
    const wav = readWavFile(path)
    expect(wav.sampleRate).toBe(48000)
    expect(wav.samples.length).toBe(48000)
    expect(Math.abs(dominantFrequency(wav.samples, SAMPLE_RATE) - 1000)).toBeLessThan(1)
  })

  it('speaker sink without sox: a clear error', () => {
    expect(() => withoutPath(() => createSpeakerSink())).toThrow(/speaker sink needs the sox command/)
  })
})
