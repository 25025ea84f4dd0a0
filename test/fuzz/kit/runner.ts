// Runs one parser over generated inputs: every input must be accepted or refused with a reason
// (a bounded, non-empty string the caller logs); anything thrown is a failure, saved as a fixture
// (test/fuzz/fixtures/<parser>/) that the parser's test file replays from then on. Counts come
// from VOXMESH_FUZZ_INPUTS (the lab run sets 100000), the seed from VOXMESH_FUZZ_SEED; each run
// prints its counts, rejections by reason class and heap, and appends them as a JSON line to
// VOXMESH_FUZZ_REPORT when set.
import { createHash } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Rng } from './rng.js'

export type Verdict = { ok: true } | { ok: false, reason: string }

/** Longest reason accepted: a peer must not be able to make us log a novel. */
export const MAX_REASON_CHARS = 1000
/** Heap growth allowed between the first tenth of the inputs and the end (after gc). */
export const MAX_HEAP_GROWTH_BYTES = 24 * 1024 * 1024
const MAX_FAILURES = 5

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')

export interface FuzzConfig { inputs: number, seed: number }

/** The count (VOXMESH_FUZZ_INPUTS, else this parser's seeded slice) and seed (VOXMESH_FUZZ_SEED, else 11). */
export function fuzzConfig (sliceInputs: number): FuzzConfig {
  const inputs = Number(process.env.VOXMESH_FUZZ_INPUTS ?? sliceInputs)
  const seed = Number(process.env.VOXMESH_FUZZ_SEED ?? 11)
  if (!Number.isSafeInteger(inputs) || inputs < 10) throw new Error(`VOXMESH_FUZZ_INPUTS must be an integer of at least 10, got ${process.env.VOXMESH_FUZZ_INPUTS}`)
  if (!Number.isSafeInteger(seed)) throw new Error(`VOXMESH_FUZZ_SEED must be an integer, got ${process.env.VOXMESH_FUZZ_SEED}`)
  return { inputs, seed }
}

/** A vitest timeout for a run: a hang fails the test; `msPerInput` is generous, never asserted. */
export const fuzzTimeout = (config: FuzzConfig, msPerInput = 2): number => 30_000 + config.inputs * msPerInput

/** How inputs of a parser are generated, checked and stored as fixtures. */
export interface FuzzTarget<I> {
  /** Fixture folder name. */
  parser: string
  generate: (rng: Rng, index: number) => I
  check: (input: I) => Verdict | Promise<Verdict>
  /** Fixture file form of an input: .bin for bytes, .json for anything else. */
  save: (input: I) => { ext: 'bin' | 'json', data: Uint8Array | string }
  load: (data: Buffer, ext: string) => I
}

export const bytesFixtures = { save: (input: Uint8Array) => ({ ext: 'bin' as const, data: input }), load: (data: Buffer) => new Uint8Array(data) }
export const jsonFixtures = <I>() => ({ save: (input: I) => ({ ext: 'json' as const, data: JSON.stringify(input) }), load: (data: Buffer) => JSON.parse(data.toString('utf8')) as I })

export interface FuzzReport {
  parser: string
  seed: number
  inputs: number
  accepted: number
  rejected: number
  /** Rejections by reason class (digits and quoted parts folded). */
  reasons: Record<string, number>
  ms: number
  slowestInputMs: number
  heap: { earlyBytes: number, lateBytes: number } | { skipped: string }
}

/** A reason without its particulars, so rejections group into classes. */
export function reasonClass (reason: string): string {
  return reason.replace(/"[^"]*"/g, '"…"').replace(/0x[0-9a-f]+/gi, 'N').replace(/\d+/g, 'N').replace(/\/[\w/-]+/g, '/…').slice(0, 80)
}

function gcFunction (): (() => void) | string {
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch (err) {
    return `gc not available (${(err as Error).message}): heap check skipped`
  }
}

function problemWith (verdict: unknown): string | undefined {
  if (typeof verdict !== 'object' || verdict === null) return `verdict ${String(verdict)} is not an object`
  const { ok, reason } = verdict as { ok?: unknown, reason?: unknown }
  if (ok === true) return undefined
  if (ok !== false) return 'verdict is neither ok nor a refusal'
  if (typeof reason !== 'string' || reason.length === 0) return 'refused without a reason'
  if (reason.length > MAX_REASON_CHARS) return `reason of ${reason.length} characters (more than ${MAX_REASON_CHARS}): ${reason.slice(0, 120)}…`
  return undefined
}

function saveFixture<I> (target: FuzzTarget<I>, input: I): string {
  const { ext, data } = target.save(input)
  const dir = join(FIXTURES, target.parser)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${createHash('sha256').update(data).digest('hex').slice(0, 16)}.${ext}`)
  writeFileSync(file, data)
  return file
}

/** Checks one input; the failure's description, or undefined when it was handled. */
async function tryOne<I> (target: FuzzTarget<I>, input: I): Promise<{ verdict?: Verdict, failure?: string }> {
  try {
    const verdict = await target.check(input)
    const problem = problemWith(verdict)
    return problem === undefined ? { verdict } : { failure: problem }
  } catch (err) {
    return { failure: `threw ${(err as Error).name}: ${(err as Error).message}\n${((err as Error).stack ?? '').split('\n').slice(1, 6).join('\n')}` }
  }
}

export async function runFuzz<I> (target: FuzzTarget<I>, config: FuzzConfig): Promise<FuzzReport> {
  const rng = Rng.derive(config.seed, target.parser)
  const gc = gcFunction()
  const report: FuzzReport = { parser: target.parser, seed: config.seed, inputs: config.inputs, accepted: 0, rejected: 0, reasons: {}, ms: 0, slowestInputMs: 0, heap: { skipped: typeof gc === 'string' ? gc : '' } }
  const failures: string[] = []
  const heapNow = (): number => { (gc as () => void)(); return process.memoryUsage().heapUsed }
  let earlyHeap = 0
  const started = performance.now()
  for (let i = 0; i < config.inputs && failures.length < MAX_FAILURES; i++) {
    if (i === Math.floor(config.inputs / 10) && typeof gc !== 'string') earlyHeap = heapNow()
    const input = target.generate(rng, i)
    const before = performance.now()
    const { verdict, failure } = await tryOne(target, input)
    report.slowestInputMs = Math.max(report.slowestInputMs, performance.now() - before)
    if (failure !== undefined) {
      const file = process.env.VOXMESH_FUZZ_NO_SAVE === '1' ? '(not saved)' : saveFixture(target, input)
      failures.push(`input ${i} (seed ${config.seed}): ${failure}\n  saved as ${file}`)
    } else if (verdict?.ok === true) {
      report.accepted++
    } else {
      report.rejected++
      const cls = reasonClass((verdict as { reason: string }).reason)
      report.reasons[cls] = (report.reasons[cls] ?? 0) + 1
    }
  }
  report.ms = Math.round(performance.now() - started)
  report.slowestInputMs = Math.round(report.slowestInputMs * 10) / 10
  if (typeof gc !== 'string') report.heap = { earlyBytes: earlyHeap, lateBytes: heapNow() }
  printReport(report)
  if (failures.length > 0) throw new Error(`fuzz ${target.parser}: ${failures.length} failing input(s), seed ${config.seed} (VOXMESH_FUZZ_SEED=${config.seed} replays):\n${failures.join('\n')}`)
  return report
}

function printReport (report: FuzzReport): void {
  const top = Object.entries(report.reasons).sort((a, b) => b[1] - a[1])
  const heap = 'skipped' in report.heap ? report.heap.skipped : `heap ${(report.heap.earlyBytes / 2 ** 20).toFixed(1)} → ${(report.heap.lateBytes / 2 ** 20).toFixed(1)} MiB`
  console.log(`fuzz ${report.parser}: ${report.inputs} inputs (seed ${report.seed}) in ${report.ms} ms (slowest ${report.slowestInputMs} ms), ` +
    `${report.accepted} accepted, ${report.rejected} rejected in ${top.length} reason classes; ${heap}\n` +
    top.slice(0, 12).map(([cls, n]) => `  ${String(n).padStart(7)}  ${cls}`).join('\n'))
  if (process.env.VOXMESH_FUZZ_REPORT !== undefined) appendFileSync(process.env.VOXMESH_FUZZ_REPORT, `${JSON.stringify(report)}\n`)
}

/** Heap growth (after gc) from the first tenth of the run to its end, or why it was not measured. */
export function heapGrowth (report: FuzzReport): number | string {
  return 'skipped' in report.heap ? report.heap.skipped : report.heap.lateBytes - report.heap.earlyBytes
}

/** Every saved failing input of `parser`, for the regression replay. */
export function fixturesOf<I> (target: FuzzTarget<I>): Array<{ name: string, input: I }> {
  const dir = join(FIXTURES, target.parser)
  if (!existsSync(dir)) return []
  return readdirSync(dir).sort().map(name => ({ name, input: target.load(readFileSync(join(dir, name)), name.split('.').pop() as string) }))
}

/** Replays the fixtures: each must now be handled (accepted or refused with a reason). */
export async function replayFixtures<I> (target: FuzzTarget<I>): Promise<number> {
  const problems: string[] = []
  const fixtures = fixturesOf(target)
  for (const { name, input } of fixtures) {
    const { failure } = await tryOne(target, input)
    if (failure !== undefined) problems.push(`${target.parser}/${name}: ${failure}`)
  }
  if (problems.length > 0) throw new Error(`fixtures still failing:\n${problems.join('\n')}`)
  return fixtures.length
}
