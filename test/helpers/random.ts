// Seeded randomness for tests: the same seed, the same run.
import { createHash } from 'node:crypto'

export { seededRandom, type RandomSource } from '../../common/random.js'

/** Deterministic "random" bytes (SHA-256 of seed and counter), for byte-hungry code: ids, transaction ids, fuzz input. */
export function seededRandomBytes (seed: string): (n: number) => Uint8Array {
  let counter = 0
  return n => {
    const out = new Uint8Array(n)
    for (let offset = 0; offset < n; offset += 32) {
      const block = createHash('sha256').update(`${seed}:${counter++}`).digest()
      out.set(block.subarray(0, Math.min(32, n - offset)), offset)
    }
    return out
  }
}
