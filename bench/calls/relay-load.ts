// The load of the relay-capacity bench (relay-capacity.ts): peer sockets that receive and time
// the relayed packets, and the sender that drives the simulated voice streams through a relay.
import type { Socket } from 'node:dgram'
import { performance } from 'node:perf_hooks'
import { encodeChannelData, type TransportAddress } from '../../node/index.js'
import { pool, round } from '../lib/measure.js'
import type { RelayChild } from './relay-servers.js'
import { CHANNEL, openStream, STREAM_PAYLOAD_BYTES, STREAM_PPS, type Stream } from './turn-stream.js'
import { bindUdp } from './util.js'

export const PEER_SOCKETS = 8
const PEER_RECV_BUFFER = 4 * 1024 * 1024
const BIN_MS = 0.05
const BINS = 40_000

/** Receivers: counts per step (byte 8 of the payload), transit times in 0.05 ms bins per step. */
export class PeerReceivers {
  readonly sockets: Socket[] = []
  readonly received = new Map<number, number>()
  readonly transit = new Map<number, Uint32Array>()

  get addresses (): TransportAddress[] {
    return this.sockets.map(p => ({ address: '127.0.0.1', port: p.address().port }))
  }

  async bind (): Promise<void> {
    for (let i = 0; i < PEER_SOCKETS; i++) {
      const socket = await bindUdp('127.0.0.1')
      try { socket.setRecvBufferSize(PEER_RECV_BUFFER) } catch { /* keeps the default */ }
      socket.on('message', bytes => { this.receive(bytes) })
      this.sockets.push(socket)
    }
  }

  /** The p-th percentile of a step's transit times (ms), NaN when nothing arrived. */
  transitPercentile (step: number, p: number): number {
    const bins = this.transit.get(step)
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

  forget (step: number): void {
    this.transit.delete(step)
    this.received.delete(step)
  }

  private receive (bytes: Buffer): void {
    if (bytes.length !== STREAM_PAYLOAD_BYTES) return
    const step = bytes[8] as number
    if (step === 0) return
    this.received.set(step, (this.received.get(step) ?? 0) + 1)
    let bins = this.transit.get(step)
    if (bins === undefined) this.transit.set(step, bins = new Uint32Array(BINS))
    const ms = performance.now() - bytes.readDoubleLE(9)
    const bin = Math.min(BINS - 1, Math.max(0, Math.floor(ms / BIN_MS)))
    bins[bin] = (bins[bin] as number) + 1
  }
}

/**
 * Sender: every 2 ms, each active stream sends what is due at 50 packets/s (a stream more than
 * 5 packets behind skips ahead, as the call audio clock does, and the skipped packets are counted).
 * Payload: stream index (u32), sequence number (u32), step (u8), send time (f64), peer port (u16).
 */
export class StreamSender {
  readonly streams: Stream[] = []
  /** Streams sending now: the first `active` of `streams`. */
  active = 0
  /** The step the packets sent now belong to (0: between steps, not counted). */
  tag = 0
  skipped = 0
  allocationsFailed = 0
  readonly sentByStep = new Map<number, number>()
  private readonly payload = Buffer.alloc(STREAM_PAYLOAD_BYTES)
  private timer: ReturnType<typeof setInterval> | undefined

  /** `target`: the relay the packets go to, switched between steps. */
  constructor (public target: RelayChild) {}

  start (): void {
    this.timer = setInterval(() => { this.tick() }, 2)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Opens streams (allocations on `turn`) until there are `count`; failures are counted. */
  async ensure (count: number, turn: RelayChild, secret: string, peers: TransportAddress[]): Promise<void> {
    const from = this.streams.length
    await pool(Math.max(0, count - from), 32, async i => {
      const index = from + i
      try {
        this.streams.push(await openStream(index, turn.address, secret, peers[index % PEER_SOCKETS] as TransportAddress))
      } catch (err) {
        this.allocationsFailed++
        if (this.allocationsFailed <= 3) process.stderr.write(`call-bench: ${(err as Error).message}\n`)
      }
    })
  }

  setActive (count: number): void {
    const now = performance.now()
    // Newly active streams start spread over one 20 ms period.
    for (let i = this.active; i < Math.min(count, this.streams.length); i++) {
      const s = this.streams[i] as Stream
      s.start = now + (i % 10) * 2
      s.sent = 0
    }
    this.active = Math.min(count, this.streams.length)
  }

  private tick (): void {
    const now = performance.now()
    const to = this.target.address
    const payload = this.payload
    for (let i = 0; i < this.active; i++) {
      const s = this.streams[i] as Stream
      const due = Math.floor((now - s.start) / (1000 / STREAM_PPS)) + 1
      if (due - s.sent > 5) { this.skipped += due - s.sent - 1; s.sent = due - 1 }
      while (s.sent < due) {
        payload.writeUInt32LE(s.index, 0)
        payload.writeUInt32LE(s.seq++, 4)
        payload[8] = this.tag
        payload.writeDoubleLE(performance.now(), 9)
        payload.writeUInt16LE(s.peer.port, 17)
        s.socket.send(encodeChannelData(CHANNEL, payload), to.port, to.address)
        s.sent++
        if (this.tag !== 0) this.sentByStep.set(this.tag, (this.sentByStep.get(this.tag) ?? 0) + 1)
      }
    }
  }
}
