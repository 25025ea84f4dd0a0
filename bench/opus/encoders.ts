// The Opus encoders the bench compares, each configured the way calls use Opus through whatever
// CTL function its binding offers. Packages not installed fail to load and are listed as such.
import { createRequire } from 'node:module'
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../node/index.js'

/** In-band FEC is on with this expected loss, so the FEC data is actually sent. */
export const EXPECTED_LOSS_PERCENT = 10
const require = createRequire(import.meta.url)

// ---- libopus CTL numbers (opus_defines.h) -------------------------------------
const OPUS_APPLICATION_VOIP = 2048
const OPUS_SET_APPLICATION = 4000
const OPUS_SET_BITRATE = 4002
const OPUS_GET_BITRATE = 4003
const OPUS_SET_COMPLEXITY = 4010
const OPUS_SET_INBAND_FEC = 4012
const OPUS_GET_INBAND_FEC = 4013
const OPUS_SET_PACKET_LOSS_PERC = 4014
const OPUS_SET_SIGNAL = 4024
const OPUS_SIGNAL_VOICE = 3001
const OPUS_GET_LOOKAHEAD = 4027

/** What the bench varies of the calls' Opus settings (--bitrate, --complexity). */
export interface EncoderSettings { bitrate: number, complexity: number }

/** The calls' Opus settings, applied through whatever CTL function a binding offers. */
function configure (settings: EncoderSettings, ctl: (request: number, value: number) => void): void {
  ctl(OPUS_SET_BITRATE, settings.bitrate)
  ctl(OPUS_SET_COMPLEXITY, settings.complexity)
  ctl(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE)
  ctl(OPUS_SET_INBAND_FEC, 1)
  ctl(OPUS_SET_PACKET_LOSS_PERC, EXPECTED_LOSS_PERCENT)
}

export interface BenchEncoder {
  encode: (frame: Int16Array) => Uint8Array
  /** Settings read back from the encoder, where the binding can read them. */
  readBack?: () => { bitrate: number, fec: boolean, lookahead: number }
}
export interface Candidate {
  name: string
  /** Loads the package; throws when it is not installed or does not load. */
  load: () => Promise<() => BenchEncoder>
}

interface EvanEncoder { ctl: (cmd: number, arg?: number) => number, encode: (pcm: ArrayBufferView) => Uint8Array }
type EvanEncoderClass = new (options: { channels: number, sample_rate: number, application: string }) => EvanEncoder
function evanEncoder (settings: EncoderSettings, Encoder: EvanEncoderClass): () => BenchEncoder {
  return () => {
    const encoder = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' })
    configure(settings, (request, value) => encoder.ctl(request, value))
    return {
      // The binding returns a view of its own output buffer: copy it.
      encode: frame => new Uint8Array(encoder.encode(frame)),
      readBack: () => ({ bitrate: encoder.ctl(OPUS_GET_BITRATE), fec: encoder.ctl(OPUS_GET_INBAND_FEC) === 1, lookahead: encoder.ctl(OPUS_GET_LOOKAHEAD) })
    }
  }
}

interface OpusScriptInstance {
  encode: (pcm: Buffer, frameSize: number) => Uint8Array
  encoderCTL: (ctl: number, arg: number) => void
}
type OpusScriptClass = new (rate: number, channels: number, application: number, options: { wasm: boolean }) => OpusScriptInstance
function opusscriptEncoder (settings: EncoderSettings, wasm: boolean): () => Promise<() => BenchEncoder> {
  return async () => {
    const OpusScript = require('opusscript') as OpusScriptClass
    return () => {
      const encoder = new OpusScript(SAMPLE_RATE, 1, OPUS_APPLICATION_VOIP, { wasm })
      configure(settings, (request, value) => { encoder.encoderCTL(request, value) })
      // opusscript wants the PCM as bytes (an Int16Array is silently misread: every sample lands twice).
      return { encode: frame => new Uint8Array(encoder.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), FRAME_SAMPLES)) }
    }
  }
}

interface EmscriptenOpus {
  isReady: boolean
  onready: (() => void) | null
  _malloc: (n: number) => number
  _free: (p: number) => void
  _opus_encoder_create: (rate: number, channels: number, application: number, errorPtr: number) => number
  _opus_encoder_ctl: (encoder: number, request: number, varargs: number) => number
  _opus_encode_float: (encoder: number, pcm: number, frameSize: number, out: number, maxBytes: number) => number
  HEAP32: Int32Array
  HEAPF32: Float32Array
  HEAPU8: Uint8Array
}

/** Every Opus encoder from npm the bench knows, each loaded only when measured. */
export function encoderCandidates (settings: EncoderSettings): Candidate[] {
  return [
    { name: '@evan/opus (native)', load: async () => evanEncoder(settings, (require('@evan/opus/node/index.js') as { Encoder: EvanEncoderClass }).Encoder) },
    { name: '@evan/opus (wasm)', load: async () => evanEncoder(settings, (require('@evan/opus/wasm/index.js') as { Encoder: EvanEncoderClass }).Encoder) },
    {
      name: '@discordjs/opus (native)',
      load: async () => {
        const { OpusEncoder } = require('@discordjs/opus') as {
          OpusEncoder: new (rate: number, channels: number) => { encode: (pcm: Buffer) => Buffer, applyEncoderCTL: (ctl: number, value: number) => void }
        }
        return () => {
          const encoder = new OpusEncoder(SAMPLE_RATE, 1)
          encoder.applyEncoderCTL(OPUS_SET_APPLICATION, OPUS_APPLICATION_VOIP)
          configure(settings, (request, value) => { encoder.applyEncoderCTL(request, value) })
          return { encode: frame => new Uint8Array(encoder.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength))) }
        }
      }
    },
    { name: 'opusscript (wasm)', load: opusscriptEncoder(settings, true) },
    { name: 'opusscript (asm.js)', load: opusscriptEncoder(settings, false) },
    {
      name: 'opus-encdec (wasm)',
      load: async () => {
        const lib = require('opus-encdec/dist/libopus-encoder.wasm.js') as EmscriptenOpus
        if (!lib.isReady) await new Promise<void>(resolve => { lib.onready = resolve })
        return () => {
          const scratch = lib._malloc(4)
          const encoder = lib._opus_encoder_create(SAMPLE_RATE, 1, OPUS_APPLICATION_VOIP, scratch)
          if (lib.HEAP32[scratch >> 2] !== 0) throw new Error(`opus_encoder_create failed: ${lib.HEAP32[scratch >> 2]}`)
          // opus_encoder_ctl is variadic: its argument goes through a pointer.
          configure(settings, (request, value) => { lib.HEAP32[scratch >> 2] = value; lib._opus_encoder_ctl(encoder, request, scratch) })
          const pcm = lib._malloc(FRAME_SAMPLES * 4)
          const out = lib._malloc(4000)
          return {
            encode: frame => {
              const heap = lib.HEAPF32.subarray(pcm >> 2, (pcm >> 2) + FRAME_SAMPLES)
              for (let i = 0; i < FRAME_SAMPLES; i++) heap[i] = (frame[i] as number) / 32768
              const n = lib._opus_encode_float(encoder, pcm, FRAME_SAMPLES, out, 4000)
              if (n < 0) throw new Error(`opus_encode_float failed: ${n}`)
              return lib.HEAPU8.slice(out, out + n)
            }
          }
        }
      }
    }
  ]
}
