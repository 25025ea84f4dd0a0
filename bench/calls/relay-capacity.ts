// Part 3 of the call bench: TURN relay capacity. One TURN server (startTurnServer, the
// supernode's relay with its defaults but a raised allocation quota) in a child process on
// 127.0.0.2; this process runs simulated voice streams (turn-stream.ts), 50 ChannelData
// packets/s of 100 bytes each to peer sockets through the relay. The stream count ramps up
// (25, 50, 100, ... ×2) for --relay-seconds each until loss at the peers passes 1%, then
// bisects. Baseline: a bare Node UDP forwarder process, measured right after the TURN server at
// each count. Loss is split by where the kernel dropped (/proc/net/udp); the relay's CPU is its
// process.cpuUsage.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { TransportAddress } from '../../node/index.js'
import { round, sleep } from '../lib/measure.js'
import { PeerReceivers, StreamSender } from './relay-load.js'
import { startRelayChild, type ChildKind, type ChildStats, type RelayChild } from './relay-servers.js'
import { STREAM_PAYLOAD_BYTES, STREAM_PPS } from './turn-stream.js'
import { closeSocket, onCleanup } from './util.js'

const LOSS_LIMIT_PERCENT = 1
/** Sent rate below this share of the target: the bench client, not the relay, is the limit. */
const CLIENT_LIMIT_SHARE = 0.98
const REFINE_STEPS = 2

/** Kernel drops per socket ("ip:port" → drops) from /proc/net/udp; undefined where it does not exist. */
function udpDrops (): Map<string, number> | undefined {
  let text: string
  try { text = readFileSync('/proc/net/udp', 'utf8') } catch { return undefined }
  const drops = new Map<string, number>()
  for (const line of text.split('\n').slice(1)) {
    const parts = line.trim().split(/\s+/)
    if (parts.length < 13) continue
    const [ipHex, portHex] = (parts[1] as string).split(':') as [string, string]
    const n = parseInt(ipHex, 16)
    // The address is the kernel's 32-bit word in host order (little-endian here).
    const ip = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.')
    const key = `${ip}:${parseInt(portHex, 16)}`
    drops.set(key, (drops.get(key) ?? 0) + Number(parts[12]))
  }
  return drops
}

function rmemDefault (): number | undefined {
  try { return Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8').trim()) } catch { return undefined }
}

export interface RelayStep {
  relay: ChildKind
  streams: number
  targetPps: number
  sentPps: number
  lossPercent: number
  transitP50Ms: number
  transitP99Ms: number
  /** Share of one core: the relay process (TURN server or forwarder), and this bench process (clients and peers). */
  serverCpuPercent: number
  serverLoopPercent: number
  benchCpuPercent: number
  serverUsPerPacket: number
  /** Kernel receive-buffer drops in the step: at the relay's listening socket, the TURN relay sockets, the peers. */
  drops: { serverSocket: number, relaySockets: number, peerSockets: number } | null
  serverDropped: Record<string, number>
  senderSkipped: number
  verdict: 'ok' | 'loss' | 'bench-limited'
}

export interface RelayResult {
  server: { pid: number, address: string }
  mode: string
  payloadBytes: number
  stepSeconds: number
  rmemDefault: number | null
  steps: RelayStep[]
  baseline: RelayStep[]
  capacity: number
  capacityNote: string
  allocationsFailed: number
}

export interface RelayOptions {
  maxStreams: number
  /** Seconds measured per step. */
  relaySeconds: number
  /** No progress lines on stderr. */
  quiet: boolean
}

/** What the steps of one run share: both relays, the load, and the run's options. */
interface RelayRun {
  turn: RelayChild
  forwarder: RelayChild
  secret: string
  receivers: PeerReceivers
  peerAddresses: TransportAddress[]
  sender: StreamSender
  relaySeconds: number
  quiet: boolean
  /** The last step's id (1..255: the tag byte of the payload). */
  stepId: number
}

export async function measureRelay ({ maxStreams, relaySeconds, quiet }: RelayOptions): Promise<RelayResult> {
  const secret = randomBytes(24).toString('base64')
  // Both relays run from the start; each stream count is measured through the TURN server and
  // then through the forwarder, back to back, so both see the same machine.
  const turn = await startRelayChild('turn', secret, maxStreams)
  const forwarder = await startRelayChild('forwarder', secret, maxStreams)
  const receivers = new PeerReceivers()
  const sender = new StreamSender(turn)
  const closeSockets = onCleanup(async () => {
    await Promise.all([...sender.streams.map(s => closeSocket(s.socket)), ...receivers.sockets.map(closeSocket)])
  })
  await receivers.bind()
  const run: RelayRun = { turn, forwarder, secret, receivers, peerAddresses: receivers.addresses, sender, relaySeconds, quiet, stepId: 0 }
  sender.start()
  const stopSender = onCleanup(() => { sender.stop() })

  const steps: RelayStep[] = []
  const baseline: RelayStep[] = []
  const { good, bad, limitedBy } = await findCapacity(maxStreams, async count => {
    const step = await runStep(run, count, turn)
    steps.push(step)
    baseline.push(await runStep(run, count, forwarder))
    return step
  })

  await stopSender()
  await turn.close()
  await forwarder.close()
  await closeSockets()
  const capacityNote = limitedBy === 'loss'
    ? `largest count with loss ≤ ${LOSS_LIMIT_PERCENT}%; ${bad} streams lost more`
    : limitedBy === 'bench-limited'
      ? 'at least this: the bench\'s own clients could not send faster (or allocate more) on this machine, not the relay\'s limit'
      : `at least this: --max-streams ${maxStreams} reached without loss`
  return {
    server: { pid: turn.pid, address: `${turn.address.address}:${turn.address.port}` },
    mode: 'ChannelData (after Allocate, CreatePermission, ChannelBind), client → relay → peer',
    payloadBytes: STREAM_PAYLOAD_BYTES,
    stepSeconds: relaySeconds,
    rmemDefault: rmemDefault() ?? null,
    steps,
    baseline,
    capacity: good,
    capacityNote,
    allocationsFailed: sender.allocationsFailed
  }
}

/**
 * The ramp: ×2 until the TURN server's loss passes the limit, then bisect. `measure` runs one
 * count (through the TURN server, and the forwarder as the baseline) and returns the TURN step.
 */
async function findCapacity (
  maxStreams: number, measure: (count: number) => Promise<RelayStep>
): Promise<{ good: number, bad: number | undefined, limitedBy: 'loss' | 'bench-limited' | 'max-streams' }> {
  let good = 0
  let bad: number | undefined
  let limitedBy: 'loss' | 'bench-limited' | 'max-streams' = 'max-streams'
  for (let count = 25; count <= maxStreams; count *= 2) {
    const step = await measure(count)
    if (step.streams < count) { limitedBy = 'bench-limited'; break } // allocations failed
    if (step.verdict === 'ok') { good = count; continue }
    limitedBy = step.verdict
    bad = count
    break
  }
  if (limitedBy === 'loss' && bad !== undefined) {
    for (let i = 0; i < REFINE_STEPS && bad - good > Math.max(10, good / 8); i++) {
      const mid = Math.round((good + bad) / 2)
      const step = await measure(mid)
      if (step.verdict === 'ok') good = mid
      else bad = mid
    }
  }
  return { good, bad, limitedBy }
}

/** Runs `count` streams through `through` for relaySeconds (after a warm-up) and measures the step. */
async function runStep (run: RelayRun, count: number, through: RelayChild): Promise<RelayStep> {
  const { sender, receivers } = run
  const target = through
  sender.target = through
  await sender.ensure(count, run.turn, run.secret, run.peerAddresses)
  sender.setActive(count)
  const streamsNow = sender.active
  await sleep(1000) // warm-up at the new load
  const id = ++run.stepId
  const [s0, c0, d0] = [await target.stats(), process.cpuUsage(), udpDrops()]
  const t0 = performance.now()
  sender.skipped = 0
  sender.tag = id
  await sleep(run.relaySeconds * 1000)
  sender.tag = 0
  const elapsedS = (performance.now() - t0) / 1000
  const [s1, c1, d1] = [await target.stats(), process.cpuUsage(c0), udpDrops()]
  const stepSkipped = sender.skipped
  await sleep(500) // packets still on their way
  const sent = sender.sentByStep.get(id) ?? 0
  const got = receivers.received.get(id) ?? 0
  const lossPercent = sent === 0 ? 100 : round(100 * Math.max(0, sent - got) / sent, 2)
  const serverCpuS = (s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 1e6
  const relayed = s1.relayed - s0.relayed
  const elu = (s1.elu.active - s0.elu.active) / ((s1.elu.active + s1.elu.idle) - (s0.elu.active + s0.elu.idle))
  const targetPps = streamsNow * STREAM_PPS
  const sentPps = sent / elapsedS
  const step: RelayStep = {
    relay: target.kind,
    streams: streamsNow,
    targetPps,
    sentPps: Math.round(sentPps),
    lossPercent,
    transitP50Ms: receivers.transitPercentile(id, 50),
    transitP99Ms: receivers.transitPercentile(id, 99),
    serverCpuPercent: round(100 * serverCpuS / elapsedS),
    serverLoopPercent: round(100 * elu),
    benchCpuPercent: round(100 * (c1.user + c1.system) / 1e6 / elapsedS),
    serverUsPerPacket: relayed === 0 ? NaN : round(serverCpuS * 1e6 / relayed, 2),
    drops: stepDrops(run, target, streamsNow, d0, d1),
    serverDropped: droppedSince(s0, s1),
    senderSkipped: stepSkipped,
    verdict: sentPps < CLIENT_LIMIT_SHARE * targetPps ? 'bench-limited' : lossPercent > LOSS_LIMIT_PERCENT ? 'loss' : 'ok'
  }
  receivers.forget(id)
  sender.sentByStep.delete(id)
  if (!run.quiet) {
    process.stderr.write(`call-bench: ${target.kind} ${streamsNow} streams: loss ${lossPercent}%, sent ${step.sentPps}/${targetPps} pkt/s, ` +
      `relay CPU ${step.serverCpuPercent}%, bench CPU ${step.benchCpuPercent}%\n`)
  }
  return step
}

/** Kernel drops in a step at the relay's listening socket, its relay sockets (TURN only) and the peers. */
function stepDrops (
  run: RelayRun, target: RelayChild, streamsNow: number, d0: Map<string, number> | undefined, d1: Map<string, number> | undefined
): RelayStep['drops'] {
  if (d0 === undefined || d1 === undefined) return null
  const delta = (key: string): number => (d1.get(key) ?? 0) - (d0.get(key) ?? 0)
  const relayKeys = target.kind === 'turn' ? new Set(run.sender.streams.slice(0, streamsNow).map(s => `${s.relay.address}:${s.relay.port}`)) : new Set<string>()
  return {
    serverSocket: delta(`${target.address.address}:${target.address.port}`),
    relaySockets: [...relayKeys].reduce((sum, key) => sum + delta(key), 0),
    peerSockets: run.peerAddresses.reduce((sum, p) => sum + delta(`${p.address}:${p.port}`), 0)
  }
}

/** Packets the relay itself dropped in a step, by reason (only reasons that grew). */
function droppedSince (s0: ChildStats, s1: ChildStats): Record<string, number> {
  const serverDropped: Record<string, number> = {}
  for (const [reason, n] of Object.entries(s1.dropped)) if (n - (s0.dropped[reason] ?? 0) > 0) serverDropped[reason] = n - (s0.dropped[reason] ?? 0)
  return serverDropped
}
