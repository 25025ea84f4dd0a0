// Adaptive jitter buffer, sans-IO: RTP packets go in as they arrive (push), one frame comes out
// per pop, both stamped by the caller's clock.
//
// Timing. A packet's transit is arrival − media time (RTP timestamp in ms). The smallest transit
// of the last BASE_WINDOW packets is the path's floor (`base`, which also follows clock drift); a
// packet's delay is how long after base + its media time it is played. The buffer aims it at
//     target = clamp(max(min, JITTER_FACTOR × J while n < PEAK_WINDOW, peak × (n + 1) / (n − 1) + PEAK_MARGIN), min, max)
// J: the RFC 3550 jitter estimate (A.8: J += (|D| − J) / 16, ms); peak: the largest transit above
// base among the last n ≤ PEAK_WINDOW packets (a late packet raises the target at once). The
// largest of n samples falls short of their spread by about 1/(n + 1) of it and base exceeds its
// floor as much, hence (n + 1) / (n − 1); the margin covers the sender's timer and encode-time
// noise; the minimum is a floor, not a margin every path pays. 4 J guards a young stream whose peak
// has seen little; with the window full the peak measures the spread, 4 J would only add delay.
//
// Playout. The caller pops when the buffer says: first at playoutStartMs() (the first packet has
// waited max(target, START_DELAY): the start knows nothing of the path yet), then every frame —
// so the playout sits at the delay chosen, not up to a frame later as on a pop grid of its own.
// Each pop plays the next sequence number: the packet when it is there, else 'missing' (the
// caller conceals), holding it (the delay grows a frame) while the delay is below target, giving
// it up otherwise. Growing by frames overshoots: every SETTLE_FRAMES pops, a delay above target
// comes back down to it — the packet carries `skipMs`, the caller plays it without its first
// skipMs (cross-faded) and pops the next one that much sooner. More than a frame above target
// with the next packet here, one frame is discarded (at most one per SHRINK_INTERVAL_MS). A
// packet after its turn is dropped as late, a repeated one as a duplicate. Sequence numbers
// (16-bit) and timestamps (32-bit) are unwrapped. After IDLE_MS without packets: paused ('empty') till the next.
//
// Resync. Given-up packets that were only late (the sender stood still, the path got slower) leave
// later ones behind the playout: the newest packet yet, more than RESYNC_FRAMES behind the playout
// with the buffer empty, restarts it from itself on a fresh floor.

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
/** Added to the (corrected) peak in the target, ms: the sender's timer and encode-time noise. */
export const JITTER_PEAK_MARGIN_MS = 2
/** The first packet of a stream waits at least this long (ms above the floor) before it plays. */
export const JITTER_START_DELAY_MS = 30
/** Every this many pops the delay is brought down to the target (200 ms at 20 ms frames). */
export const JITTER_SETTLE_FRAMES = 10
/** Skips (ms) are at least MIN_SKIP (less is not worth a seam) and leave SKIP_KEEP of the frame for a cross-fade. */
export const JITTER_MIN_SKIP_MS = 1
export const JITTER_SKIP_KEEP_MS = 2.5
/** Received sequence numbers remembered for duplicate detection. */
const SEEN_WINDOW = 1024

export interface JitterBufferOptions {
  /** RTP clock rate; default 48000 (Opus). */
  clockRate?: number
  /** Packet duration and pop interval; default 20 ms. */
  frameMs?: number
  /** Target delay bounds; default 10 and 200 ms. */
  minDelayMs?: number
  maxDelayMs?: number
  /** Packets held at most; default enough for twice the maximum delay. */
  capacity?: number
}

export type JitterOutput =
  /** A frame to play. With `skipMs` (now and then): play it without its first skipMs, pop the next one that much sooner. */
  | { kind: 'packet', payload: Uint8Array, sequence: number, timestamp: number, skipMs?: number }
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
  /** Pops since the stream started or last settled. */
  private popsSinceSettle = 0

  private counters = { received: 0, duplicates: 0, late: 0, played: 0, concealed: 0, discarded: 0, starts: 0 }

  constructor (options: JitterBufferOptions = {}) {
    this.clockRate = options.clockRate ?? 48_000
    this.frameMs = options.frameMs ?? 20
    this.minDelayMs = options.minDelayMs ?? 10
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

  /**
   * When to pop first: the first buffered packet has waited the start delay (a past time means now; it
   * may move as packets arrive). Undefined while playing, or with nothing buffered.
   */
  playoutStartMs (): number | undefined {
    if (this.started) return undefined
    const first = this.lowestEntry()
    if (first === undefined) return undefined
    return this.extendTimestamp(first.timestamp) * 1000 / this.clockRate + this.base() + this.startDelayMs()
  }

  /** The frame to play now; call at playoutStartMs(), then once per frame interval. */
  pop (nowMs: number): JitterOutput {
    if (!this.started) {
      if (!this.startIfDue(nowMs)) return { kind: 'empty' }
    } else if (this.entries.size === 0 && nowMs - this.lastArrivalMs > JITTER_IDLE_MS) {
      this.started = false // paused: start again with the next packet
      return { kind: 'empty' }
    }
    const target = this.targetDelayMs()
    this.popsSinceSettle++
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
      this.counters.played++
      const out: JitterOutput = { kind: 'packet', payload: head.payload, sequence: head.sequence, timestamp: head.timestamp }
      const settle = this.popsSinceSettle >= JITTER_SETTLE_FRAMES // bring an overshoot down to the target
      if (settle) this.popsSinceSettle = 0
      const skip = settle ? Math.min(delay - target, this.frameMs - JITTER_SKIP_KEEP_MS) : 0
      if (skip >= JITTER_MIN_SKIP_MS) out.skipMs = skip
      this.currentDelayMs = delay - (out.skipMs ?? 0)
      return out
    }
    // The packet is not here: hold it while the buffer is below target, else give it up.
    const delay = (nowMs - this.playTs * 1000 / this.clockRate) - this.base()
    this.currentDelayMs = delay
    this.counters.concealed++
    if (delay < target && delay < this.maxDelayMs) return { kind: 'missing' }
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
    const n = Math.min(this.transitCount, JITTER_PEAK_WINDOW)
    const peak = n < 2 ? 0 : (this.peakTransit() - this.base()) * (n + 1) / (n - 1) + JITTER_PEAK_MARGIN_MS
    return Math.min(this.maxDelayMs, Math.max(this.minDelayMs, n < JITTER_PEAK_WINDOW ? JITTER_FACTOR * this.jitter : 0, peak))
  }

  // ---- internals ---------------------------------------------------------------
  /** The delay the first packet of a stream waits before it plays, ms. */
  private startDelayMs (): number { return Math.min(this.maxDelayMs, Math.max(JITTER_START_DELAY_MS, this.targetDelayMs())) }

  /** Starts once the first packet has waited the start delay less half a frame (for callers popping on a grid). */
  private startIfDue (nowMs: number): boolean {
    const first = this.lowestEntry()
    if (first === undefined) return false
    const extTs = this.extendTimestamp(first.timestamp)
    if (this.delayAt(extTs, nowMs) < this.startDelayMs() - this.frameMs / 2) return false
    this.started = true
    this.playSeq = first.seq
    this.playTs = extTs
    this.popsSinceSettle = 0
    this.counters.starts++
    return true
  }

  /** The buffered packet with the lowest sequence number, with its extended sequence number. */
  private lowestEntry (): (Entry & { seq: number }) | undefined {
    let lowest: number | undefined
    for (const seq of this.entries.keys()) if (lowest === undefined || seq < lowest) lowest = seq
    return lowest === undefined ? undefined : { ...(this.entries.get(lowest) as Entry), seq: lowest }
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
    const entry = this.lowestEntry()
    if (entry === undefined) return
    const lowest = entry.seq
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

  /** A new stream (a sequence jump, or a new SSRC): forget packets (counted as discarded) and timing, keep the counters. */
  restart (): void {
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
