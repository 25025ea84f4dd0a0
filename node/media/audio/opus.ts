// Opus for calls: 48 kHz mono, 20 ms frames (RFC 7587).
//
// Encoder: @evan/opus — libopus as a prebuilt native addon shipped inside the npm package
// (x64/arm64 Linux, macOS, Windows; no install script, no download), with the same library
// compiled to wasm as the fallback where the addon does not load. bench/opus-bench.ts chose it:
// the fastest of the encoders that install here (~4800 frames per CPU-second, about 97 streams
// per core: 2.3× opusscript and the other wasm builds, 1.6× @discordjs/opus, which also needs a
// compiler at install time here), with the same output quality.
//
// Decoder: opus-decoder (libopus in wasm). Its API decodes whole packets only: no in-band FEC
// (libopus' decode_fec flag is not exposed), but an empty packet runs libopus' packet-loss
// concealment for 120 ms at once. decodeMissing() serves that concealment 20 ms at a time
// (libopus fades it out over a long gap by itself), and the first good frame after a gap is
// cross-faded from the concealment's continuation, so the seam does not click. The encoder still
// sends FEC data (peers with a full libopus, browsers among them, recover frames from it).
import { createRequire } from 'node:module'
import { OpusDecoder as WasmOpusDecoder } from 'opus-decoder'
import { FRAME_SAMPLES, SAMPLE_RATE } from './pcm.js'
import { OpusPacketError, parseOpusPacket } from './opus-packet.js'

// libopus request numbers (opus_defines.h).
const OPUS_SET_BITRATE = 4002
const OPUS_GET_BITRATE = 4003
const OPUS_SET_COMPLEXITY = 4010
const OPUS_SET_INBAND_FEC = 4012
const OPUS_GET_INBAND_FEC = 4013
const OPUS_SET_PACKET_LOSS_PERC = 4014
const OPUS_GET_PACKET_LOSS_PERC = 4015
const OPUS_SET_DTX = 4016
const OPUS_SET_SIGNAL = 4024
const OPUS_SIGNAL_VOICE = 3001
const OPUS_GET_LOOKAHEAD = 4027

export const OPUS_DEFAULT_BITRATE = 24_000
export const OPUS_MIN_BITRATE = 6_000
export const OPUS_MAX_BITRATE = 128_000
/** Expected loss the encoder plans FEC for until told the measured loss (libopus sends no FEC at 0%). */
export const OPUS_DEFAULT_EXPECTED_LOSS_PERCENT = 10
export const OPUS_DEFAULT_COMPLEXITY = 10
/** opus-decoder copies a packet into an input buffer of this size (mono): larger packets are refused. */
export const OPUS_DECODER_MAX_PACKET_BYTES = 3840
/** libopus conceals this much per call on an empty packet. */
const PLC_CHUNK_SAMPLES = 5760
/** Cross-fade from concealment into the first good frame after a gap: 5 ms. */
export const OPUS_CONCEALMENT_CROSSFADE_SAMPLES = 240

interface RawEncoder {
  ctl: (request: number, value?: number) => number
  encode: (pcm: ArrayBufferView) => Uint8Array
  /** wasm build only. */
  drop?: () => void
}
type RawEncoderClass = new (options: { channels: number, sample_rate: number, application: 'voip' }) => RawEncoder

const require = createRequire(import.meta.url)
let loaded: { Encoder: RawEncoderClass, backend: 'native' } | undefined

let wasmEncoder: RawEncoderClass | undefined

export type OpusEncoderBackend = 'native' | 'wasm'

/**
 * @evan/opus's native addon, or its wasm build when asked for, when the addon does not load on
 * this platform, or when OPUS_FORCE_WASM is set (as @evan/opus itself reads it).
 */
function loadEncoderLibrary (wanted: OpusEncoderBackend | 'auto'): { Encoder: RawEncoderClass, backend: OpusEncoderBackend } {
  if (wanted !== 'wasm' && (wanted === 'native' || process.env.OPUS_FORCE_WASM === undefined)) {
    if (loaded === undefined) {
      try {
        loaded = { Encoder: (require('@evan/opus/node/index.js') as { Encoder: RawEncoderClass }).Encoder, backend: 'native' }
      } catch (err) {
        if (wanted === 'native') throw new Error(`the native Opus encoder does not load here: ${(err as Error).message}`)
      }
    }
    if (loaded !== undefined) return loaded
  }
  wasmEncoder ??= (require('@evan/opus/wasm/index.js') as { Encoder: RawEncoderClass }).Encoder
  return { Encoder: wasmEncoder, backend: 'wasm' }
}

export interface OpusEncoderOptions {
  /** Target bitrate in bit/s (VBR). Default 24 kbit/s. */
  bitrate?: number
  /** In-band forward error correction (LBRR). Calls use it. */
  fec: boolean
  /** The loss rate FEC is planned for, in percent. Default 10; set it from measured loss as a call goes. */
  expectedLossPercent?: number
  /** 0–10; default 10. */
  complexity?: number
  /** Discontinuous transmission (tiny packets in silence). Default off. */
  dtx?: boolean
  /** 'auto' (default): the native addon where it loads, else wasm. */
  backend?: OpusEncoderBackend | 'auto'
}

export interface OpusEncoder {
  readonly backend: OpusEncoderBackend
  /** Samples of look-ahead the encoder adds to the delay (312 at 48 kHz in VOIP mode). */
  readonly lookaheadSamples: number
  /** Encodes one 20 ms frame (FRAME_SAMPLES Int16 samples) into one packet. */
  encode: (frame: Int16Array) => Uint8Array
  setBitrate: (bitsPerSecond: number) => void
  setExpectedLoss: (percent: number) => void
  /** What the encoder reports it is set to. */
  settings: () => { bitrate: number, fec: boolean, expectedLossPercent: number }
  /** Releases the encoder (wasm memory; the native one is also freed by the garbage collector). Later encodes throw. */
  close: () => void
}

function checkedInteger (name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`)
  return Math.round(value)
}

/** An Opus encoder set up for calls: 48 kHz mono, VOIP application, voice signal, VBR. */
export function createOpusEncoder (options: OpusEncoderOptions): OpusEncoder {
  const { Encoder, backend } = loadEncoderLibrary(options.backend ?? 'auto')
  const encoder = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' })
  const set = (request: number, value: number): void => { encoder.ctl(request, value) }
  set(OPUS_SET_BITRATE, checkedInteger('bitrate', options.bitrate ?? OPUS_DEFAULT_BITRATE, OPUS_MIN_BITRATE, OPUS_MAX_BITRATE))
  set(OPUS_SET_COMPLEXITY, checkedInteger('complexity', options.complexity ?? OPUS_DEFAULT_COMPLEXITY, 0, 10))
  set(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE)
  set(OPUS_SET_INBAND_FEC, options.fec ? 1 : 0)
  set(OPUS_SET_PACKET_LOSS_PERC, checkedInteger('expectedLossPercent', options.expectedLossPercent ?? OPUS_DEFAULT_EXPECTED_LOSS_PERCENT, 0, 100))
  set(OPUS_SET_DTX, options.dtx === true ? 1 : 0)
  const lookaheadSamples = encoder.ctl(OPUS_GET_LOOKAHEAD)
  let closed = false
  return {
    backend,
    lookaheadSamples,
    encode (frame) {
      if (closed) throw new Error('Opus encoder used after close()')
      if (frame.length !== FRAME_SAMPLES) throw new RangeError(`Opus encoder: a frame is ${FRAME_SAMPLES} samples, got ${frame.length}`)
      return encoder.encode(frame)
    },
    setBitrate (bitsPerSecond) { set(OPUS_SET_BITRATE, checkedInteger('bitrate', bitsPerSecond, OPUS_MIN_BITRATE, OPUS_MAX_BITRATE)) },
    setExpectedLoss (percent) { set(OPUS_SET_PACKET_LOSS_PERC, checkedInteger('expectedLossPercent', percent, 0, 100)) },
    settings: () => ({
      bitrate: encoder.ctl(OPUS_GET_BITRATE),
      fec: encoder.ctl(OPUS_GET_INBAND_FEC) === 1,
      expectedLossPercent: encoder.ctl(OPUS_GET_PACKET_LOSS_PERC)
    }),
    close () {
      if (closed) return
      closed = true
      encoder.drop?.()
    }
  }
}

export interface OpusDecoderStats {
  /** Packets decoded. */
  decoded: number
  /** 20 ms frames made up by concealment (lost packets and refused ones). */
  concealed: number
  /** Packets refused as malformed (RFC 6716 R1–R7, too large, or refused by libopus); concealed instead. */
  corrupt: number
  /** Concealed frames for which the next packet was at hand (a decoder with FEC would have used it). */
  fecAvailable: number
}

export interface OpusDecoder {
  /** Decodes one packet: FRAME_SAMPLES samples for a 20 ms packet (a peer's 40 ms packet gives 1920). A malformed one is concealed. */
  decode: (packet: Uint8Array) => Int16Array
  /** 20 ms of concealment for a lost packet. `nextPacket`, when at hand, is noted (opus-decoder cannot decode FEC). */
  decodeMissing: (nextPacket?: Uint8Array) => Int16Array
  readonly stats: OpusDecoderStats
  /** Frees the wasm memory; later calls throw. Safe to call twice. */
  close: () => void
}

function toInt16 (samples: Float32Array, out: Int16Array, at = 0): void {
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round((samples[i] as number) * 32767)
    out[at + i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v
  }
}

/** An opus-decoder instance, ready (its wasm compiled), for one incoming stream. */
export async function createOpusDecoder (): Promise<OpusDecoder> {
  const decoder = new WasmOpusDecoder({ channels: 1, sampleRate: SAMPLE_RATE })
  await decoder.ready
  const stats: OpusDecoderStats = { decoded: 0, concealed: 0, corrupt: 0, fecAvailable: 0 }
  // Concealment made by libopus and not yet played: continues what was played last.
  let plc: Float32Array | undefined
  let plcOffset = 0
  let freed = false

  const conceal = (): Int16Array => {
    if (plc === undefined || plcOffset + FRAME_SAMPLES > plc.length) {
      const { channelData, samplesDecoded } = decoder.decodeFrame(new Uint8Array(0))
      plc = samplesDecoded >= FRAME_SAMPLES ? (channelData[0] as Float32Array).slice(0, Math.min(samplesDecoded, PLC_CHUNK_SAMPLES)) : new Float32Array(FRAME_SAMPLES)
      plcOffset = 0
    }
    const out = new Int16Array(FRAME_SAMPLES)
    toInt16(plc.subarray(plcOffset, plcOffset + FRAME_SAMPLES), out)
    plcOffset += FRAME_SAMPLES
    stats.concealed++
    return out
  }

  const assertLive = (): void => { if (freed) throw new Error('Opus decoder used after close()') }

  return {
    stats,
    decode (packet) {
      assertLive()
      try {
        parseOpusPacket(packet)
        if (packet.length > OPUS_DECODER_MAX_PACKET_BYTES) throw new OpusPacketError(`packet of ${packet.length} bytes`)
      } catch (err) {
        if (!(err instanceof OpusPacketError)) throw err
        stats.corrupt++
        return conceal()
      }
      const { channelData, samplesDecoded } = decoder.decodeFrame(packet)
      if (samplesDecoded === 0) {
        stats.corrupt++
        return conceal()
      }
      stats.decoded++
      const decoded = (channelData[0] as Float32Array).subarray(0, samplesDecoded)
      if (plc !== undefined) {
        // The first frame after a gap: fade from the concealment's continuation into it.
        const from = plc.subarray(plcOffset, plcOffset + OPUS_CONCEALMENT_CROSSFADE_SAMPLES)
        const n = Math.min(from.length, decoded.length)
        for (let i = 0; i < n; i++) {
          const w = 0.5 - 0.5 * Math.cos(Math.PI * (i + 0.5) / n)
          decoded[i] = w * (decoded[i] as number) + (1 - w) * (from[i] as number)
        }
        plc = undefined
      }
      const out = new Int16Array(samplesDecoded)
      toInt16(decoded, out)
      return out
    },
    decodeMissing (nextPacket) {
      assertLive()
      if (nextPacket !== undefined) stats.fecAvailable++
      return conceal()
    },
    close () {
      if (freed) return
      freed = true
      decoder.free()
    }
  }
}
