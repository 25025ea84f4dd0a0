// A seeded random source: the same seed gives the same sequence, so a run that
// takes its chance from here (a simulated network's loss, jitter, a fuzz input)
// can be replayed exactly.
import { createHash } from 'node:crypto'

/** Uniform numbers in [0, 1), like Math.random. */
export type RandomSource = () => number

/** mulberry32: a small, fast 32-bit generator; plenty for simulations and tests, not for secrets. */
export function seededRandom (seed: number): RandomSource {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The default where no seed is given: uniform in [0, 1) from the system's CSPRNG
 * (Web Crypto, so it works in Node and in a browser alike).
 */
export const cryptoRandom: RandomSource = () => {
  const [word = 0] = globalThis.crypto.getRandomValues(new Uint32Array(1))
  return word / 4294967296
}

/** Deterministic "random" bytes (SHA-256 of seed and counter), for byte-hungry code: keys, ids, fuzz input. Never for secrets. */
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
