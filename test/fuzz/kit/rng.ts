// The fuzzers' one source of chance: a seeded generator (common/random.ts) with the draws
// the generators need. The same seed and parser give the same inputs, so a failure replays.
import { createHash } from 'node:crypto'
import { seededRandom, type RandomSource } from '../../helpers/random.js'

export class Rng {
  private readonly next: RandomSource

  constructor (readonly seed: number) {
    this.next = seededRandom(seed)
  }

  /** A seed for `name` derived from `seed`: each parser gets its own stream. */
  static derive (seed: number, name: string): Rng {
    return new Rng(createHash('sha256').update(`${seed}:${name}`).digest().readUInt32LE(0))
  }

  float (): number { return this.next() }
  /** Integer in [min, max]. */
  int (min: number, max: number): number { return min + Math.floor(this.next() * (max - min + 1)) }
  bool (p = 0.5): boolean { return this.next() < p }
  pick<T> (items: readonly T[]): T { return items[this.int(0, items.length - 1)] as T }
  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255)
    return out
  }

  /** Mostly small lengths, sometimes large ones: where parsers' bounds sit. */
  length (max: number): number {
    const r = this.next()
    if (r < 0.6) return this.int(0, Math.min(max, 16))
    if (r < 0.9) return this.int(0, Math.min(max, 512))
    return this.int(0, max)
  }
}
