import { describe, expect, it } from 'vitest'
import { JITTER_IDLE_MS, JitterBuffer, type JitterOutput } from '../../node/media/audio/jitter-buffer.js'
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
 * the network adds `delay(i)` ms or loses it (null); the receiver pops every 20 ms from `popPhase`.
 */
function simulate (options: {
  packets: number
  delay: (i: number) => number | null
  popPhase?: number
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
  const popPhase = options.popPhase ?? 7
  const pops = options.packets + (options.extraPops ?? 20)
  let next = 0
  for (let p = 0; p < pops; p++) {
    const now = base + popPhase + p * 20
    while (next < sent.length && (sent[next] as Sent).arrival <= now) {
      const { index, arrival } = sent[next++] as Sent
      const payload = Uint8Array.of(index & 0xFF, index >> 8)
      payloadIndex.set(payload, index)
      const result = buffer.push((firstSeq + index) & 0xFFFF, (firstTs + index * FRAME) >>> 0, payload, arrival)
      pushResults.set(index, result)
    }
    const out = buffer.pop(now)
    outputs.push(out.kind === 'packet' ? { ...out, index: payloadIndex.get(out.payload), at: now } : { ...out, at: now })
  }
  return { buffer, outputs, pushResults }
}

const played = (s: Simulation): number[] => s.outputs.filter(o => o.kind === 'packet').map(o => o.index as number)

describe('JitterBuffer', () => {
  it('answers empty until the first packet has waited, then plays every packet in order at the minimum delay', () => {
    const buffer = new JitterBuffer()
    expect(buffer.pop(0)).toEqual({ kind: 'empty' })
    const sim = simulate({ packets: 200, delay: () => 0, buffer })
    expect(played(sim)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    const stats = buffer.stats()
    expect(stats).toMatchObject({ received: 200, played: 200, lost: 0, late: 0, duplicates: 0, discarded: 0, starts: 1, jitterMs: 0, targetDelayMs: 20 })
    expect(stats.currentDelayMs).toBeGreaterThanOrEqual(10)
    expect(stats.currentDelayMs).toBeLessThan(30)
    // No 'missing' between the first packet and the last.
    const first = sim.outputs.findIndex(o => o.kind === 'packet')
    expect(sim.outputs.slice(first, first + 200).every(o => o.kind === 'packet')).toBe(true)
  })

  it('puts reordered packets back in order', () => {
    // Every pair swapped: packet 2k arrives 5 ms after packet 2k+1 (which is on time).
    const sim = simulate({ packets: 300, delay: i => i % 2 === 0 ? 25 : 0 })
    const order = played(sim)
    expect(order).toEqual([...order].sort((a, b) => a - b))
    // Once the buffer has seen the pattern (first second), nothing is late or missing.
    const tail = order.filter(i => i >= 50)
    expect(tail).toEqual(Array.from({ length: 250 }, (_, i) => i + 50))
    expect(sim.buffer.stats().late).toBeLessThanOrEqual(2)
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
        if (lostSet.has(i + 1)) expect(next).toBeUndefined()
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
    expect(second(9)).toBe(20)
    expect(second(20)).toBeGreaterThanOrEqual(45) // 20 + 4 × J, J ≈ 10 ms for 0–30 ms uniform jitter
    expect(second(29)).toBeLessThanOrEqual(100)
    expect(second(40)).toBeLessThanOrEqual(30) // back down
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
    // Concealment while the gap could be loss, then silence once it is a pause.
    expect(kinds[0]).toBe('missing')
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
