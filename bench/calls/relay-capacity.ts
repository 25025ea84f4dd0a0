// Part 3 of the call bench: TURN relay capacity. One TURN server (startTurnServer, the
// supernode's relay with its defaults but a raised allocation quota) in a child process on
// 127.0.0.2; this process runs simulated voice streams (turn-stream.ts), 50 ChannelData
// packets/s of 100 bytes each to peer sockets through the relay. The stream count ramps up
// (25, 50, 100, ... ×2) for --relay-seconds each until loss at the peers passes 1%, then
// bisects. Baseline: a bare Node UDP forwarder process, measured right after the TURN server at
// each count. Loss is split by where the kernel dropped (/proc/net/udp); the relay's CPU is its
// process.cpuUsage.
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { encodeChannelData, type TransportAddress } from '../../node/relay/index.js'
import { pool, round, sleep } from '../lib/measure.js'
import { startRelayChild, type ChildKind, type RelayChild } from './relay-servers.js'
import { CHANNEL, openStream, STREAM_PAYLOAD_BYTES, STREAM_PPS, type Stream } from './turn-stream.js'
import { bindUdp, closeSocket, onCleanup } from './util.js'

const PEER_SOCKETS = 8
const PEER_RECV_BUFFER = 4 * 1024 * 1024
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

export async function measureRelay ({ maxStreams, relaySeconds, quiet }: RelayOptions): Promise<RelayResult> {
  const secret = randomBytes(24).toString('base64')
  // Both relays run from the start; each stream count is measured through the TURN server and
  // then through the forwarder, back to back, so both see the same machine.
  const turn = await startRelayChild('turn', secret, maxStreams)
  const forwarder = await startRelayChild('forwarder', secret, maxStreams)
  let target: RelayChild = turn
  const peers: Socket[] = []
  const streams: Stream[] = []
  const closeSockets = onCleanup(async () => {
    await Promise.all([...streams.map(s => closeSocket(s.socket)), ...peers.map(closeSocket)])
  })

  // Receivers: counts per step (byte 8 of the payload), transit times in 0.05 ms bins per step.
  const received = new Map<number, number>()
  const transit = new Map<number, Uint32Array>()
  const BIN_MS = 0.05
  const BINS = 40_000
  for (let i = 0; i < PEER_SOCKETS; i++) {
    const socket = await bindUdp('127.0.0.1')
    try { socket.setRecvBufferSize(PEER_RECV_BUFFER) } catch { /* keeps the default */ }
    socket.on('message', bytes => {
      if (bytes.length !== STREAM_PAYLOAD_BYTES) return
      const step = bytes[8] as number
      if (step === 0) return
      received.set(step, (received.get(step) ?? 0) + 1)
      let bins = transit.get(step)
      if (bins === undefined) transit.set(step, bins = new Uint32Array(BINS))
      const ms = performance.now() - bytes.readDoubleLE(9)
      const bin = Math.min(BINS - 1, Math.max(0, Math.floor(ms / BIN_MS)))
      bins[bin] = (bins[bin] as number) + 1
    })
    peers.push(socket)
  }
  const peerAddresses = peers.map(p => ({ address: '127.0.0.1', port: p.address().port }))
  const binPercentile = (bins: Uint32Array | undefined, p: number): number => {
    if (bins === undefined) return NaN
    let total = 0
    for (const c of bins) total += c
    const rank = Math.ceil(p / 100 * total)
    let seen = 0
    for (let i = 0; i < bins.length; i++) {
      seen += bins[i] as number
      if (seen >= rank && seen > 0) return round((i + 0.5) * BIN_MS, 2)
    }
    return NaN
  }

  // Sender: every 2 ms, each active stream sends what is due at 50 packets/s (a stream more than
  // 5 packets behind skips ahead, as the call audio clock does, and the skipped packets are counted).
  // Payload: stream index (u32), sequence number (u32), step (u8), send time (f64), peer port (u16).
  let active = 0
  let tag = 0
  let skipped = 0
  const sentByStep = new Map<number, number>()
  const payload = Buffer.alloc(STREAM_PAYLOAD_BYTES)
  const sender = setInterval(() => {
    const now = performance.now()
    const to = target.address
    for (let i = 0; i < active; i++) {
      const s = streams[i] as Stream
      const due = Math.floor((now - s.start) / (1000 / STREAM_PPS)) + 1
      if (due - s.sent > 5) { skipped += due - s.sent - 1; s.sent = due - 1 }
      while (s.sent < due) {
        payload.writeUInt32LE(s.index, 0)
        payload.writeUInt32LE(s.seq++, 4)
        payload[8] = tag
        payload.writeDoubleLE(performance.now(), 9)
        payload.writeUInt16LE(s.peer.port, 17)
        s.socket.send(encodeChannelData(CHANNEL, payload), to.port, to.address)
        s.sent++
        if (tag !== 0) sentByStep.set(tag, (sentByStep.get(tag) ?? 0) + 1)
      }
    }
  }, 2)
  const stopSender = onCleanup(() => { clearInterval(sender) })

  let allocationsFailed = 0
  const ensure = async (count: number): Promise<void> => {
    const from = streams.length
    await pool(Math.max(0, count - from), 32, async i => {
      const index = from + i
      try {
        streams.push(await openStream(index, turn.address, secret, peerAddresses[index % PEER_SOCKETS] as TransportAddress))
      } catch (err) {
        allocationsFailed++
        if (allocationsFailed <= 3) process.stderr.write(`call-bench: ${(err as Error).message}\n`)
      }
    })
  }
  const setActive = (count: number): void => {
    const now = performance.now()
    // Newly active streams start spread over one 20 ms period.
    for (let i = active; i < Math.min(count, streams.length); i++) {
      const s = streams[i] as Stream
      s.start = now + (i % 10) * 2
      s.sent = 0
    }
    active = Math.min(count, streams.length)
  }

  let stepId = 0
  const runStep = async (count: number, through: RelayChild): Promise<RelayStep> => {
    target = through
    await ensure(count)
    setActive(count)
    const streamsNow = active
    await sleep(1000) // warm-up at the new load
    const id = ++stepId
    const [s0, c0, d0] = [await target.stats(), process.cpuUsage(), udpDrops()]
    const t0 = performance.now()
    skipped = 0
    tag = id
    await sleep(relaySeconds * 1000)
    tag = 0
    const elapsedS = (performance.now() - t0) / 1000
    const [s1, c1, d1] = [await target.stats(), process.cpuUsage(c0), udpDrops()]
    const stepSkipped = skipped
    await sleep(500) // packets still on their way
    const sent = sentByStep.get(id) ?? 0
    const got = received.get(id) ?? 0
    const lossPercent = sent === 0 ? 100 : round(100 * Math.max(0, sent - got) / sent, 2)
    const serverCpuS = (s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 1e6
    const relayed = s1.relayed - s0.relayed
    const elu = (s1.elu.active - s0.elu.active) / ((s1.elu.active + s1.elu.idle) - (s0.elu.active + s0.elu.idle))
    let drops: RelayStep['drops'] = null
    if (d0 !== undefined && d1 !== undefined) {
      const delta = (key: string): number => (d1.get(key) ?? 0) - (d0.get(key) ?? 0)
      const relayKeys = target.kind === 'turn' ? new Set(streams.slice(0, streamsNow).map(s => `${s.relay.address}:${s.relay.port}`)) : new Set<string>()
      drops = {
        serverSocket: delta(`${target.address.address}:${target.address.port}`),
        relaySockets: [...relayKeys].reduce((sum, key) => sum + delta(key), 0),
        peerSockets: peerAddresses.reduce((sum, p) => sum + delta(`${p.address}:${p.port}`), 0)
      }
    }
    const serverDropped: Record<string, number> = {}
    for (const [reason, n] of Object.entries(s1.dropped)) if (n - (s0.dropped[reason] ?? 0) > 0) serverDropped[reason] = n - (s0.dropped[reason] ?? 0)
    const targetPps = streamsNow * STREAM_PPS
    const sentPps = sent / elapsedS
    const step: RelayStep = {
      relay: target.kind,
      streams: streamsNow,
      targetPps,
      sentPps: Math.round(sentPps),
      lossPercent,
      transitP50Ms: binPercentile(transit.get(id), 50),
      transitP99Ms: binPercentile(transit.get(id), 99),
      serverCpuPercent: round(100 * serverCpuS / elapsedS),
      serverLoopPercent: round(100 * elu),
      benchCpuPercent: round(100 * (c1.user + c1.system) / 1e6 / elapsedS),
      serverUsPerPacket: relayed === 0 ? NaN : round(serverCpuS * 1e6 / relayed, 2),
      drops,
      serverDropped,
      senderSkipped: stepSkipped,
      verdict: sentPps < CLIENT_LIMIT_SHARE * targetPps ? 'bench-limited' : lossPercent > LOSS_LIMIT_PERCENT ? 'loss' : 'ok'
    }
    transit.delete(id)
    received.delete(id)
    sentByStep.delete(id)
    if (!quiet) {
      process.stderr.write(`call-bench: ${target.kind} ${streamsNow} streams: loss ${lossPercent}%, sent ${step.sentPps}/${targetPps} pkt/s, ` +
        `relay CPU ${step.serverCpuPercent}%, bench CPU ${step.benchCpuPercent}%\n`)
    }
    return step
  }

  // The ramp: ×2 until the TURN server's loss passes the limit, then bisect; the forwarder
  // (the baseline) at every count the TURN server was measured at.
  const steps: RelayStep[] = []
  const baseline: RelayStep[] = []
  const measure = async (count: number): Promise<RelayStep> => {
    const step = await runStep(count, turn)
    steps.push(step)
    baseline.push(await runStep(count, forwarder))
    return step
  }
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
    allocationsFailed
  }
}
