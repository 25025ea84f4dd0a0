// Where a call's incoming audio goes: 20 ms frames of 48 kHz mono, as Float32 or Int16.
// A WAV recording, the speaker through `sox`, memory (tests and analysis) or nowhere.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { rmSync } from 'node:fs'
import type { Readable, Writable } from 'node:stream'
import { FRAME_SAMPLES, SAMPLE_RATE } from './pcm.js'
import { SOX_DEFAULT_DEVICE, SOX_GLOBAL_ARGS, SOX_RAW_FORMAT, requireSox } from './sox.js'
import { WavFileWriter } from './wav.js'

export interface AudioSink {
  readonly description: string
  /** Takes one frame (normally FRAME_SAMPLES samples): Float32 in [-1, 1] or Int16. Never blocks. */
  write: (frame: Float32Array | Int16Array) => void
  /** Samples written so far. */
  readonly samples: number
  /** Finishes: the recording is complete on disk, the speaker has played what it was given. */
  close: () => Promise<void>
}

/** Counts and drops. */
export function createNullSink (): AudioSink {
  let samples = 0
  return {
    description: 'null',
    get samples () { return samples },
    write (frame) { samples += frame.length },
    close: async () => {}
  }
}

export interface MemorySink extends AudioSink {
  /** Everything written, joined, as Float32. */
  audio: () => Float32Array
}

/** Keeps everything in memory, for tests and analysis (bounded by `maxSeconds`, default 10 min). */
export function createMemorySink (options: { maxSeconds?: number } = {}): MemorySink {
  const maxSamples = Math.round((options.maxSeconds ?? 600) * SAMPLE_RATE)
  const frames: Float32Array[] = []
  let samples = 0
  return {
    description: 'memory',
    get samples () { return samples },
    write (frame) {
      if (samples + frame.length > maxSamples) return
      frames.push(frame instanceof Int16Array ? Float32Array.from(frame, v => v / 32768) : frame.slice())
      samples += frame.length
    },
    audio () {
      const out = new Float32Array(samples)
      let at = 0
      for (const frame of frames) { out.set(frame, at); at += frame.length }
      return out
    },
    close: async () => {}
  }
}

/**
 * Records to a 48 kHz mono 16-bit WAV file; the file is valid (up to its last flush) even if the process dies.
 * `removeIfEmpty`: a recording that got no audio at all is deleted on close (a call that never carried audio).
 */
export function createWavFileSink (path: string, options: { removeIfEmpty?: boolean } = {}): AudioSink & { readonly truncated: boolean } {
  const writer = new WavFileWriter(path)
  return {
    description: `wav ${path}`,
    get samples () { return writer.samples },
    get truncated () { return writer.truncated },
    write (frame) { writer.write(frame) },
    close: async () => {
      writer.close()
      if (options.removeIfEmpty === true && writer.samples === 0) rmSync(path, { force: true })
    }
  }
}

/** Audio queued for sox beyond this (in bytes, 200 ms) is dropped rather than played late. */
export const SPEAKER_MAX_BUFFERED_BYTES = 10 * FRAME_SAMPLES * 2
/** close() waits this long for sox to play out and exit before killing it. */
export const SPEAKER_CLOSE_TIMEOUT_MS = 3000

export interface SpeakerOptions {
  /** sox output arguments; default the system's default device (`-d`). Tests use `['-t', 'wav', file]`. */
  outputArgs?: string[]
}

export interface SpeakerSink extends AudioSink {
  /** Frames dropped because sox could not keep up. */
  readonly dropped: number
}

/** Plays on the system's speaker through `sox -d`. Throws SoxMissingError when sox is not installed. */
export function createSpeakerSink (options: SpeakerOptions = {}): SpeakerSink {
  const sox = requireSox('The speaker sink')
  const outputArgs = options.outputArgs ?? SOX_DEFAULT_DEVICE
  const child: ChildProcessByStdio<Writable, null, Readable> = spawn(sox, [...SOX_GLOBAL_ARGS, ...SOX_RAW_FORMAT, '-', ...outputArgs], { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  let samples = 0
  let dropped = 0
  let exited = false
  let failure: Error | undefined
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
  child.stdin.on('error', () => { /* sox went away; the exit handler reports it */ })
  const exit = new Promise<void>(resolve => {
    child.once('error', err => { failure = err; exited = true; resolve() })
    child.once('close', (code, signal) => {
      exited = true
      if (code !== 0 && signal !== 'SIGKILL') failure = new Error(`sox (speaker) exited with ${code ?? signal}: ${stderr.trim()}`)
      resolve()
    })
  })
  let closing = false
  return {
    description: `speaker (sox ${outputArgs.join(' ')})`,
    get samples () { return samples },
    get dropped () { return dropped },
    write (frame) {
      if (closing || exited) return
      if (child.stdin.writableLength > SPEAKER_MAX_BUFFERED_BYTES) {
        dropped++
        return
      }
      const bytes = Buffer.alloc(frame.length * 2)
      for (let i = 0; i < frame.length; i++) {
        const v = frame instanceof Int16Array ? frame[i] as number : Math.max(-32768, Math.min(32767, Math.round((frame[i] as number) * 32767))) || 0
        bytes.writeInt16LE(v, 2 * i)
      }
      child.stdin.write(bytes)
      samples += frame.length
    },
    close: async () => {
      if (!closing) {
        closing = true
        child.stdin.end()
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), SPEAKER_CLOSE_TIMEOUT_MS)
      await exit
      clearTimeout(timer)
      if (failure !== undefined) throw failure
    }
  }
}
