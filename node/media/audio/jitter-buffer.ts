// Adaptive jitter buffer, sans-IO: RTP packets go in as they arrive (push), one frame comes out
// every 20 ms (pop), both stamped by the caller's clock.
//
// Timing. Each packet's transit is arrival − media time (its RTP timestamp in ms). The smallest
// transit of the last BASE_WINDOW packets is the path's floor (`base`, which also follows clock
// drift); a packet's delay is how long after base + its media time it is played. The buffer
// aims that delay at a target
//     target = clamp(min + max(JITTER_FACTOR × J, peak), min, max)
// where J is the RFC 3550 interarrival jitter estimate (A.8: J += (|D| − J) / 16, in ms) and
// peak is the largest transit above base among the last PEAK_WINDOW packets (a late packet
// therefore raises the target at once; the target comes back down as J decays and the peak
// leaves the window).
//
// Playout. A stream starts once its first packet has waited about the target. Then every pop
// plays the next sequence number: the packet when it is there; when it is not, 'missing' (the
// caller conceals) — advancing past it when it is due (its delay has reached target − one
// frame, or later packets are waiting), holding it (the delay grows a frame) when the buffer is
// below target and it may still come. When the delay is more than a frame above target and the
// following packet is already here, one frame is discarded to catch up (at most one every
// SHRINK_INTERVAL_MS). A packet that arrives after its turn is dropped as late; a repeated one as
// a duplicate. Sequence numbers (16-bit) and timestamps (32-bit) are unwrapped. After IDLE_MS
// without packets the stream counts as paused: pop answers 'empty' and the next packet starts
// it again.
//
// Resync. Giving up on missing packets moves the playout on in real time, as if they were lost.
// When they were only late by more than the target can grow to cover (the sender's event loop
// stood still for a few hundred ms, the path got slower), every packet after that comes behind the
// playout and would be dropped as late for the rest of the stream. So a packet that is the newest
// yet, comes more than RESYNC_FRAMES behind the playout and finds the buffer empty starts the
// playout again from itself, with the delay floor measured afresh.

/** Packets whose transits make the floor of the delay: 10 s at 50 packets/s. */
export const JITTER_BASE_WINDOW = 500
/** Packets whose transits make the peak: 2 s at 50 packets/s. */
export const JITTER_PEAK_WINDOW = 100
/** Target covers this many times the RFC 3550 jitter. */
export const JITTER_FACTOR = 4
/** At most one frame discarded per this long when catching up. */
export const JITTER_SHRINK_INTERVAL_MS = 100
/** No packet for this long: the stream is paused, pop answers 'empty'. */
export const JITTER_IDLE_MS = 500
/** A sequence jump larger than this (either way) is a new stream: the buffer starts over. */
export const JITTER_MAX_SEQUENCE_JUMP = 1000
/** Frames behind the playout at which the newest packet, with nothing buffered, resyncs it. */
export const JITTER_RESYNC_FRAMES = 3
/** Received sequence numbers remembered for duplicate detection. */
const SEEN_WINDOW = 1024

export interface JitterBufferOptions {
  /** RTP clock rate; default 48000 (Opus). */
  clockRate?: number
  /** Packet duration and pop interval; default 20 ms. */
  frameMs?: number
  /** Target delay bounds; default 20 and 200 ms. */
  minDelayMs?: number
  maxDelayMs?: number
  /** Packets held at most; default enough for twice the maximum delay. */
  capacity?: number
}

export type JitterOutput =
  | { kind: 'packet', payload: Uint8Array, sequence: number, timestamp: number }
  /** A frame to conceal. `nextPayload`: the following packet, when here (for FEC). */
  | { kind: 'missing', nextPayload?: Uint8Array }
  /** Nothing to play: not started, or the stream paused. */
  | { kind: 'empty' }

export type PushResult = 'buffered' | 'duplicate' | 'late' | 'restarted'

export interface JitterStats {
  /** RFC 3550 interarrival jitter estimate, ms. */
  jitterMs: number
  targetDelayMs: number
  /** Delay of the frame played last (ms above the path's floor). */
  currentDelayMs: number
  /** Packets in the buffer now. */
  buffered: number
  /** Distinct packets received. */
  received: number
  /** Expected − received over the highest sequence span seen (RFC 3550 cumulative loss), at least 0. */
  lost: number
  lossPercent: number
  duplicates: number
  /** Packets that came after their turn and were dropped. */
  late: number
  /** Packets played. */
  played: number
  /** Frames answered 'missing' (the caller concealed them). */
  concealed: number
  /** Packets discarded to bring the delay back down, or because the buffer was full. */
  discarded: number
  /** Times the stream started (the first packet, after a pause, after a sequence jump, after a resync). */
  starts: number
}

interface Entry { sequence: number, timestamp: number, payload: Uint8Array }

const SEQ_MOD = 0x10000
const TS_MOD = 0x1_0000_0000

export class JitterBuffer {
  private readonly clockRate: number
  private readonly frameMs: number
  private readonly frameTicks: number
  private readonly minDelayMs: number
  private readonly maxDelayMs: number
  private readonly capacity: number

  private readonly entries = new Map<number, Entry>()
  private readonly seen = new Set<number>()
  /** Transits (ms) of the last JITTER_BASE_WINDOW packets, a ring. */
  private readonly transits: Float64Array
  private transitCount = 0
  private transitNext = 0

  private highestSeq: number | undefined // extended
  private firstSeq = 0
  /** Packets expected in streams before the last restart. */
  private expectedBefore = 0
  private referenceTs: number | undefined // extended timestamp of the last packet pushed
  private previousTransit: number | undefined
  private jitter = 0
  private lastArrivalMs = -Infinity

  private started = false
  private playSeq = 0
  private playTs = 0
  private lastShrinkMs = -Infinity
  private currentDelayMs = 0

  private counters = { received: 0, duplicates: 0, late: 0, played: 0, concealed: 0, discarded: 0, starts: 0 }

  constructor (options: JitterBufferOptions = {}) {
    this.clockRate = options.clockRate ?? 48_000
    this.frameMs = options.frameMs ?? 20
    this.minDelayMs = options.minDelayMs ?? 20
    this.maxDelayMs = options.maxDelayMs ?? 200
    if (!(this.clockRate > 0 && this.frameMs > 0 && this.minDelayMs >= 0 && this.maxDelayMs >= this.minDelayMs)) {
      throw new RangeError('JitterBuffer: clockRate and frameMs must be positive and 0 ≤ minDelayMs ≤ maxDelayMs')
    }
    this.frameTicks = Math.round(this.clockRate * this.frameMs / 1000)
    this.capacity = options.capacity ?? Math.ceil(2 * this.maxDelayMs / this.frameMs) + 4
    this.transits = new Float64Array(JITTER_BASE_WINDOW)
  }

  /** Takes a packet as it arrives. Sequence is the 16-bit RTP sequence number, timestamp the 32-bit RTP timestamp. */
  push (sequence: number, timestamp: number, payload: Uint8Array, arrivalMs: number): PushResult {
    let result: PushResult = 'buffered'
    let seq = this.unwrapSequence(sequence)
    if (this.highestSeq !== undefined && Math.abs(seq - this.highestSeq) > JITTER_MAX_SEQUENCE_JUMP) {
      this.restart()
      seq = sequence & 0xFFFF
      result = 'restarted'
    }
    if (this.seen.has(seq) || this.entries.has(seq)) {
      this.counters.duplicates++
      return 'duplicate'
    }
    const ts = this.referenceTs === undefined ? timestamp >>> 0 : this.extendTimestamp(timestamp)
    this.referenceTs = ts
    this.remember(seq)
    this.counters.received++
    if (this.highestSeq === undefined) {
      this.firstSeq = seq
      this.highestSeq = seq
    } else if (seq > this.highestSeq) {
      this.highestSeq = seq
    } else if (seq < this.firstSeq) {
      this.firstSeq = seq
    }
    this.lastArrivalMs = arrivalMs
    if (this.started && seq === this.highestSeq && this.entries.size === 0 && this.playSeq - seq > JITTER_RESYNC_FRAMES) {
      this.resync()
      result = 'restarted'
    }
    this.recordTransit(arrivalMs - ts * 1000 / this.clockRate)
    if (this.started && seq < this.playSeq) {
      this.counters.late++
      return 'late'
    }
    this.entries.set(seq, { sequence: sequence & 0xFFFF, timestamp: timestamp >>> 0, payload })
    if (this.entries.size > this.capacity) this.evictOldest()
    return result
  }

  /** The frame to play now; call once per frame interval. */
  pop (nowMs: number): JitterOutput {
    if (!this.started) {
      if (!this.startIfDue(nowMs)) return { kind: 'empty' }
    } else if (this.entries.size === 0 && nowMs - this.lastArrivalMs > JITTER_IDLE_MS) {
      this.started = false // paused: start again with the next packet
      return { kind: 'empty' }
    }
    const target = this.targetDelayMs()
    let head = this.entries.get(this.playSeq)
    if (head !== undefined) {
      let delay = this.delayOf(head.timestamp, nowMs)
      const catchUp = delay > target + this.frameMs && this.entries.has(this.playSeq + 1) &&
        (nowMs - this.lastShrinkMs >= JITTER_SHRINK_INTERVAL_MS || delay > this.maxDelayMs + this.frameMs)
      if (catchUp) {
        this.entries.delete(this.playSeq)
        this.counters.discarded++
        this.advance(head)
        this.lastShrinkMs = nowMs
        head = this.entries.get(this.playSeq) as Entry
        delay = this.delayOf(head.timestamp, nowMs)
      }
      this.entries.delete(this.playSeq)
      this.advance(head)
      this.currentDelayMs = delay
      this.counters.played++
      return { kind: 'packet', payload: head.payload, sequence: head.sequence, timestamp: head.timestamp }
    }
    // The packet is not here: hold it while the buffer is well below target, else give it up.
    const delay = (nowMs - this.playTs * 1000 / this.clockRate) - this.base()
    this.currentDelayMs = delay
    this.counters.concealed++
    if (delay < target - this.frameMs && delay < this.maxDelayMs) return { kind: 'missing' }
    const next = this.entries.get(this.playSeq + 1)
    this.playSeq++
    this.playTs += this.frameTicks
    return next === undefined ? { kind: 'missing' } : { kind: 'missing', nextPayload: next.payload }
  }

  stats (): JitterStats {
    const expected = this.expectedBefore + (this.highestSeq === undefined ? 0 : this.highestSeq - this.firstSeq + 1)
    const lost = Math.max(0, expected - this.counters.received)
    return {
      jitterMs: this.jitter,
      targetDelayMs: this.targetDelayMs(),
      currentDelayMs: this.currentDelayMs,
      buffered: this.entries.size,
      ...this.counters,
      lost,
      lossPercent: expected === 0 ? 0 : 100 * lost / expected
    }
  }

  /** The delay the buffer aims at now, ms. */
  targetDelayMs (): number {
    const peak = this.transitCount === 0 ? 0 : this.peakTransit() - this.base()
    return Math.min(this.maxDelayMs, Math.max(this.minDelayMs, this.minDelayMs + Math.max(JITTER_FACTOR * this.jitter, peak)))
  }

  // ---- internals ---------------------------------------------------------------

  private startIfDue (nowMs: number): boolean {
    let lowest: number | undefined
    for (const seq of this.entries.keys()) if (lowest === undefined || seq < lowest) lowest = seq
    if (lowest === undefined) return false
    const entry = this.entries.get(lowest) as Entry
    const extTs = this.extendTimestamp(entry.timestamp)
    if (this.delayAt(extTs, nowMs) < this.targetDelayMs() - this.frameMs / 2) return false
    this.started = true
    this.playSeq = lowest
    this.playTs = extTs
    this.counters.starts++
    return true
  }

  private advance (played: Entry): void {
    this.playSeq++
    this.playTs = this.extendTimestamp(played.timestamp) + this.frameTicks
  }

  private delayOf (timestamp: number, nowMs: number): number {
    return this.delayAt(this.extendTimestamp(timestamp), nowMs)
  }

  private delayAt (extTs: number, nowMs: number): number {
    return nowMs - extTs * 1000 / this.clockRate - this.base()
  }

  private base (): number {
    let min = Infinity
    for (let i = 0; i < this.transitCount; i++) min = Math.min(min, this.transits[i] as number)
    return min === Infinity ? 0 : min
  }

  private peakTransit (): number {
    let max = -Infinity
    const n = Math.min(this.transitCount, JITTER_PEAK_WINDOW)
    for (let k = 1; k <= n; k++) {
      const i = (this.transitNext - k + JITTER_BASE_WINDOW) % JITTER_BASE_WINDOW
      max = Math.max(max, this.transits[i] as number)
    }
    return max
  }

  private recordTransit (transit: number): void {
    if (this.previousTransit !== undefined) this.jitter += (Math.abs(transit - this.previousTransit) - this.jitter) / 16
    this.previousTransit = transit
    this.transits[this.transitNext] = transit
    this.transitNext = (this.transitNext + 1) % JITTER_BASE_WINDOW
    this.transitCount = Math.min(this.transitCount + 1, JITTER_BASE_WINDOW)
  }

  /** Extended sequence number: the 16-bit value nearest the highest seen. */
  private unwrapSequence (sequence: number): number {
    const s = sequence & 0xFFFF
    if (this.highestSeq === undefined) return s
    let diff = s - (this.highestSeq % SEQ_MOD)
    if (diff > SEQ_MOD / 2) diff -= SEQ_MOD
    else if (diff < -SEQ_MOD / 2) diff += SEQ_MOD
    return this.highestSeq + diff
  }

  /** Extended timestamp: the 32-bit value nearest the last one pushed. */
  private extendTimestamp (timestamp: number): number {
    const t = timestamp >>> 0
    const reference = this.referenceTs ?? t
    let diff = t - (((reference % TS_MOD) + TS_MOD) % TS_MOD)
    if (diff > TS_MOD / 2) diff -= TS_MOD
    else if (diff < -TS_MOD / 2) diff += TS_MOD
    return reference + diff
  }

  private remember (seq: number): void {
    this.seen.add(seq)
    if (this.seen.size > 2 * SEEN_WINDOW) {
      const floor = (this.highestSeq ?? seq) - SEEN_WINDOW
      for (const s of this.seen) if (s < floor) this.seen.delete(s)
    }
  }

  private evictOldest (): void {
    let lowest: number | undefined
    for (const seq of this.entries.keys()) if (lowest === undefined || seq < lowest) lowest = seq
    if (lowest === undefined) return
    const entry = this.entries.get(lowest) as Entry
    this.entries.delete(lowest)
    this.counters.discarded++
    if (this.started && lowest === this.playSeq) this.advance(entry)
    else if (this.started && lowest > this.playSeq) {
      // Everything before it is gone too: play on from after it.
      this.playSeq = lowest + 1
      this.playTs = this.extendTimestamp(entry.timestamp) + this.frameTicks
    }
  }

  /** The playout overran the stream: start it again from the next packet, on a fresh delay floor (counters and loss kept). */
  private resync (): void {
    this.started = false
    this.transitCount = 0
    this.transitNext = 0
    this.previousTransit = undefined
  }

  /** A new stream (sequence jump): forget packets (counted as discarded) and timing, keep the counters. */
  private restart (): void {
    if (this.highestSeq !== undefined) this.expectedBefore += this.highestSeq - this.firstSeq + 1
    this.referenceTs = undefined
    this.counters.discarded += this.entries.size
    this.entries.clear()
    this.seen.clear()
    this.transitCount = 0
    this.transitNext = 0
    this.previousTransit = undefined
    this.jitter = 0
    this.highestSeq = undefined
    this.started = false
  }
}
