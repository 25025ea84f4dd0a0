// Opus encoder choice: every Opus encoder from npm that is installed here, configured the way
// calls use Opus (48 kHz mono, 20 ms frames, VOIP application, voice signal, ~24 kbit/s VBR,
// in-band FEC on with 10% expected loss so the FEC data is actually sent, complexity 10),
// measured on the same input in the same run:
//   - speed: frames per CPU-second (what one core does, whatever else the machine runs) and
//     streams per core (that / 50), p50/p99 µs per frame;
//   - output bitrate on speech and on a tone;
//   - quality sanity: the packets decoded by opus-decoder (what calls decode with) against the
//     input: correlation and SNR on speech, dominant frequency, SNR and level on a 440 Hz tone.
// Then opus-decoder's own speed (streams per core), with @evan/opus's decoder as a reference.
// Speech is espeak-ng's voice (parsed and resampled to 48 kHz by node/media/audio) when
// espeak-ng is installed, else a synthetic voiced signal. Ratios are against opusscript
// (the wasm build most projects use), measured in the same run.
//
//   npm run bench:opus -- [--seconds 2] [--rounds 3] [--bitrate 24000] [--complexity 10] [--json]
//
// Candidates not installed are listed as such: `npm install --no-save opusscript @evan/opus
// @discordjs/opus opus-encdec` brings them all (@discordjs/opus builds from source when its
// prebuilt binary cannot be downloaded).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { OpusDecoder } from 'opus-decoder'
import { compareSignals, dominantFrequency, levelDbfs } from '../node/media/audio/analysis.js'
import { FRAME_SAMPLES, SAMPLE_RATE, floatToInt16 } from '../node/media/audio/pcm.js'
import { resample } from '../node/media/audio/resample.js'
import { findExecutable } from '../node/media/audio/sox.js'
import { parseWav } from '../node/media/audio/wav.js'
import { round, timeLoop } from './lib/measure.js'

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    bitrate: { type: 'string', default: '24000' },
    complexity: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false }
  }
})
const num = (name: 'seconds' | 'rounds' | 'bitrate' | 'complexity', min: number, max: number): number => {
  const n = Number(flags[name])
  if (Number.isFinite(n) && n >= min && n <= max) return n
  process.stderr.write(`opus-bench: --${name} must be a number in [${min}, ${max}], got ${String(flags[name])}\n`)
  process.exit(2)
}
const seconds = num('seconds', 0.1, 60)
const rounds = Math.round(num('rounds', 1, 20))
const bitrate = Math.round(num('bitrate', 6000, 510000))
const complexity = Math.round(num('complexity', 0, 10))
const EXPECTED_LOSS_PERCENT = 10
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

/** The calls' Opus settings, applied through whatever CTL function a binding offers. */
function configure (ctl: (request: number, value: number) => void): void {
  ctl(OPUS_SET_BITRATE, bitrate)
  ctl(OPUS_SET_COMPLEXITY, complexity)
  ctl(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE)
  ctl(OPUS_SET_INBAND_FEC, 1)
  ctl(OPUS_SET_PACKET_LOSS_PERC, EXPECTED_LOSS_PERCENT)
}

interface BenchEncoder {
  encode: (frame: Int16Array) => Uint8Array
  /** Settings read back from the encoder, where the binding can read them. */
  readBack?: () => { bitrate: number, fec: boolean, lookahead: number }
}
interface Candidate {
  name: string
  /** Loads the package; throws when it is not installed or does not load. */
  load: () => Promise<() => BenchEncoder>
}

interface EvanEncoder { ctl: (cmd: number, arg?: number) => number, encode: (pcm: ArrayBufferView) => Uint8Array }
type EvanEncoderClass = new (options: { channels: number, sample_rate: number, application: string }) => EvanEncoder
function evanEncoder (Encoder: EvanEncoderClass): () => BenchEncoder {
  return () => {
    const encoder = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' })
    configure((request, value) => encoder.ctl(request, value))
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
function opusscriptEncoder (wasm: boolean): () => Promise<() => BenchEncoder> {
  return async () => {
    const OpusScript = require('opusscript') as OpusScriptClass
    return () => {
      const encoder = new OpusScript(SAMPLE_RATE, 1, OPUS_APPLICATION_VOIP, { wasm })
      configure((request, value) => { encoder.encoderCTL(request, value) })
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

const candidates: Candidate[] = [
  { name: '@evan/opus (native)', load: async () => evanEncoder((require('@evan/opus/node/index.js') as { Encoder: EvanEncoderClass }).Encoder) },
  { name: '@evan/opus (wasm)', load: async () => evanEncoder((require('@evan/opus/wasm/index.js') as { Encoder: EvanEncoderClass }).Encoder) },
  {
    name: '@discordjs/opus (native)',
    load: async () => {
      const { OpusEncoder } = require('@discordjs/opus') as {
        OpusEncoder: new (rate: number, channels: number) => { encode: (pcm: Buffer) => Buffer, applyEncoderCTL: (ctl: number, value: number) => void }
      }
      return () => {
        const encoder = new OpusEncoder(SAMPLE_RATE, 1)
        encoder.applyEncoderCTL(OPUS_SET_APPLICATION, OPUS_APPLICATION_VOIP)
        configure((request, value) => { encoder.applyEncoderCTL(request, value) })
        return { encode: frame => new Uint8Array(encoder.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength))) }
      }
    }
  },
  { name: 'opusscript (wasm)', load: opusscriptEncoder(true) },
  { name: 'opusscript (asm.js)', load: opusscriptEncoder(false) },
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
        configure((request, value) => { lib.HEAP32[scratch >> 2] = value; lib._opus_encoder_ctl(encoder, request, scratch) })
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

// ---- helpers -------------------------------------------------------------------


function frames (signal: Float32Array): Int16Array[] {
  const out: Int16Array[] = []
  for (let at = 0; at + FRAME_SAMPLES <= signal.length; at += FRAME_SAMPLES) out.push(floatToInt16(signal.subarray(at, at + FRAME_SAMPLES)))
  return out
}

/** espeak-ng's voice at 48 kHz (through our WAV parser and resampler), or a synthetic voiced signal. */
function speech (): { signal: Float32Array, source: string } {
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

async function decodeAll (packets: Uint8Array[]): Promise<Float32Array> {
  const decoder = new OpusDecoder({ channels: 1 })
  await decoder.ready
  const out = new Float32Array(packets.length * FRAME_SAMPLES)
  let at = 0
  for (const packet of packets) {
    const { channelData, samplesDecoded } = decoder.decodeFrame(packet)
    out.set((channelData[0] as Float32Array).subarray(0, samplesDecoded), at)
    at += samplesDecoded
  }
  decoder.free()
  return out.subarray(0, at)
}

// ---- the run -----------------------------------------------------------------

interface EncoderResult {
  name: string
  status: 'ok' | 'not installed' | 'failed'
  error?: string
  framesPerSecond?: number
  streamsPerCore?: number
  p50us?: number
  p99us?: number
  speechKbps?: number
  toneKbps?: number
  speechCorrelation?: number
  speechSnrDb?: number
  toneHz?: number
  toneSnrDb?: number
  toneLevelDb?: number
  readBack?: { bitrate: number, fec: boolean, lookahead: number }
}

async function main (): Promise<void> {
  const cores = availableParallelism()
  const { signal: speechSignal, source: speechSource } = speech()
  const toneSignal = Float32Array.from({ length: 3 * SAMPLE_RATE }, (_, i) => 0.5 * Math.sin(2 * Math.PI * 440 * i / SAMPLE_RATE))
  const speechFrames = frames(speechSignal)
  const toneFrames = frames(toneSignal)
  const durationOf = (count: number): number => count * FRAME_SAMPLES / SAMPLE_RATE

  const results: EncoderResult[] = []
  for (const candidate of candidates) {
    let make: () => BenchEncoder
    try {
      make = await candidate.load()
    } catch (err) {
      const code = (err as { code?: string }).code
      results.push({ name: candidate.name, status: code === 'MODULE_NOT_FOUND' ? 'not installed' : 'failed', error: (err as Error).message.split('\n')[0] })
      continue
    }
    try {
      // Quality and bitrate from fresh encoders, decoded by opus-decoder.
      const speechEncoder = make()
      const speechPackets = speechFrames.map(f => speechEncoder.encode(f))
      const toneEncoder = make()
      const tonePackets = toneFrames.map(f => toneEncoder.encode(f))
      const kbps = (packets: Uint8Array[]): number => packets.reduce((n, p) => n + p.length, 0) * 8 / durationOf(packets.length) / 1000
      const speechOut = await decodeAll(speechPackets)
      const toneOut = await decodeAll(tonePackets)
      const speechCmp = compareSignals(speechSignal.subarray(0, speechOut.length), speechOut, 1000)
      const toneCmp = compareSignals(toneSignal.subarray(0, toneOut.length), toneOut, 1000)
      const steadyTone = toneOut.subarray(SAMPLE_RATE / 2, toneOut.length - SAMPLE_RATE / 4)
      // Speed: median of rounds, each a fresh encoder over the speech frames.
      const perRound: Array<ReturnType<typeof timeLoop>> = []
      for (let r = 0; r < rounds; r++) {
        const encoder = make()
        perRound.push(timeLoop(speechFrames, frame => { encoder.encode(frame) }, seconds))
      }
      perRound.sort((a, b) => a.perSecond - b.perSecond)
      const mid = perRound[Math.floor(perRound.length / 2)] as ReturnType<typeof timeLoop>
      results.push({
        name: candidate.name,
        status: 'ok',
        framesPerSecond: round(mid.perSecond, 0),
        streamsPerCore: round(mid.perSecond / 50, 0),
        p50us: round(mid.p50us, 0),
        p99us: round(mid.p99us, 0),
        speechKbps: round(kbps(speechPackets)),
        toneKbps: round(kbps(tonePackets)),
        speechCorrelation: round(speechCmp.correlation, 3),
        speechSnrDb: round(speechCmp.snrDb),
        toneHz: round(dominantFrequency(steadyTone, SAMPLE_RATE), 2),
        toneSnrDb: round(toneCmp.snrDb),
        toneLevelDb: round(levelDbfs(steadyTone) - levelDbfs(toneSignal), 2),
        readBack: speechEncoder.readBack?.()
      })
    } catch (err) {
      results.push({ name: candidate.name, status: 'failed', error: (err as Error).message })
    }
  }

  // Decoding: opus-decoder (what calls use) on the speech packets of the first working encoder.
  const reference = candidates.find(c => results.some(r => r.name === c.name && r.status === 'ok'))
  if (reference === undefined) throw new Error('no Opus encoder is installed: npm install --no-save opusscript @evan/opus')
  const referenceEncoder = (await reference.load())()
  const packets = speechFrames.map(f => referenceEncoder.encode(f))
  const decoders: Array<{ name: string, perSecond: number, p50us: number, p99us: number }> = []
  {
    const perRound: Array<ReturnType<typeof timeLoop>> = []
    for (let r = 0; r < rounds; r++) {
      const decoder = new OpusDecoder({ channels: 1 })
      await decoder.ready
      perRound.push(timeLoop(packets, packet => { decoder.decodeFrame(packet) }, seconds))
      decoder.free()
    }
    perRound.sort((a, b) => a.perSecond - b.perSecond)
    decoders.push({ name: 'opus-decoder (wasm)', ...(perRound[Math.floor(perRound.length / 2)] as ReturnType<typeof timeLoop>) })
  }
  for (const [name, path] of [['@evan/opus decoder (native)', '@evan/opus/node/index.js'], ['@evan/opus decoder (wasm)', '@evan/opus/wasm/index.js']] as const) {
    try {
      const { Decoder } = require(path) as { Decoder: new (o: { channels: number, sample_rate: number }) => { decode: (p: Uint8Array) => Uint8Array } }
      const perRound: Array<ReturnType<typeof timeLoop>> = []
      for (let r = 0; r < rounds; r++) {
        const decoder = new Decoder({ channels: 1, sample_rate: SAMPLE_RATE })
        perRound.push(timeLoop(packets, packet => { decoder.decode(packet) }, seconds))
      }
      perRound.sort((a, b) => a.perSecond - b.perSecond)
      decoders.push({ name, ...(perRound[Math.floor(perRound.length / 2)] as ReturnType<typeof timeLoop>) })
    } catch {
      // not installed: opus-decoder alone is what matters
    }
  }

  const baseline = results.find(r => r.name === 'opusscript (wasm)' && r.status === 'ok')
  const figures = {
    machine: { cores, cpu: cpus()[0]?.model ?? 'unknown', load1: round(loadavg()[0] ?? 0, 2), node: process.version },
    settings: { sampleRate: SAMPLE_RATE, channels: 1, frameMs: 20, application: 'voip', signal: 'voice', bitrate, vbr: true, fec: true, expectedLossPercent: EXPECTED_LOSS_PERCENT, complexity },
    run: { secondsPerRound: seconds, rounds, speech: speechSource, tone: '440 Hz, 0.5 peak (-6 dBFS), 3 s' },
    encoders: results,
    decoders: decoders.map(d => ({ name: d.name, framesPerSecond: round(d.perSecond, 0), streamsPerCore: round(d.perSecond / 50, 0), p50us: round(d.p50us, 0), p99us: round(d.p99us, 0) })),
    baseline: baseline?.name ?? null
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify(figures) + '\n')
    return
  }
  console.log(`voxmesh opus bench: ${cores} cores (${figures.machine.cpu}), load ${figures.machine.load1}, node ${process.version}; 48 kHz mono 20 ms, VOIP, voice, ` +
    `${bitrate / 1000} kbit/s VBR, FEC on (${EXPECTED_LOSS_PERCENT}% expected loss), complexity ${complexity}; ${rounds} rounds × ${seconds} s, medians`)
  console.log(`speech: ${speechSource}; tone: ${figures.run.tone}; decoded by opus-decoder for the quality columns`)
  const cols = ['encoder', 'frames/cpu-s', 'streams/core', `× ${baseline === undefined ? 'n/a' : 'opusscript'}`, 'p50 µs', 'p99 µs', 'kbit/s speech', 'kbit/s tone', 'speech corr', 'speech SNR dB', 'tone Hz', 'tone SNR dB', 'tone Δlevel dB']
  const widths = [26, 13, 13, 15, 8, 8, 14, 12, 12, 14, 9, 12, 15]
  const line = (cells: Array<string | number | undefined>): string => cells.map((c, i) => i === 0 ? String(c ?? '').padEnd(widths[0] as number) : String(c ?? '').padStart(widths[i] as number)).join('')
  console.log(line(cols))
  for (const r of results) {
    if (r.status !== 'ok') {
      console.log(`${r.name.padEnd(widths[0] as number)}${r.status}${r.error === undefined ? '' : `: ${r.error}`}`)
      continue
    }
    const ratio = baseline?.framesPerSecond === undefined ? undefined : round((r.framesPerSecond as number) / baseline.framesPerSecond, 2)
    console.log(line([r.name, r.framesPerSecond, r.streamsPerCore, ratio, r.p50us, r.p99us, r.speechKbps, r.toneKbps, r.speechCorrelation, r.speechSnrDb, r.toneHz, r.toneSnrDb, r.toneLevelDb]))
  }
  const readBacks = results.filter(r => r.readBack !== undefined).map(r => `${r.name}: bitrate ${r.readBack?.bitrate}, FEC ${r.readBack?.fec === true ? 'on' : 'off'}, lookahead ${r.readBack?.lookahead} samples`)
  if (readBacks.length > 0) console.log(`read back: ${readBacks.join('; ')}`)
  console.log()
  const decoderBase = decoders[0]
  console.log(line(['decoder', 'frames/cpu-s', 'streams/core', '× opus-decoder', 'p50 µs', 'p99 µs']))
  for (const d of decoders) {
    console.log(line([d.name, round(d.perSecond, 0), round(d.perSecond / 50, 0), round(d.perSecond / (decoderBase?.perSecond ?? NaN), 2), round(d.p50us, 0), round(d.p99us, 0)]))
  }
  console.log(`(decoding the speech packets of ${reference.name}. frames/cpu-s: frames per second of this process's CPU time, what one core does; ` +
    'streams per core = that / 50, a stream being 50 frames/s; p50/p99: wall time per frame)')
}

try {
  await main()
} catch (err) {
  process.stderr.write(`opus-bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
}
