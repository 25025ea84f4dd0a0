// Mouth-to-ear latency the call audio pipeline adds, on a simulated network: for each sample,
// the time from when it was spoken to when its decoded frame goes to the sink, minus the
// network's fixed path delay (taken as 0 here). It is made of
//   framing (20 ms: a frame's first sample waits for its last) + the encoder's look-ahead
//   (6.5 ms, read from the encoder and checked against the decoded audio) + encode time (real,
//   measured as this process's CPU time, so other load on the machine does not leak in) +
//   network jitter + the jitter buffer's wait + decode time (real CPU time likewise).
// The network adds a uniformly random 0..J ms to each packet (J = 0, 10, 30 by default; beyond
// 20 ms this reorders packets); the receiver pops as call-audio.ts does, at the times the jitter
// buffer sets (its start, then every 20 ms less any skip); runs differ in the network's random
// draws. Everything but the codec runs on a virtual clock, so the figures are exact and the
// run is quick. The J = 0 row is the baseline the others are compared with.
//
//   npm run bench:opus   (runs bench/opus/, then this)
//   node dist/bench/audio-pipeline-bench.js [--jitter 0,10,30] [--seconds 30] [--loss 0] [--json]
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compareSignals } from '../node/index.js'
import { JitterBuffer, skipWithCrossFade } from '../node/index.js'
import { createOpusDecoder, createOpusEncoder } from '../node/index.js'
import { FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, floatToInt16, int16ToFloat } from '../node/index.js'
import { resample } from '../node/index.js'
import { findExecutable } from '../node/index.js'
import { parseWav } from '../node/index.js'
import { seededRandom } from '../common/random.js'

/** What one run measures; the flags of this script, or bench/calls/main.ts, set them. */
export interface PipelineOptions {
  /** Network jitter levels J (ms), one row each; the first is the baseline of the ratios. */
  jitterLevels: number[]
  /** Seconds of audio per run. */
  seconds: number
  /** Runs per row, each with its own network draws (once receiver pop phases, hence the name). */
  phases: number
  lossPercent: number
}

/** Nearest-rank percentile of an ascending array, p in 0..100. */
function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}
const round = (n: number, digits = 1): number => Number(n.toFixed(digits))
/** CPU time (user + system, ms) this process spent since `start`: other load on the machine does not count. */
const cpuMs = (start: NodeJS.CpuUsage): number => { const d = process.cpuUsage(start); return (d.user + d.system) / 1000 }

/** Test speech at 48 kHz: espeak-ng's voice when installed, else a synthetic voiced signal. */
export function speech (): { signal: Float32Array, source: string } {
  const espeak = findExecutable('espeak-ng')
  if (espeak !== null) {
    const dir = mkdtempSync(join(tmpdir(), 'voxmesh-pipeline-bench-'))
    try {
      const file = join(dir, 'speech.wav')
      const text = 'Hello, this is a voice call over the voxmesh network. The quick brown fox jumps over the lazy dog.'
      if (spawnSync(espeak, ['-v', 'en-us', '-s', '150', '-w', file, text]).status === 0) {
        const wav = parseWav(readFileSync(file))
        return { signal: resample(wav.samples, wav.sampleRate), source: 'espeak-ng speech, looped' }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const signal = Float32Array.from({ length: 4 * SAMPLE_RATE }, (_, i) => {
    const t = i / SAMPLE_RATE
    return 0.3 * Math.sin(2 * Math.PI * 220 * t + 3 * Math.sin(2 * Math.PI * 3 * t)) * Math.max(0, Math.sin(2 * Math.PI * 4 * t))
  })
  return { signal, source: 'synthetic voiced signal (espeak-ng not installed), looped' }
}

export interface Row {
  jitterMs: number
  frames: number
  total: { p50: number, p99: number, max: number }
  encode: { p50: number, p99: number }
  network: { p50: number, p99: number }
  buffer: { p50: number, p99: number }
  decode: { p50: number, p99: number }
  concealedPercent: number
  latePercent: number
  discarded: number
  measuredJitterMs: number
  finalTargetMs: number
}

const stat = (xs: number[]): { p50: number, p99: number } => {
  const s = [...xs].sort((a, b) => a - b)
  return { p50: round(percentile(s, 50), 2), p99: round(percentile(s, 99), 2) }
}

interface InFlight { k: number, arrival: number, sent: number, payload: Uint8Array }

/**
 * The sender and the network: frame k is complete at (k + 1) × 20 ms, encoded (real time), sent,
 * delayed by the network (or lost). Returns the packets in arrival order; pushes encode and network times.
 */
function sendAll (input: Float32Array, frameCount: number, encoder: ReturnType<typeof createOpusEncoder>, random: () => number,
  lossPercent: number, jitterMs: number, encodes: number[], networks: number[]): InFlight[] {
  const inFlight: InFlight[] = []
  for (let k = 0; k < frameCount; k++) {
    const at = (k * FRAME_SAMPLES) % (input.length - FRAME_SAMPLES)
    const pcm = floatToInt16(input.subarray(at, at + FRAME_SAMPLES))
    const t0 = process.cpuUsage()
    const payload = encoder.encode(pcm)
    const encodeMs = cpuMs(t0)
    encodes.push(encodeMs)
    const sent = (k + 1) * FRAME_MS + encodeMs
    if (random() * 100 < lossPercent) continue
    const arrival = sent + random() * jitterMs
    networks.push(arrival - sent)
    inFlight.push({ k, arrival, sent, payload })
  }
  return inFlight.sort((a, b) => a.arrival - b.arrival)
}

async function runLevel (options: PipelineOptions, jitterMs: number, input: Float32Array, lookaheadMs: number): Promise<{ row: Row, output?: Float32Array }> {
  const { seconds, phases: phaseCount, lossPercent } = options
  const frameCount = Math.round(seconds * 1000 / FRAME_MS)
  const totals: number[] = []
  const encodes: number[] = []
  const networks: number[] = []
  const waits: number[] = []
  const decodes: number[] = []
  let concealedTotal = 0
  let late = 0
  let discarded = 0
  let measuredJitter = 0
  let finalTarget = 0
  let output: Float32Array | undefined
  for (let phaseIndex = 0; phaseIndex < phaseCount; phaseIndex++) {
    const random = seededRandom(1000 + phaseIndex)
    let concealed = 0
    const encoder = createOpusEncoder({ fec: true })
    const decoder = await createOpusDecoder()
    const buffer = new JitterBuffer()
    const inFlight = sendAll(input, frameCount, encoder, random, lossPercent, jitterMs, encodes, networks)
    const arrivalOf = new Map<number, number>()
    const decoded: Int16Array[] = []
    // Concealment counts while the stream lasts: up to the pop of its last packet.
    let concealedSoFar = 0
    let next = 0
    // Receiver, as call-audio.ts plays: the jitter buffer sets the playout's phase. While it does
    // not play, the first pop is due at playoutStartMs(); then one pop every 20 ms until the
    // stream pauses ('empty'). Events run in time order, arrivals first at equal times.
    let nextPop: number | undefined
    let silentFrom = 0 // start of the output gap before the (next) playout start, to fill with silence
    const lastPop = (frameCount + 20) * FRAME_MS
    for (;;) {
      const arrival = next < inFlight.length ? (inFlight[next] as InFlight).arrival : Infinity
      const popAt = nextPop ?? (buffer.playoutStartMs() ?? Infinity)
      if (arrival === Infinity && popAt === Infinity) break
      if (arrival <= popAt) {
        const { k, payload } = inFlight[next++] as InFlight
        arrivalOf.set(k, arrival)
        if (buffer.push(k & 0xFFFF, (k * FRAME_SAMPLES) >>> 0, payload, arrival) === 'restarted' && nextPop !== undefined) {
          silentFrom = nextPop // the buffer stopped playing (resync): the playout starts again at its new phase
          nextPop = undefined
        }
        continue
      }
      const now = nextPop === undefined ? Math.max(popAt, silentFrom) : popAt
      if (now >= lastPop) break
      const out = buffer.pop(now)
      if (out.kind === 'empty') {
        nextPop = undefined
        silentFrom = now
        continue
      }
      // The sink's output is continuous: a gap before a playout (re)start is silence, whole frames.
      if (nextPop === undefined && decoded.length > 0) {
        for (let gap = silentFrom; gap < now; gap += FRAME_MS) decoded.push(new Int16Array(FRAME_SAMPLES))
      }
      // Now and then the buffer brings the playout forward: the frame loses its first skipMs
      // (cross-faded over the seam, as the call's playout does) and the next pop comes that much sooner.
      const skipMs = out.kind === 'packet' ? out.skipMs ?? 0 : 0
      nextPop = now + FRAME_MS - skipMs
      const t0 = process.cpuUsage()
      const pcm = out.kind === 'packet' ? decoder.decode(out.payload) : decoder.decodeMissing(out.nextPayload)
      const decodeMs = cpuMs(t0)
      decodes.push(decodeMs)
      decoded.push(skipWithCrossFade(pcm, Math.round(skipMs * SAMPLE_RATE / 1000)))
      if (out.kind === 'packet') {
        const k = out.sequence
        const arrival = arrivalOf.get(k) as number
        waits.push(now - arrival)
        // Its first sample played was spoken at k × 20 ms + skip − look-ahead; it reaches the sink at now + decode.
        totals.push(now + decodeMs - (k * FRAME_MS + skipMs - lookaheadMs))
        concealed = concealedSoFar
      } else {
        concealedSoFar++
      }
    }
    concealedTotal += concealed
    const stats = buffer.stats()
    late += stats.late
    discarded += stats.discarded
    measuredJitter += stats.jitterMs / phaseCount
    finalTarget += stats.targetDelayMs / phaseCount
    if (phaseIndex === 0) {
      // Frames shortened by a skip are joined end to end, as the sink gets them.
      output = new Float32Array(decoded.reduce((n, f) => n + f.length, 0))
      let at = 0
      for (const f of decoded) { output.set(int16ToFloat(f), at); at += f.length }
    }
    decoder.close()
    encoder.close()
  }
  const sortedTotals = [...totals].sort((a, b) => a - b)
  return {
    row: {
      jitterMs,
      frames: frameCount * phaseCount,
      total: { ...stat(totals), max: round(sortedTotals.at(-1) ?? NaN, 2) },
      encode: stat(encodes),
      network: stat(networks),
      buffer: stat(waits),
      decode: stat(decodes),
      concealedPercent: round(100 * concealedTotal / (frameCount * phaseCount), 2),
      latePercent: round(100 * late / (frameCount * phaseCount), 2),
      discarded,
      measuredJitterMs: round(measuredJitter, 2),
      finalTargetMs: round(finalTarget, 1)
    },
    output
  }
}

/** The figures of one run, as --json prints them. */
export interface PipelineFigures {
  machine: { cores: number, node: string }
  setup: { seconds: number, phases: number, lossPercent: number, input: string, jitterModel: string, frameMs: number }
  codec: { lookaheadSamples: number, lookaheadMs: number, measuredDelaySamples: number, correlation: number }
  rows: Row[]
  ratios: Array<{ jitterMs: number, totalP50VsBaseline: number, totalP99VsBaseline: number }>
}

/** Runs the whole measurement (one row per jitter level) and returns its figures. */
export async function measurePipeline (options: PipelineOptions): Promise<PipelineFigures> {
  const { seconds, phases: phaseCount, lossPercent } = options
  const { signal, source } = speech()
  const probe = createOpusEncoder({ fec: true })
  const lookaheadSamples = probe.lookaheadSamples
  probe.close()
  const lookaheadMs = lookaheadSamples * 1000 / SAMPLE_RATE

  // The codec's delay, measured on audio (no jitter, one phase): decoded output against input.
  const codecCheck = await (async () => {
    const encoder = createOpusEncoder({ fec: true })
    const decoder = await createOpusDecoder()
    const n = Math.floor(Math.min(signal.length, 3 * SAMPLE_RATE) / FRAME_SAMPLES)
    const out = new Float32Array(n * FRAME_SAMPLES)
    for (let k = 0; k < n; k++) {
      const pcm = floatToInt16(signal.subarray(k * FRAME_SAMPLES, (k + 1) * FRAME_SAMPLES))
      out.set(int16ToFloat(decoder.decode(encoder.encode(pcm))), k * FRAME_SAMPLES)
    }
    decoder.close()
    encoder.close()
    return compareSignals(signal.subarray(0, out.length), out, 2000)
  })()

  const rows: Row[] = []
  for (const jitterMs of options.jitterLevels) rows.push((await runLevel(options, jitterMs, signal, lookaheadMs)).row)
  const baseline = rows[0] as Row
  return {
    machine: { cores: availableParallelism(), node: process.version },
    setup: { seconds, phases: phaseCount, lossPercent, input: source, jitterModel: 'uniform 0..J ms per packet', frameMs: FRAME_MS },
    codec: { lookaheadSamples, lookaheadMs: round(lookaheadMs, 2), measuredDelaySamples: codecCheck.lag, correlation: round(codecCheck.correlation, 3) },
    rows,
    ratios: rows.map(r => ({ jitterMs: r.jitterMs, totalP50VsBaseline: round(r.total.p50 / baseline.total.p50, 2), totalP99VsBaseline: round(r.total.p99 / baseline.total.p99, 2) }))
  }
}

function print (figures: PipelineFigures): void {
  const { seconds, phases: phaseCount, lossPercent, input: source } = figures.setup
  const { lookaheadSamples, lookaheadMs, measuredDelaySamples, correlation } = figures.codec
  const rows = figures.rows
  const baseline = rows[0] as Row
  console.log(`voxmesh audio pipeline bench: ${figures.machine.cores} cores, node ${process.version}; ${seconds} s of ${source} × ${phaseCount} runs per row; ` +
    `network: fixed path (taken as 0) + uniform 0..J ms; loss ${lossPercent}%`)
  console.log(`codec delay: encoder look-ahead ${lookaheadSamples} samples (${lookaheadMs} ms); measured on the decoded audio: ${measuredDelaySamples} samples (correlation ${correlation})`)
  console.log('mouth-to-ear added = 20 ms framing + look-ahead + encode + network jitter + jitter buffer wait + decode (ms)')
  const widths = [6, 11, 11, 9, 16, 16, 16, 16, 12, 8, 11, 11, 11, 8]
  const line = (cells: Array<string | number>): string => cells.map((c, i) => String(c).padStart(widths[i] as number)).join('')
  console.log(line(['J ms', 'total p50', 'total p99', 'max', 'encode p50/99', 'network p50/99', 'buffer p50/99', 'decode p50/99', 'concealed%', 'late%', 'discarded', 'RFC3550 J', 'target ms', '× J=0']))
  for (const r of rows) {
    console.log(line([r.jitterMs, r.total.p50, r.total.p99, r.total.max, `${r.encode.p50}/${r.encode.p99}`, `${round(r.network.p50)}/${round(r.network.p99)}`,
      `${round(r.buffer.p50)}/${round(r.buffer.p99)}`, `${r.decode.p50}/${r.decode.p99}`, r.concealedPercent, r.latePercent, r.discarded, r.measuredJitterMs, r.finalTargetMs,
      round(r.total.p50 / baseline.total.p50, 2)]))
  }
  console.log(`(× J=0: total p50 against the J = ${baseline.jitterMs} ms row of this run; buffer = time from a packet's arrival to its pop)`)
}

/** Whether this file is the script node was started with (not imported by another bench). */
function isMain (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try { return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url)) } catch { return false }
}

async function main (): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      jitter: { type: 'string', default: '0,10,30' },
      seconds: { type: 'string', default: '30' },
      loss: { type: 'string', default: '0' },
      phases: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false }
    }
  })
  const fail = (message: string): never => {
    process.stderr.write(`audio-pipeline-bench: ${message}\n`)
    process.exit(2)
  }
  const jitterLevels = String(flags.jitter).split(',').map(Number)
  if (jitterLevels.some(j => !(j >= 0 && j <= 500))) fail(`--jitter must be a list of ms in [0, 500], got ${String(flags.jitter)}`)
  const seconds = Number(flags.seconds)
  if (!(seconds >= 1 && seconds <= 600)) fail(`--seconds must be in [1, 600], got ${String(flags.seconds)}`)
  const lossPercent = Number(flags.loss)
  if (!(lossPercent >= 0 && lossPercent < 100)) fail(`--loss must be a percentage in [0, 100), got ${String(flags.loss)}`)
  const phases = Number(flags.phases)
  if (!(Number.isInteger(phases) && phases >= 1 && phases <= 20)) fail(`--phases must be in [1, 20], got ${String(flags.phases)}`)
  const figures = await measurePipeline({ jitterLevels, seconds, phases, lossPercent })
  if (flags.json) process.stdout.write(JSON.stringify(figures) + '\n')
  else print(figures)
}

if (isMain()) {
  try {
    await main()
  } catch (err) {
    process.stderr.write(`audio-pipeline-bench: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  }
}
