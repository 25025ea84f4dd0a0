// Where a call's outgoing audio comes from: 20 ms frames of 48 kHz mono (FRAME_SAMPLES Float32
// samples in [-1, 1]), pulled by the sender on its own clock. Tone, silence and WAV sources are
// pure computation; the microphone is a `sox` process whose frames wait in a short queue.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { FRAME_SAMPLES, FrameChunker, SAMPLE_RATE, floatToInt16 } from './pcm.js'
import { Resampler } from './resample.js'
import { SOX_DEFAULT_DEVICE, SOX_GLOBAL_ARGS, SOX_RAW_FORMAT, requireSox } from './sox.js'
import { readWavFile, type ParsedWav } from './wav.js'

export interface AudioSource {
  /** What it plays, for logs and status: "tone 440 Hz -6 dBFS", "wav greeting.wav (44100 Hz, looped)". */
  readonly description: string
  /** The next 20 ms frame (FRAME_SAMPLES samples, 48 kHz mono), or null once the source has ended. */
  read: () => Float32Array | null
  /** Releases what the source holds (a process for the microphone). Later reads return null. */
  close: () => void
}

/** The next frame as Int16 (what the Opus encoder takes), or null at the end. */
export function readInt16Frame (source: AudioSource): Int16Array | null {
  const frame = source.read()
  return frame === null ? null : floatToInt16(frame)
}

/** How many 20 ms frames a duration covers (rounded up). Infinity stays Infinity. */
function framesFor (seconds: number | undefined): number {
  if (seconds === undefined || seconds === Infinity) return Infinity
  if (!(seconds >= 0)) throw new RangeError(`duration must be a non-negative number of seconds, got ${seconds}`)
  return Math.ceil(seconds * SAMPLE_RATE / FRAME_SAMPLES - 1e-9)
}

export interface ToneOptions {
  /** Hz, 0 < frequency < 24000. Default 440. */
  frequency?: number
  /** Peak level in dBFS (0 = full-scale sine; AES17, as analysis.levelDbfs reads it). Default -6. */
  levelDbfs?: number
  /** Seconds before the source ends; default endless. */
  durationSeconds?: number
}

/** A sine tone, phase-continuous across frames. */
export function createToneSource (options: ToneOptions = {}): AudioSource {
  const frequency = options.frequency ?? 440
  const levelDbfs = options.levelDbfs ?? -6
  if (!(frequency > 0 && frequency < SAMPLE_RATE / 2)) throw new RangeError(`tone frequency must be between 0 and ${SAMPLE_RATE / 2} Hz, got ${frequency}`)
  if (!(levelDbfs <= 0)) throw new RangeError(`tone level must be at most 0 dBFS, got ${levelDbfs}`)
  const amplitude = 10 ** (levelDbfs / 20)
  let remaining = framesFor(options.durationSeconds)
  // Phase in cycles, kept in [0, 1) so hours of tone stay exact.
  let phase = 0
  const step = frequency / SAMPLE_RATE
  return {
    description: `tone ${frequency} Hz ${levelDbfs} dBFS`,
    read () {
      if (remaining <= 0) return null
      remaining--
      const frame = new Float32Array(FRAME_SAMPLES)
      for (let i = 0; i < FRAME_SAMPLES; i++) {
        frame[i] = amplitude * Math.sin(2 * Math.PI * phase)
        phase += step
        if (phase >= 1) phase -= 1
      }
      return frame
    },
    close () { remaining = 0 }
  }
}

/** Digital silence, endless or for a while. */
export function createSilenceSource (options: { durationSeconds?: number } = {}): AudioSource {
  let remaining = framesFor(options.durationSeconds)
  return {
    description: 'silence',
    read () {
      if (remaining <= 0) return null
      remaining--
      return new Float32Array(FRAME_SAMPLES)
    },
    close () { remaining = 0 }
  }
}

/** Input samples resampled per step: about 85 ms at 48 kHz. */
const RESAMPLE_CHUNK = 4096

export interface SampleSourceOptions {
  /** Start again from the beginning at the end (seamlessly: the resampler sees one long signal). */
  loop?: boolean
  description?: string
}

/**
 * Plays mono samples at any rate, resampled to 48 kHz as frames are read. Without `loop` the last
 * frame is padded with silence and then the source ends.
 */
export function createSampleSource (samples: Float32Array, sampleRate: number, options: SampleSourceOptions = {}): AudioSource {
  const loop = options.loop === true && samples.length > 0
  const resampler = new Resampler(sampleRate)
  const chunker = new FrameChunker()
  const ready: Float32Array[] = []
  let position = 0
  let ended = false
  let closed = false
  const refill = (): void => {
    while (ready.length === 0 && !ended) {
      if (position >= samples.length) {
        if (loop) {
          position = 0
          continue
        }
        ready.push(...chunker.push(resampler.flush()))
        const last = chunker.flush()
        if (last !== null) ready.push(last)
        ended = true
        break
      }
      const chunk = samples.subarray(position, position + RESAMPLE_CHUNK)
      position += chunk.length
      ready.push(...chunker.push(resampler.process(chunk)))
    }
  }
  return {
    description: options.description ?? `samples (${sampleRate} Hz${loop ? ', looped' : ''})`,
    read () {
      if (closed) return null
      refill()
      return ready.shift() ?? null
    },
    close () { closed = true }
  }
}

/** A parsed WAV file as a source (resampled from its rate; its channels were averaged to mono). */
export function createWavSource (wav: ParsedWav, options: SampleSourceOptions = {}): AudioSource {
  return createSampleSource(wav.samples, wav.sampleRate, {
    loop: options.loop,
    description: options.description ?? `wav (${wav.sampleRate} Hz, ${wav.channels} ch${options.loop === true ? ', looped' : ''})`
  })
}

/** Reads a WAV file (any common rate, 1–8 channels) and plays it. Throws WavFormatError for a file it cannot read. */
export function createWavFileSource (path: string, options: { loop?: boolean } = {}): AudioSource {
  const wav = readWavFile(path)
  return createWavSource(wav, { loop: options.loop, description: `wav ${path} (${wav.sampleRate} Hz, ${wav.channels} ch${options.loop === true ? ', looped' : ''})` })
}

// ---- the microphone --------------------------------------------------------

/** Frames the microphone queue holds (200 ms); beyond it the oldest are dropped, so delay stays bounded. */
export const MICROPHONE_MAX_QUEUED_FRAMES = 10
/** stderr kept from the sox process for error messages. */
const STDERR_TAIL_CHARS = 2000

export interface MicrophoneOptions {
  /** sox input arguments; default the system's default device (`-d`). Tests use `['-n']` with `effects`. */
  inputArgs?: string[]
  /** sox effects after the output, e.g. `['synth', '1', 'sine', '440']`. */
  effects?: string[]
}

export interface MicrophoneSource extends AudioSource {
  /** Frames read while the queue was empty (answered with silence). */
  readonly underruns: number
  /** Frames dropped because the reader fell behind by more than the queue. */
  readonly overruns: number
  /** Resolves when sox has exited (with its code and the end of its stderr). */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null, stderr: string }>
}

/**
 * The system microphone through `sox -d` (48 kHz mono 16-bit raw on its stdout). Throws
 * SoxMissingError when sox is not installed. read() never waits: before the first audio and on
 * an underrun it answers silence; after sox exits and the queue drains it answers null.
 */
export function createMicrophoneSource (options: MicrophoneOptions = {}): MicrophoneSource {
  const sox = requireSox('The microphone source')
  const args = [...SOX_GLOBAL_ARGS, ...(options.inputArgs ?? SOX_DEFAULT_DEVICE), ...SOX_RAW_FORMAT, '-', ...(options.effects ?? [])]
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(sox, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const chunker = new FrameChunker()
  const queue: Float32Array[] = []
  let carry: number | undefined // a byte of a sample split across chunks
  let underruns = 0
  let overruns = 0
  let done = false
  let closed = false
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    let bytes: Uint8Array = chunk
    if (carry !== undefined) {
      const joined = new Uint8Array(chunk.length + 1)
      joined[0] = carry
      joined.set(chunk, 1)
      bytes = joined
      carry = undefined
    }
    if ((bytes.length & 1) === 1) {
      carry = bytes[bytes.length - 1]
      bytes = bytes.subarray(0, bytes.length - 1)
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const samples = new Float32Array(bytes.length / 2)
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true) / 32768
    for (const frame of chunker.push(samples)) {
      queue.push(frame)
      if (queue.length > MICROPHONE_MAX_QUEUED_FRAMES) {
        queue.shift()
        overruns++
      }
    }
  })
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL_CHARS) })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, stderr: string }>(resolve => {
    let settled = false
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return
      settled = true
      done = true
      const last = chunker.flush()
      if (last !== null && !closed) queue.push(last)
      resolve({ code, signal, stderr })
    }
    child.once('error', err => { stderr += String(err); finish(null, null) })
    child.once('close', finish)
  })
  return {
    description: `microphone (sox ${(options.inputArgs ?? SOX_DEFAULT_DEVICE).join(' ')})`,
    get underruns () { return underruns },
    get overruns () { return overruns },
    exited,
    read () {
      if (closed) return null
      const frame = queue.shift()
      if (frame !== undefined) return frame
      if (done) return null
      underruns++
      return new Float32Array(FRAME_SAMPLES)
    },
    close () {
      if (closed) return
      closed = true
      queue.length = 0
      if (!done) child.kill('SIGTERM')
    }
  }
}
