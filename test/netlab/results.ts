// The rows of the lab's report. Each scenario test records its row(s) before it asserts, so a
// failing scenario still has its row; `npm run lab` (scripts/lab.mjs) sets VOXMESH_LAB_RESULTS to
// a file, reads the rows back (one JSON object per line) and prints the table.
import { appendFileSync } from 'node:fs'

export interface LabRow {
  scenario: string
  /** The path the scenario expects: direct, relay, or what it is about (e.g. "supernode", "host"). */
  expected: string
  observed: string
  /** Answer → connected, ms (calls only). */
  setupMs?: number
  /** The audio check both ways (calls only), e.g. "440 Hz ok / 550 Hz ok". */
  audio?: string
  /** A setup-time row (setup-times.test.ts): answer → first audio over its calls, against its goal. */
  setup?: SetupFigures
  pass: boolean
}

export interface SetupFigures {
  calls: number
  p50: number
  p90: number
  worst: number
  /** The goal's bounds, ms. */
  goalP50: number
  goalWorst: number
}

export function recordRow (row: LabRow): void {
  const file = process.env.VOXMESH_LAB_RESULTS
  if (file !== undefined && file !== '') appendFileSync(file, JSON.stringify(row) + '\n')
  console.log(`lab row: ${row.scenario} | expected ${row.expected} | observed ${row.observed}` +
    `${row.setupMs === undefined ? '' : ` | setup ${row.setupMs} ms`}${row.audio === undefined ? '' : ` | audio ${row.audio}`} | ${row.pass ? 'PASS' : 'FAIL'}`)
}
