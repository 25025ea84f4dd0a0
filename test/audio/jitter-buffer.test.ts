import { describe, expect, it } from 'vitest'
import { JITTER_IDLE_MS, JITTER_SKIP_KEEP_MS, JITTER_START_DELAY_MS, JitterBuffer, type JitterOutput } from '../../node/media/audio/jitter-buffer.js'
import { seededRandom } from '../helpers/random.js'

const FRAME = 960

interface Sent { index: number, arrival: number }
interface Simulation {
  buffer: JitterBuffer
  /** What each pop returned, with the packet index for played packets. */
  outputs: Array<JitterOutput & { index?: number, at: number }>
  pushResults: Map<number, string>
}

/**
 * A sender emits packet i at i × 20 ms (sequence firstSeq + i, timestamp firstTs + i × 960);
 * the network adds `delay(i)` ms or loses it (null); the receiver pops as call-audio.ts does: at
 * playoutStartMs(), then every 20 ms less any skipMs, until 'empty' (then at the next start).
 */
function simulate (options: {
  packets: number
  delay: (i: number) => number | null
  firstSeq?: number
  firstTs?: number
  extraPops?: number
  buffer?: JitterBuffer
}): Simulation {
  const buffer = options.buffer ?? new JitterBuffer()
  const firstSeq = options.firstSeq ?? 1000
  const firstTs = options.firstTs ?? 123_456
  const base = 40 // one-way path floor, ms
  const sent: Sent[] = []
  for (let i = 0; i < options.packets; i++) {
    const d = options.delay(i)
    if (d !== null) sent.push({ index: i, arrival: i * 20 + base + d })
  }
  sent.sort((a, b) => a.arrival - b.arrival || a.index - b.index)
  const payloadIndex = new Map<Uint8Array, number>()
  const outputs: Simulation['outputs'] = []
  const pushResults = new Map<number, string>()
  const endAt = base + (options.packets + (options.extraPops ?? 20)) * 20
  let nextPop: number | undefined
  let next = 0
  for (;;) {
    const arrival = next < sent.length ? (sent[next] as Sent).arrival : Infinity
    const popAt = nextPop ?? buffer.playoutStartMs() ?? Infinity
    if (arrival <= popAt && arrival < endAt) {
      const { index } = sent[next++] as Sent
      const payload = Uint8Array.of(index & 0xFF, index >> 8)
      payloadIndex.set(payload, index)
      const result = buffer.push((firstSeq + index) & 0xFFFF, (firstTs + index * FRAME) >>> 0, payload, arrival)
      pushResults.set(index, result)
      if (result === 'restarted') nextPop = undefined
      continue
    }
    if (popAt >= endAt) break
    const out = buffer.pop(popAt)
    outputs.push(out.kind === 'packet' ? { ...out, index: payloadIndex.get(out.payload), at: popAt } : { ...out, at: popAt })
    if (out.kind === 'empty' && nextPop === undefined) throw new Error('the buffer did not start at playoutStartMs()')
    nextPop = out.kind === 'empty' ? undefined : popAt + 20 - (out.kind === 'packet' ? out.skipMs ?? 0 : 0)
  }
  return { buffer, outputs, pushResults }
}

const played = (s: Simulation): number[] => s.outputs.filter(o => o.kind === 'packet').map(o => o.index as number)

describe('JitterBuffer', () => {
  it('answers empty until the first packet has waited, then plays every packet in order, settling at the minimum delay', () => {
    const buffer = new JitterBuffer()
    expect(buffer.pop(0)).toEqual({ kind: 'empty' })
    const sim = simulate({ packets: 200, delay: () => 0, buffer })
    expect(played(sim)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    const stats = buffer.stats()
    // A clean path: the target is the minimum (10 ms), not the minimum plus anything.
    expect(stats).toMatchObject({ received: 200, played: 200, lost: 0, late: 0, duplicates: 0, discarded: 0, starts: 1, jitterMs: 0, targetDelayMs: 10 })
    expect(stats.currentDelayMs).toBeCloseTo(10, 6)
    // No 'missing' between the first packet and the last.
    expect(sim.outputs.slice(0, 200).every(o => o.kind === 'packet')).toBe(true)
    // The first pop is the start delay after packet 0's arrival (40 ms path floor).
    expect(sim.outputs[0]?.at).toBe(40 + JITTER_START_DELAY_MS)
    // From the 30 ms start the playout came down to 10 ms in skips, each leaving part of its frame.
    const skips = sim.outputs.flatMap(o => o.kind === 'packet' && o.skipMs !== undefined ? [o.skipMs] : [])
    expect(skips).toEqual([20 - JITTER_SKIP_KEEP_MS, JITTER_SKIP_KEEP_MS])
    // Every packet after the skips is played 10 ms after it arrived.
    expect(sim.outputs.find(o => o.index === 199)?.at).toBeCloseTo(40 + 199 * 20 + 10, 6)
  })

  it('tells when to start: the start delay after the first packet, sooner when a later one shows a lower floor', () => {
    const buffer = new JitterBuffer()
    expect(buffer.playoutStartMs()).toBeUndefined()
    buffer.push(7, 7 * FRAME, Uint8Array.of(0), 1000) // transit 1000 − 140 = 860
    expect(buffer.playoutStartMs()).toBe(1000 + JITTER_START_DELAY_MS)
    buffer.push(8, 8 * FRAME, Uint8Array.of(1), 1015) // transit 855: the floor is 5 ms lower
    expect(buffer.playoutStartMs()).toBe(1000 - 5 + JITTER_START_DELAY_MS)
    expect(buffer.pop(1000 - 6 + JITTER_START_DELAY_MS - 10)).toEqual({ kind: 'empty' }) // more than half a frame early
    expect(buffer.pop(1000 - 5 + JITTER_START_DELAY_MS)).toMatchObject({ kind: 'packet', sequence: 7 })
    expect(buffer.playoutStartMs()).toBeUndefined() // playing
  })

  it('aims at the largest of min and the (corrected) peak once the window is full, not min + max(4 J, peak)', () => {
    const random = seededRandom(7)
    const sim = simulate({ packets: 500, delay: () => random() * 10 })
    const stats = sim.buffer.stats()
    // Uniform 0–10 ms: J ≈ 3.3, 4 J ≈ 13, the peak ≈ 10 (+ 2 ms margin): the old min + max(…) was over 30.
    expect(stats.targetDelayMs).toBeGreaterThanOrEqual(12)
    expect(stats.targetDelayMs).toBeLessThanOrEqual(16)
    expect(stats.late).toBe(0)
    expect(played(sim)).toEqual(Array.from({ length: 500 }, (_, i) => i)) // nothing concealed
  })

  it('guards a young stream with 4 × J, then aims at the peak alone once its window is full', () => {
    const buffer = new JitterBuffer()
    const push = (i: number): void => { buffer.push(i, i * FRAME, Uint8Array.of(0), i * 20 + (i % 2) * 10) } // 0 / 10 ms alternating
    for (let i = 0; i < 20; i++) push(i)
    const young = buffer.stats()
    expect(young.targetDelayMs).toBeCloseTo(4 * young.jitterMs, 6) // J ≈ 7: 4 J ≈ 28, over the peak's 10 × 21/19 + 2
    for (let i = 20; i < 150; i++) push(i)
    const full = buffer.stats()
    expect(full.jitterMs).toBeGreaterThan(9) // 4 J would be near 40
    expect(full.targetDelayMs).toBeCloseTo(10 * 101 / 99 + 2, 6)
  })

  it('holds a missing packet while the delay is below target, so a slow packet is played, not lost', () => {
    // Packet 100 is 25 ms slow: it comes after its turn (the target did not know), and raises the
    // target through the peak. Packet 120, as slow, finds the delay below target: held a frame, played.
    const sim = simulate({ packets: 200, delay: i => i === 100 || i === 120 ? 25 : 0 })
    expect(sim.pushResults.get(100)).toBe('late')
    expect(sim.pushResults.get(120)).toBe('buffered')
    expect(played(sim)).toContain(120)
    expect(sim.buffer.stats().late).toBe(1)
    // Concealed: 100 (lost) and one frame of hold for 120, nothing else up to the last packet.
    const last = sim.outputs.findIndex(o => o.index === 199)
    expect(sim.outputs.slice(0, last).filter(o => o.kind === 'missing')).toHaveLength(2)
  })

  it('puts reordered packets back in order', () => {
    // Every pair swapped: packet 2k arrives 5 ms after packet 2k+1 (which is on time).
    const sim = simulate({ packets: 300, delay: i => i % 2 === 0 ? 25 : 0 })
    const order = played(sim)
    expect(order).toEqual([...order].sort((a, b) => a - b))
    // Once the buffer has seen the pattern (first second), nothing is late or missing; when the
    // peak window is full the target drops from 4 J (100 ms here) to the 25 ms spread, and the
    // playout catches up by a frame or two.
    const tail = order.filter(i => i >= 50)
    expect(tail.length).toBeGreaterThanOrEqual(247)
    expect(sim.buffer.stats().late).toBeLessThanOrEqual(2)
    expect(sim.buffer.stats().late + sim.buffer.stats().discarded + tail.length).toBeGreaterThanOrEqual(250)
    expect(sim.buffer.stats().targetDelayMs).toBeLessThan(30)
  })

  it('plays reordered packets that arrive together in sequence order', () => {
    const buffer = new JitterBuffer()
    for (const i of [2, 0, 1, 4, 3]) buffer.push(500 + i, i * FRAME, Uint8Array.of(i), 0)
    const seqs: number[] = []
    for (let t = 0; t < 200; t += 20) {
      const out = buffer.pop(t)
      if (out.kind === 'packet') seqs.push(out.sequence)
    }
    expect(seqs).toEqual([500, 501, 502, 503, 504])
  })

  it('drops duplicates', () => {
    const buffer = new JitterBuffer()
    expect(buffer.push(10, 0, Uint8Array.of(1), 0)).toBe('buffered')
    expect(buffer.push(10, 0, Uint8Array.of(1), 1)).toBe('duplicate')
    expect(buffer.push(11, FRAME, Uint8Array.of(2), 20)).toBe('buffered')
    const outs = [buffer.pop(20), buffer.pop(40)]
    expect(outs.map(o => o.kind === 'packet' ? o.sequence : o.kind)).toEqual([10, 11])
    expect(buffer.push(10, 0, Uint8Array.of(1), 41)).toBe('duplicate') // already played
    expect(buffer.stats()).toMatchObject({ received: 2, duplicates: 2, played: 2, late: 0 })
  })

  it('drops a packet that arrives after its turn as late, and raises the target delay', () => {
    const sim = simulate({ packets: 100, delay: i => i === 50 ? 90 : 0 })
    expect(sim.pushResults.get(50)).toBe('late')
    const stats = sim.buffer.stats()
    expect(stats.late).toBe(1)
    expect(played(sim)).not.toContain(50)
    expect(stats.concealed).toBeGreaterThanOrEqual(1)
    // The 90 ms transit is in the peak window: the target now covers it.
    expect(stats.targetDelayMs).toBeGreaterThanOrEqual(90)
  })

  it('unwraps sequence numbers and timestamps across 65535 → 0 and 2^32 → 0', () => {
    const sim = simulate({ packets: 100, delay: i => (i * 7) % 13, firstSeq: 65_500, firstTs: 0xFFFF_FFFF - 40 * FRAME })
    expect(played(sim)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    const seqs = sim.outputs.filter(o => o.kind === 'packet').map(o => (o as { sequence: number }).sequence)
    expect(seqs.slice(34, 38)).toEqual([65534, 65535, 0, 1])
    expect(sim.buffer.stats()).toMatchObject({ lost: 0, late: 0, starts: 1, received: 100 })
  })

  it('reports lost packets as missing at their turn, with the next packet for FEC, and counts the loss', () => {
    const lostSet = new Set([10, 20, 21, 50, 77])
    const sim = simulate({ packets: 100, delay: i => lostSet.has(i) ? null : 0 })
    const first = sim.outputs.findIndex(o => o.kind === 'packet')
    const stream = sim.outputs.slice(first, first + 100)
    for (let i = 0; i < 100; i++) {
      const out = stream[i] as Simulation['outputs'][number]
      if (lostSet.has(i)) {
        expect(out.kind).toBe('missing')
        const next = out.kind === 'missing' ? out.nextPayload : undefined
        // The next packet comes with it when it has arrived (packet i + 1 arrives at 40 + (i + 1) × 20 ms).
        if (lostSet.has(i + 1) || 40 + (i + 1) * 20 > out.at) expect(next).toBeUndefined()
        else expect(next?.[0]).toBe((i + 1) & 0xFF)
      } else {
        expect(out.index).toBe(i)
      }
    }
    expect(stream.filter(o => o.kind === 'missing').length).toBe(5)
    const stats = sim.buffer.stats()
    expect(stats).toMatchObject({ lost: 5, lossPercent: 5, received: 95, played: 95, late: 0 })
  })

  it('adapts: the target follows the jitter up, keeps late packets rare, and comes back down when the jitter stops', () => {
    const random = seededRandom(42)
    // 0–10 s: no jitter; 10–30 s: 0–30 ms uniform jitter; 30–45 s: no jitter again.
    const buffer = new JitterBuffer()
    const arrivals = Array.from({ length: 2250 }, (_, i) => ({ i, at: 40 + i * 20 + (i >= 500 && i < 1500 ? random() * 30 : 0) }))
      .sort((a, b) => a.at - b.at)
    const lateByPhase: [number, number, number] = [0, 0, 0]
    const targets: number[] = [] // one a second
    let next = 0
    for (let p = 0; p < 2270; p++) {
      const now = 47 + p * 20
      while (next < arrivals.length && (arrivals[next] as { at: number }).at <= now) {
        const { i, at } = arrivals[next++] as { i: number, at: number }
        if (buffer.push(i, i * FRAME, Uint8Array.of(0), at) === 'late') lateByPhase[i < 500 ? 0 : i < 1500 ? 1 : 2]++
      }
      buffer.pop(now)
      if (p % 50 === 49) targets.push(buffer.stats().targetDelayMs)
    }
    const second = (s: number): number => targets[s - 1] as number
    expect(second(9)).toBe(10)
    expect(second(20)).toBeGreaterThanOrEqual(30) // the 0–30 ms spread, and the margin
    expect(second(29)).toBeLessThanOrEqual(100)
    expect(second(40)).toBeLessThanOrEqual(15) // back down
    expect(lateByPhase[0]).toBe(0)
    expect(lateByPhase[1]).toBeLessThan(1000 * 0.02)
    expect(lateByPhase[2]).toBe(0)
    const stats = buffer.stats()
    expect(stats.discarded).toBeGreaterThan(0) // it caught up once the jitter stopped
    expect(stats.currentDelayMs).toBeLessThan(45)
  })

  it('absorbs a burst: a 120 ms stall then everything at once', () => {
    // Packets 100–105 are held up until the stall ends, arriving with packet 106.
    const sim = simulate({ packets: 300, delay: i => i >= 100 && i <= 105 ? (106 - i) * 20 : 0 })
    const stats = sim.buffer.stats()
    expect(stats.buffered).toBeLessThanOrEqual(2)
    expect(stats.late + stats.played + stats.discarded).toBe(300)
    // Afterwards it settles back to the minimum.
    expect(stats.currentDelayMs).toBeLessThan(45)
    expect(played(sim).slice(-50)).toEqual(Array.from({ length: 50 }, (_, i) => 250 + i))
  })

  it.each([300, 450])('plays on after the stream falls %i ms behind for good (a sender that stood still and dropped the time)', stepMs => {
    // From packet 100 on every packet comes stepMs later: more than the target can grow to cover,
    // less than a pause. The playout gave up on them meanwhile and ran ahead; without a resync every
    // later packet came after its turn and the rest of the stream was concealed silence.
    const sim = simulate({ packets: 300, delay: i => i >= 100 ? stepMs : 0, extraPops: 40 })
    expect(sim.pushResults.get(100)).toBe('restarted')
    const stats = sim.buffer.stats()
    expect(stats.starts).toBe(2)
    expect(stats.late).toBe(0)
    // Every packet from the step on is played, in order, at the minimum delay again.
    expect(played(sim).filter(i => i >= 100)).toEqual(Array.from({ length: 200 }, (_, i) => 100 + i))
    expect(stats.currentDelayMs).toBeLessThan(45)
  })

  it('goes quiet (empty) when the stream pauses and starts again when it resumes', () => {
    const buffer = new JitterBuffer()
    let t = 0
    for (let i = 0; i < 50; i++) { buffer.push(i, i * FRAME, Uint8Array.of(i), t); buffer.pop(t + 10); t += 20 }
    const kinds: string[] = []
    for (let k = 0; k < 40; k++) { kinds.push(buffer.pop(t + 10).kind); t += 20 }
    // What was buffered, then concealment while the gap could be loss, then silence once it is a pause.
    const firstMissing = kinds.indexOf('missing')
    expect(kinds.slice(0, firstMissing).every(k => k === 'packet')).toBe(true)
    expect(firstMissing).toBeLessThanOrEqual(2)
    expect(kinds.filter(k => k === 'missing').length).toBeLessThanOrEqual(JITTER_IDLE_MS / 20 + 1)
    expect(kinds.slice(kinds.indexOf('empty'))).toEqual(Array(kinds.length - kinds.indexOf('empty')).fill('empty'))
    // Resume 1 s later (sequence and timestamps carry on with the sender's clock: packet 90 is due at 1800 ms).
    expect(t).toBe(1800)
    for (let i = 90; i < 140; i++) { buffer.push(i, i * FRAME, Uint8Array.of(i), t); buffer.pop(t + 10); t += 20 }
    const stats = buffer.stats()
    expect(stats.starts).toBe(2)
    expect(stats.played).toBeGreaterThanOrEqual(98)
  })

  it('starts over on a sequence jump (a new stream), and holds at most its capacity', () => {
    const buffer = new JitterBuffer({ capacity: 10 })
    for (let i = 0; i < 30; i++) buffer.push(i, i * FRAME, Uint8Array.of(i), 0)
    expect(buffer.stats().buffered).toBe(10)
    expect(buffer.stats().discarded).toBe(20)
    expect(buffer.push(30_000, 5, Uint8Array.of(1), 1)).toBe('restarted')
    expect(buffer.stats()).toMatchObject({ buffered: 1, discarded: 30, received: 31 })
    expect(buffer.pop(100)).toMatchObject({ kind: 'packet', sequence: 30_000, timestamp: 5 })
  })

  it('refuses impossible options', () => {
    expect(() => new JitterBuffer({ minDelayMs: 100, maxDelayMs: 50 })).toThrow(RangeError)
    expect(() => new JitterBuffer({ frameMs: 0 })).toThrow(RangeError)
  })
})
