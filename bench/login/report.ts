// The login bench's figures: the one-instance SQLite report with its baselines (GET /v1/info,
// the raw argon2id rate), and with --database the comparison table of SQLite and PostgreSQL, as
// one JSON object (--json) or as text.
import { round } from '../lib/measure.js'
import type { Series } from './load.js'
import type { Argon2Cost, LoginBenchOptions } from './options.js'
import type { InProcessVerify } from './raw-argon2.js'
import { targetName, type SeriesResult } from './series.js'

/** What the run measured, for the figures. */
export interface Measured {
  cores: number
  /** The server's hash workers per instance. */
  workers: number
  /** Threads of the raw argon2id rate: as many as one instance verifies on at once. */
  parallel: number
  verify: InProcessVerify
  rawBefore: number
  rawAfter: number
  /** SQLite, one instance, at the options' cost, with its baselines. */
  main: SeriesResult
  /** With --database: every series, in the order of the table. */
  comparison?: SeriesResult[]
  /** With --database: the server, its password starred out. */
  postgresServer?: string
}

export interface ComparisonRow {
  series: string, store: string, instances: number, argon2id: { ops: number, memoryMiB: number },
  count: number, failures: number, perSecond: number, p50: number, p99: number,
  /** Logins/s over SQLite's (one instance) at the same argon2id cost. */
  vsSqlite: number
}

export interface Figures {
  machine: { cores: number, node: string }
  argon2id: { ops: number, memoryMiB: number, serverWorkers: number, serverWorkersSource: string }
  setup: { accounts: number, concurrency: number, durationS: number, maxLogins: number | null }
  logins: Series
  info: Series
  wrongPassword: Series
  argon2Verify: { medianMs: number, samples: number, parallel: number, theoreticalMaxPerSecond: number }
  argon2Raw: { threads: number, perSecondBefore: number, perSecondAfter: number, perSecond: number }
  ratios: { loginVsRaw: number, loginVsTheoretical: number, loginP50VsInfoP50: number, wrongP50VsRightP50: number }
  /** With --database. */
  comparison?: { postgresServer: string, rows: ComparisonRow[] }
}

const sameCost = (a: Argon2Cost, b: Argon2Cost): boolean => a.ops === b.ops && a.memoryMib === b.memoryMib

function comparisonRows (results: SeriesResult[]): ComparisonRow[] {
  return results.map(r => {
    const sqlite = results.find(s => s.target.store === 'SQLite' && sameCost(s.cost, r.cost))
    return {
      series: targetName(r.target), store: r.target.store, instances: r.target.instances, argon2id: { ops: r.cost.ops, memoryMiB: r.cost.memoryMib },
      count: r.logins.count, failures: r.logins.failures, perSecond: r.logins.perSecond, p50: r.logins.p50, p99: r.logins.p99,
      vsSqlite: sqlite === undefined ? NaN : round(r.logins.perSecond / sqlite.logins.perSecond, 2)
    }
  })
}

export function figuresOf (options: LoginBenchOptions, m: Measured): Figures {
  // The main series always runs with its baselines (info, wrong password).
  const { logins, info, wrongPassword } = m.main as Required<SeriesResult>
  const theoreticalPerSecond = m.parallel * 1000 / m.verify.medianMs
  const rawPerSecond = (m.rawBefore + m.rawAfter) / 2
  return {
    machine: { cores: m.cores, node: process.version },
    argon2id: { ops: options.cost.ops, memoryMiB: options.cost.memoryMib, serverWorkers: m.workers, serverWorkersSource: 'min(4, cores), password-hasher.ts default' },
    setup: { accounts: m.main.accounts, concurrency: options.concurrency, durationS: options.durationS, maxLogins: Number.isFinite(options.maxLogins) ? options.maxLogins : null },
    logins,
    info,
    wrongPassword,
    argon2Verify: { medianMs: round(m.verify.medianMs), samples: m.verify.verifyMs.length, parallel: m.parallel, theoreticalMaxPerSecond: round(theoreticalPerSecond) },
    argon2Raw: { threads: m.parallel, perSecondBefore: round(m.rawBefore), perSecondAfter: round(m.rawAfter), perSecond: round(rawPerSecond) },
    ratios: {
      loginVsRaw: round(logins.perSecond / rawPerSecond, 2),
      loginVsTheoretical: round(logins.perSecond / theoreticalPerSecond, 2),
      loginP50VsInfoP50: round(logins.p50 / info.p50, 0),
      wrongP50VsRightP50: round(wrongPassword.p50 / logins.p50, 2)
    },
    ...m.comparison === undefined ? {} : { comparison: { postgresServer: m.postgresServer as string, rows: comparisonRows(m.comparison) } }
  }
}

/** The one-instance SQLite report, as the bench printed it before it had --database. */
function printMain (options: LoginBenchOptions, m: Measured, f: Figures): void {
  const { logins, info, wrongPassword: wrong, argon2Verify, argon2Raw, ratios } = f
  const row = (name: string, s: Series): string =>
    `${name.padEnd(16)}${String(s.count).padStart(7)}${String(s.failures).padStart(7)}${String(s.perSecond).padStart(9)}` +
    [s.p50, s.p90, s.p99, s.max].map(v => String(v).padStart(9)).join('')
  console.log(`voxmesh login bench: ${m.cores} cores, node ${process.version}, argon2id ops=${options.cost.ops} memory=${options.cost.memoryMib} MiB, ` +
    `server workers=${m.workers} (min(4, cores)), ${m.main.accounts} accounts, concurrency ${options.concurrency}, ${options.durationS} s` +
    (Number.isFinite(options.maxLogins) ? ` or ${options.maxLogins} logins` : ''))
  console.log(`${'series'.padEnd(16)}${'n'.padStart(7)}${'fail'.padStart(7)}${'ok/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`)
  console.log(row('login', logins))
  console.log(row('login (wrong pw)', wrong))
  console.log(row('GET /v1/info', info))
  console.log(`argon2id verify in-process: median ${argon2Verify.medianMs} ms of ${m.verify.verifyMs.length} → ` +
    `theoretical max ${argon2Verify.theoreticalMaxPerSecond} logins/s (${m.parallel} parallel / verify time)`)
  console.log(`raw argon2id, ${m.parallel} threads verifying at once: ${argon2Raw.perSecondBefore}/s before the server, ` +
    `${argon2Raw.perSecondAfter}/s after it (mean ${argon2Raw.perSecond}/s)`)
  console.log(`login throughput / raw argon2id rate: ${ratios.loginVsRaw}`)
  console.log(`login throughput / theoretical argon2 max: ${ratios.loginVsTheoretical}`)
  console.log(`login p50 / info p50: ${ratios.loginP50VsInfoP50}×`)
  console.log(`wrong-password p50 / right-password p50: ${ratios.wrongP50VsRightP50}` +
    ` (wrong-pw statuses ${JSON.stringify(wrong.statuses)}; 401 expected)`)
}

/** The SQLite / PostgreSQL table, one row per series. */
function printComparison (options: LoginBenchOptions, m: Measured, comparison: NonNullable<Figures['comparison']>): void {
  const widths = [24, 16, 10, 9, 9, 7, 10]
  const line = (cells: string[]): string => cells.map((c, i) => i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)).join('')
  console.log('')
  console.log(`SQLite vs PostgreSQL (${comparison.postgresServer}, a new database per series): logins at concurrency ${options.concurrency}, ` +
    `${options.durationS} s${Number.isFinite(options.maxLogins) ? ` or ${options.maxLogins} logins` : ''} per series, ${m.main.accounts} accounts`)
  console.log(line(['series', 'argon2id', 'logins/s', 'p50 ms', 'p99 ms', 'fail', 'vs SQLite']))
  for (const r of comparison.rows) {
    console.log(line([r.series, `ops ${r.argon2id.ops}, ${r.argon2id.memoryMiB} MiB`, String(r.perSecond), String(r.p50), String(r.p99), String(r.failures), r.vsSqlite.toFixed(2)]))
  }
  console.log(`(two instances: requests round robin over both; each instance has ${m.workers} hash workers, all on these ${m.cores} cores with PostgreSQL and this client;` +
    ' ops 1, 1 MiB makes a hash ~1 ms, so that rate is what the database and HTTP let through)')
}

export function printFigures (options: LoginBenchOptions, m: Measured): void {
  const figures = figuresOf(options, m)
  if (options.json) {
    process.stdout.write(JSON.stringify(figures) + '\n')
    return
  }
  printMain(options, m, figures)
  if (figures.comparison !== undefined) printComparison(options, m, figures.comparison)
}
