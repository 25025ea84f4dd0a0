// The call bench's text report: the figures main.ts gathered (or prints as JSON with --json),
// with what each series means, one table per part.
import type { PipelineFigures } from '../audio-pipeline-bench.js'
import { round } from '../lib/measure.js'
import type { BareResult } from './bare.js'
import type { OpusResult } from './opus-streams.js'
import type { RelayResult, RelayStep } from './relay-capacity.js'
import { STALL_MS, type Stall } from './series.js'
import type { CallSeriesResult } from './setup-calls.js'
import { STREAM_PPS } from './turn-stream.js'
import { POLL_MS, WARMUP, type Series } from './util.js'

/** Everything one run measured (the --json output). */
export interface Figures {
  machine: { cores: number, cpu: string, node: string, loadavgAtStart: number[], loadavgAtEnd: number[], totalSeconds: number }
  calls: {
    warmup: number
    pollMs: number
    harness: { pairs: number, placements: Record<string, number>, relayAllocationsLeftOpen: Record<string, number> }
    direct: CallSeriesResult
    relayed: CallSeriesResult | null
    bare: BareResult
    bareRelay: BareResult | null
    /** Answer → first audio (alice) over bare start → offerer audio. */
    ratios: { directAudioP50: number, directAudioP99: number, relayAudioP50: number | null, relayAudioP99: number | null }
  }
  pipeline: PipelineFigures
  relay: RelayResult | null
  opus: OpusResult
}

/** What the run was asked for (the flags). */
export interface Asked { callCount: number, relayCallCount: number, ringMs: number, maxStreams: number }

function table (headers: string[], widths: number[], rows: Array<Array<string | number>>): string[] {
  const line = (cells: Array<string | number>): string => cells.map((c, i) => i === 0 ? String(c).padEnd(widths[0] as number) : String(c).padStart(widths[i] as number)).join('')
  return [line(headers), ...rows.map(line)]
}

export function formatReport (figures: Figures, { callCount, relayCallCount, ringMs, maxStreams }: Asked): string {
  const { machine, pipeline, opus } = figures
  const { cores } = machine
  const { harness, direct, bare, ratios: callRatios } = figures.calls
  const relayed = figures.calls.relayed ?? undefined
  const bareRelay = figures.calls.bareRelay ?? undefined
  const relay = figures.relay ?? undefined

  const out: string[] = []
  out.push(`voxmesh call bench: ${cores} cores (${machine.cpu}), node ${machine.node}, load average ${machine.loadavgAtStart.join(' ')} at start. ` +
    'Everything runs on this one machine: the nodes, servers and the bench\'s own clients share these cores (and anything else running).')
  out.push('')
  out.push(`1. Call setup: ${callCount} direct${relayed === undefined ? '' : ` + ${relayCallCount} relay-only`} calls, one at a time, after ${WARMUP} warm-up calls each; ` +
    'a login server, super1 and super2 (127.0.0.2, with their TURN relays) and the users, real nodes in one child process per series; caller ("alice") and callee ("bob") always on different supernodes ' +
    `(${Object.entries(harness.placements).map(([k, v]) => `${k} ×${v}`).join(', ')})`)
  out.push(`   harness: one pair of users per series process (${harness.pairs} in all), calling again and again; the relay allows 10 allocations per user, ` +
    `so this works only because every call end has its supernode release its allocations (turn-release). ` +
    `Allocations still open on the relays after these calls: ${Object.entries(harness.relayAllocationsLeftOpen).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  out.push('   invite → ringing: alice.placeCall() called → alice\'s call-ringing event (invite and ringing cross alice → super1 → super2 → bob and back)')
  out.push(ringMs === 0
    ? '   answer: bob.answerCall() called from his call-incoming listener, at once (no human delay: what --auto-answer does)'
    : `   answer: bob.answerCall() called ${ringMs} ms after his call-incoming event (--ring-ms: a quick human; while it rings, alice gathers her offer and bob gets his relay's credentials)`)
  out.push('   answer → connected: → alice\'s call-connected (her media session connected and its candidate pair known)')
  out.push(`   answer → first audio: → the first ${POLL_MS} ms poll at which that end's calls() shows packetsReceived > 0: its audio pipeline runs and ` +
    'one Opus RTP packet from the other end has arrived (received, not yet played: the jitter buffer adds its 20–40 ms target on top)')
  out.push('   bare baseline: two createMediaSession objects in one process, offer and answer (complete, candidates inside, as calls send them) handed over directly; ' +
    'each end sends an Opus packet when connected and every 20 ms after; start() → the first packet received. Relay-only: through two TURN servers on 127.0.0.2, one per end')
  const callRows: Array<Array<string | number>> = []
  const addSeries = (name: string, s: Series, n: number, fail: number): void => { callRows.push([name, n, fail, s.p50, s.p90, s.p99, s.max]) }
  for (const [label, r] of [['direct', direct], ['relay-only', relayed]] as const) {
    if (r === undefined) continue
    addSeries(`${label}: invite → ringing`, r.inviteToRinging, r.calls, r.failures)
    addSeries(`${label}: answer → connected`, r.answerToCallerConnected, r.calls, r.failures)
    addSeries(`${label}: answer → first audio, alice`, r.answerToCallerAudio, r.calls, r.failures)
    addSeries(`${label}: answer → first audio, bob`, r.answerToCalleeAudio, r.calls, r.failures)
  }
  for (const [label, b] of [['bare direct', bare], ['bare relay-only', bareRelay]] as const) {
    if (b === undefined) continue
    addSeries(`${label}: start → offerer audio`, b.startToOffererAudio, b.connections, b.failures)
    addSeries(`${label}: start → answerer audio`, b.startToAnswererAudio, b.connections, b.failures)
  }
  out.push(...table(['series', 'n', 'fail', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], [42, 6, 6, 9, 9, 9, 9], callRows))
  out.push(`   paths: direct ${JSON.stringify(direct.paths)}${relayed === undefined ? '' : `, relay-only ${JSON.stringify(relayed.paths)}`}; ` +
    `wall time per call (invite → both ended) ${direct.wallPerCallMs} ms direct${relayed === undefined ? '' : `, ${relayed.wallPerCallMs} ms relay-only`}`)
  for (const r of [direct, relayed]) if (r !== undefined && r.failures > 0) out.push(`   ${r.relayOnly ? 'relay-only' : 'direct'} failures: ${r.errors.join('; ')}`)
  const stallText = (label: string, stalls: Stall[]): string => `${label} ${stalls.length}${stalls.length === 0 ? '' : ` (${stalls.map(x => `after ${x.afterSamples}: main thread ${x.mainThread}`).join(' | ')})`}`
  out.push(`   frozen processes (no heartbeat for ${STALL_MS / 1000} s: killed, the series went on in a fresh process): ` +
    [stallText('direct', direct.stalls), relayed === undefined ? '' : stallText('relay-only', relayed.stalls), stallText('bare', bare.stalls),
      bareRelay === undefined ? '' : stallText('bare relay-only', bareRelay.stalls)].filter(x => x !== '').join(', '))
  out.push(`   answer → first audio (alice) / bare start → offerer audio: ${callRatios.directAudioP50}× at p50, ${callRatios.directAudioP99}× at p99 (direct)` +
    (callRatios.relayAudioP50 === null ? '' : `; ${callRatios.relayAudioP50}× at p50, ${callRatios.relayAudioP99}× at p99 (relay-only against bare relay-only)`))
  out.push('')

  out.push(`2. Mouth-to-ear latency added by the pipeline (bench/audio-pipeline-bench.ts: ${pipeline.setup.seconds} s of ${pipeline.setup.input} × ${pipeline.setup.phases} receiver phases per row; ` +
    `network = uniform 0..J ms on a fixed path taken as 0)`)
  out.push(`   = 20 ms framing + ${pipeline.codec.lookaheadMs} ms encoder look-ahead + encode + network jitter + jitter-buffer wait + decode`)
  out.push(...table(['J ms', 'p50 ms', 'p99 ms', 'max ms', 'buffer wait p50/p99', 'concealed %', '× J=0 p50'], [6, 9, 9, 9, 21, 13, 11],
    pipeline.rows.map((r, i) => [r.jitterMs, r.total.p50, r.total.p99, r.total.max, `${round(r.buffer.p50)}/${round(r.buffer.p99)}`, r.concealedPercent, pipeline.ratios[i]?.totalP50VsBaseline ?? ''])))
  out.push('')

  if (relay === undefined) {
    out.push('3. TURN relay capacity: skipped (--skip-relay)')
  } else {
    out.push(`3. TURN relay capacity: one TURN server (startTurnServer, supernode defaults, total and per-address allocation quotas raised to ${maxStreams + 100}, the lab flag for loopback peers) in its own process (pid ${relay.server.pid}) at ${relay.server.address}; ` +
      `each stream = a UDP client in this process sending 50 × ${relay.payloadBytes}-byte packets/s by ${relay.mode}; ${relay.stepSeconds} s per step after 1 s at the new load. ` +
      'Baseline in the same run: a bare Node UDP forwarder process (one socket in, one out, no TURN logic), measured right after the TURN server at each stream count, from the same client sockets')
    out.push('   relay CPU % = the relay process\'s CPU time over the step, % of one core; loop % = its event-loop utilization; µs/pkt = its CPU per packet relayed; ' +
      'drops = kernel receive-buffer drops (/proc/net/udp) at the relay\'s listening socket / the TURN relay sockets / the bench\'s peer sockets')
    const relayRows = relay.steps.flatMap((t, i) => [t, relay.baseline[i]].filter((x): x is RelayStep => x !== undefined)).map(s => [s.relay === 'turn' ? 'TURN' : 'forwarder', s.streams, `${s.sentPps}/${s.targetPps}`, s.lossPercent, `${s.transitP50Ms}/${s.transitP99Ms}`,
      s.serverCpuPercent, s.serverLoopPercent, s.serverUsPerPacket, s.benchCpuPercent, s.drops === null ? 'n/a' : `${s.drops.serverSocket}/${s.drops.relaySockets}/${s.drops.peerSockets}`, s.verdict])
    out.push(...table(['relay', 'streams', 'pkt/s sent', 'loss %', 'transit p50/p99 ms', 'relay CPU %', 'loop %', 'µs/pkt', 'bench CPU %', 'drops srv/relay/peer', 'verdict'],
      [11, 8, 13, 8, 20, 13, 8, 8, 13, 22, 15], relayRows))
    const compared = relay.steps.flatMap(t => {
      const b = relay.baseline.find(x => x.streams === t.streams)
      return b === undefined || !Number.isFinite(b.serverUsPerPacket) ? [] : [`${t.streams}: ${round(t.serverUsPerPacket / b.serverUsPerPacket, 1)}×`]
    })
    if (compared.length > 0) out.push(`   TURN server CPU per packet / forwarder CPU per packet, by stream count: ${compared.join(', ')}`)
    const lossy = relay.steps.filter(s => s.verdict !== 'ok' && s.drops !== null)
    const atSocket = lossy.reduce((sum, s) => sum + (s.drops?.serverSocket ?? 0), 0)
    const lost = lossy.reduce((sum, s) => sum + s.targetPps * relay.stepSeconds * s.lossPercent / 100, 0)
    if (lossy.length > 0 && atSocket > 0.5 * lost) {
      out.push(`   where the loss happened: in the lossy steps the kernel dropped ${atSocket} packets at the relay's listening socket, ` +
        `${atSocket >= 0.9 * lost ? 'as many as were lost' : 'most of the loss'} (~${Math.round(lost)}) ` +
        `(receive buffer: rmem_default ${relay.rmemDefault ?? '?'} bytes, a few hundred small datagrams), which overflows whenever the relay process falls a few milliseconds behind at these rates (busy, or waiting for a core)`)
    }
    const okSteps = relay.steps.filter(s => s.verdict === 'ok' && Number.isFinite(s.serverUsPerPacket))
    const busiest = okSteps.at(-1)
    out.push(`   capacity: ${relay.capacity} concurrent 50 packet/s streams (${relay.capacityNote})` +
      (busiest === undefined ? '' : `; at ${busiest.streams} streams the server spent ${busiest.serverUsPerPacket} µs of CPU per relayed packet, ` +
        `a CPU-bound ceiling of ~${Math.round(1e6 / busiest.serverUsPerPacket / STREAM_PPS)} streams per core`))
    out.push(`   a relayed call leg carries two such streams (one each way); the bench client shares the ${cores} cores with the server, so the server never has a core to itself` +
      (relay.allocationsFailed > 0 ? `; ${relay.allocationsFailed} allocations failed` : ''))
    const dropNotes = relay.steps.filter(s => Object.keys(s.serverDropped).length > 0).map(s => `${s.streams}: ${JSON.stringify(s.serverDropped)}`)
    if (dropNotes.length > 0) out.push(`   packets the server itself refused: ${dropNotes.join('; ')}`)
    const skips = relay.steps.filter(s => s.senderSkipped > 0).map(s => `${s.streams}: ${s.senderSkipped}`)
    if (skips.length > 0) out.push(`   packets the bench's sender skipped (its timer ran > 100 ms late): ${skips.join('; ')}`)
  }
  out.push('')

  out.push(`4. Opus streams per core (${opus.input}; frames per CPU-second of this process, a stream = 50 frames/s; p50/p99 = wall time per frame)`)
  out.push(...table(['codec', 'frames/cpu-s', 'streams/core', 'p50 µs', 'p99 µs'], [56, 14, 14, 9, 9], [
    [`encoder: createOpusEncoder (@evan/opus ${opus.encoderBackend}, FEC on)`, opus.encoder.framesPerCpuSecond, opus.encoder.streamsPerCore, opus.encoder.p50us, opus.encoder.p99us],
    ['decoder: createOpusDecoder (opus-decoder, wasm)', opus.decoder.framesPerCpuSecond, opus.decoder.streamsPerCore, opus.decoder.p50us, opus.decoder.p99us]
  ]))
  out.push(`   one call end encodes one stream and decodes one: ~${opus.callEndsPerCore} call ends per core (codec only)`)
  out.push('')
  out.push(`total ${figures.machine.totalSeconds} s; load average ${figures.machine.loadavgAtEnd.join(' ')} at the end`)
  return out.join('\n')
}
