// The overlay bench's command line.
import { parseArgs } from 'node:util'

export interface OverlayBenchOptions {
  rounds: number
  hostCount: number
  concurrency: number
  /** How long C's CPU and RSS are watched while it only keeps its hosts alive: by default 120 s, past the longest republish interval (REPUBLISH_INTERVAL_MS + REPUBLISH_JITTER, 112.5 s), so every host republishes in it. */
  steadyMs: number
  json: boolean
}

/** Parses the flags; exits 2 with a message on a bad value. */
export function parseOptions (): OverlayBenchOptions {
  const { values: flags } = parseArgs({
    options: {
      rounds: { type: 'string', default: '50' },
      hosts: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '50' },
      steady: { type: 'string', default: '120' },
      json: { type: 'boolean', default: false }
    }
  })
  const num = (name: 'rounds' | 'hosts' | 'concurrency' | 'steady', min: number): number => {
    const n = Number(flags[name])
    if (Number.isSafeInteger(n) && n >= min) return n
    process.stderr.write(`overlay-bench: --${name} must be an integer ≥ ${min}, got ${String(flags[name])}\n`)
    process.exit(2)
  }
  return { rounds: num('rounds', 1), hostCount: num('hosts', 0), concurrency: num('concurrency', 1), steadyMs: num('steady', 1) * 1000, json: flags.json }
}
