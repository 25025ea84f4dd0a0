// Call benchmark on loopback, four parts:
//
//  1. Call setup through two supernodes (setup-calls.ts): a login server, super1 and super2 on
//     127.0.0.2 with their TURN relays, and real user nodes; N calls caller → callee one at a
//     time, direct and then relay-only, caller and callee on different supernodes, the callee
//     answering --ring-ms after his device rings (0: at once, as --auto-answer does). Per call:
//     invite → ringing, answer → caller connected, answer → first audio at either end. Baseline
//     (bare.ts): N bare node-datachannel connections, offer and answer handed over directly,
//     direct and through two TURN servers. Each series runs in a child process with a heartbeat
//     (series.ts): one whose main thread freezes is killed, reported, and a fresh one runs the
//     rest. Such freezes came from libdatachannel deadlocking in a DTLS handshake over a TURN
//     relay (libdatachannel #1630); since a relayed answerer serves DTLS (node/media/media-session.ts)
//     they went from 2 in 26 relayed connections to 0 in 80; the watchdog still reports any.
//  2. Mouth-to-ear latency the audio pipeline adds at 0/10/30 ms network jitter
//     (bench/audio-pipeline-bench.ts's measurement).
//  3. TURN relay capacity (relay-capacity.ts): simulated 50 packet/s voice streams through one TURN
//     server process, ramped ×2 from 25 until loss passes 1%, then bisected; baseline: a bare UDP
//     forwarder process at each stream count.
//  4. Opus streams per core (opus-streams.ts): encoder and decoder frames per CPU-second / 50.
//
//   npm run bench:calls -- [--calls 100] [--relay-calls 100] [--ring-ms 500] [--skip-relay] [--relay-seconds 5]
//                          [--max-streams 6400] [--pipeline-seconds 30] [--opus-seconds 2] [--json]
//
// Everything runs on one machine: the benchmark's own clients share the cores with what they
// measure, which the output says. Nodes, servers, sockets, child processes (child.ts) and temp
// dirs are closed on exit, error, SIGINT and SIGTERM.
import { availableParallelism, cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { measurePipeline } from '../audio-pipeline-bench.js'
import { round } from '../lib/measure.js'
import { summarizeBare, type BareSample } from './bare.js'
import { measureOpus } from './opus-streams.js'
import { measureRelay } from './relay-capacity.js'
import { formatReport, type Figures } from './report.js'
import { runSeries, type SeriesKind } from './series.js'
import { summarizeCalls, type CallSample } from './setup-calls.js'
import { cleanup, DEFAULT_RING_MS, POLL_MS, WARMUP } from './util.js'
import { runBench } from '../lib/run-bench.js'

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    'relay-calls': { type: 'string' },
    'ring-ms': { type: 'string', default: DEFAULT_RING_MS },
    'skip-relay': { type: 'boolean', default: false },
    'relay-seconds': { type: 'string', default: '5' },
    'max-streams': { type: 'string', default: '6400' },
    'pipeline-seconds': { type: 'string', default: '30' },
    'opus-seconds': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false }
  }
})
const num = (name: 'calls' | 'relay-calls' | 'ring-ms' | 'relay-seconds' | 'max-streams' | 'pipeline-seconds' | 'opus-seconds', min: number, max: number, fallback?: string): number => {
  const n = Number(flags[name] ?? fallback)
  if (Number.isFinite(n) && n >= min && n <= max) return n
  process.stderr.write(`call-bench: --${name} must be a number in [${min}, ${max}], got ${String(flags[name])}\n`)
  process.exit(2)
}
const callCount = Math.round(num('calls', 1, 100_000))
const relayCallCount = Math.round(num('relay-calls', 0, 100_000, String(callCount)))
const ringMs = Math.round(num('ring-ms', 0, 60_000))
const relaySeconds = num('relay-seconds', 1, 600)
const maxStreams = Math.round(num('max-streams', 25, 20_000))
const pipelineSeconds = num('pipeline-seconds', 1, 600)
const opusSeconds = num('opus-seconds', 0.2, 60)

/** Part 1: call setup, and the bare baselines, each series in its own child process (see runSeries). */
async function measureCalls (): Promise<Figures['calls']> {
  const run = <T>(kind: SeriesKind, count: number): ReturnType<typeof runSeries<T>> => runSeries<T>(kind, count, flags.json, ringMs)
  const directRun = await run<CallSample>('direct', callCount)
  const direct = summarizeCalls(directRun.samples, false, directRun.stalls)
  const relayRun = relayCallCount > 0 ? await run<CallSample>('relay', relayCallCount) : undefined
  const relayed = relayRun === undefined ? undefined : summarizeCalls(relayRun.samples, true, relayRun.stalls)
  const bareRun = await run<BareSample>('bare', callCount)
  const bare = summarizeBare(bareRun.samples, false, bareRun.stalls)
  const bareRelayRun = relayCallCount > 0 ? await run<BareSample>('bare-relay', relayCallCount) : undefined
  const bareRelay = bareRelayRun === undefined ? undefined : summarizeBare(bareRelayRun.samples, true, bareRelayRun.stalls)
  const harness = { pairs: 0, placements: {} as Record<string, number>, relayAllocationsLeftOpen: {} as Record<string, number> }
  for (const h of [...directRun.harness, ...(relayRun?.harness ?? [])]) {
    harness.pairs += h.pairs
    for (const [k, v] of Object.entries(h.placements)) harness.placements[k] = (harness.placements[k] ?? 0) + v
    for (const [k, v] of Object.entries(h.relayAllocationsLeftOpen)) harness.relayAllocationsLeftOpen[k] = (harness.relayAllocationsLeftOpen[k] ?? 0) + v
  }
  const ratio = (a: number, b: number): number => round(a / b, 1)
  const ratios = {
    directAudioP50: ratio(direct.answerToCallerAudio.p50, bare.startToOffererAudio.p50),
    directAudioP99: ratio(direct.answerToCallerAudio.p99, bare.startToOffererAudio.p99),
    relayAudioP50: relayed !== undefined && bareRelay !== undefined ? ratio(relayed.answerToCallerAudio.p50, bareRelay.startToOffererAudio.p50) : null,
    relayAudioP99: relayed !== undefined && bareRelay !== undefined ? ratio(relayed.answerToCallerAudio.p99, bareRelay.startToOffererAudio.p99) : null
  }
  return { warmup: WARMUP, pollMs: POLL_MS, harness, direct, relayed: relayed ?? null, bare, bareRelay: bareRelay ?? null, ratios }
}

async function main (): Promise<void> {
  const startedAt = performance.now()
  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadavgAtStart: loadavg().map(v => round(v, 2)) }

  // 1. Call setup.
  const calls = await measureCalls()
  // 2. Mouth-to-ear added by the pipeline.
  const pipeline = await measurePipeline({ jitterLevels: [0, 10, 30], seconds: pipelineSeconds, phases: 5, lossPercent: 0 })
  // 3. TURN relay capacity.
  const relay = flags['skip-relay'] ? undefined : await measureRelay({ maxStreams, relaySeconds, quiet: flags.json })
  // 4. Opus streams per core.
  const opus = await measureOpus(opusSeconds)

  const figures: Figures = {
    machine: { ...machine, loadavgAtEnd: loadavg().map(v => round(v, 2)), totalSeconds: round((performance.now() - startedAt) / 1000) },
    calls,
    pipeline,
    relay: relay ?? null,
    opus
  }
  if (flags.json) process.stdout.write(JSON.stringify(figures) + '\n')
  else console.log(formatReport(figures, { callCount, relayCallCount, ringMs, maxStreams }))
}

await runBench('call-bench', main, cleanup)
