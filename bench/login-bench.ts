// Login throughput benchmark: a real `voxmesh login-server` process, N accounts,
// logins at concurrency C for D seconds (or M logins), set against two baselines
// measured in the same run: GET /v1/info (HTTP + fastify, no argon2) and the raw argon2id rate
// (the server's worker count of threads verifying at once, before and after the server runs;
// also the older ceiling, parallel workers / one verify's time).
//
//   npm run bench:login -- --concurrency 8 --duration 10 --argon2-ops 2 --argon2-memory 64 [--logins M] [--json]
//       [--database postgres://USER[:PASSWORD]@HOST:PORT/DB]
//
// With --database, the same run goes on to set SQLite against PostgreSQL: logins/s and p50/p99
// of one instance on PostgreSQL and of two instances on one PostgreSQL database (the client
// sends its requests to them round robin), each at the cheap argon2id cost (ops 1, 1 MiB: a
// hash is ~1 ms, so the rate shows what the database lets through) and at the real one
// (--argon2-ops / --argon2-memory, default ops 2, 64 MiB), with SQLite's one instance at both
// costs for the ratio. Each PostgreSQL series runs on a database of its own, created on the
// URL's server (from its `postgres` database) as voxmesh_bench_<random> and dropped after the
// series, or at the end whatever happened (login/postgres.ts): accounts never clash, and no
// series inherits another's rows. The URL's database name itself is not used; its user needs
// CREATEDB. The baselines (info, raw argon2id) stay those of SQLite at the real cost.
//
// The server's rate limits (10 accounts/h, 60 logins/min per IP) would cap the
// figures, so it runs with --trust-proxy and every request carries its own
// X-Forwarded-For address. The per-username failure limit (10 per 5 min) still
// applies: the wrong-password series spreads its attempts over the accounts.
// Every server process is stopped and every temp dir removed at the end, also on
// failure, SIGINT and SIGTERM.
import { availableParallelism } from 'node:os'
import { runBench } from './lib/run-bench.js'
import { CHEAP_COST, parseOptions, type Argon2Cost } from './login/options.js'
import { createBenchDatabase, dropBenchDatabase, dropBenchDatabases } from './login/postgres.js'
import { redactUrl } from '../login-server/store/database-url.js'
import { rawVerifyRate, timeVerify } from './login/raw-argon2.js'
import { printFigures } from './login/report.js'
import { runSeries, targetName, type SeriesResult, type Target } from './login/series.js'
import { stopLoginServers } from './login/servers.js'

const options = parseOptions()
const cores = availableParallelism()
const workers = Math.min(4, cores) // createPasswordHasher's default pool size (login-server/password-hasher.ts)

const SQLITE: Target = { store: 'SQLite', instances: 1 }
const POSTGRES_TARGETS: Target[] = [{ store: 'PostgreSQL', instances: 1 }, { store: 'PostgreSQL', instances: 2 }]

/** One series of the comparison, its figures on stderr as it ends: the whole comparison takes minutes. */
async function compared (target: Target, cost: Argon2Cost, serverUrl: string): Promise<SeriesResult> {
  const result = await runSeries(options, target, cost, serverUrl)
  const { perSecond, p50, p99, failures } = result.logins
  process.stderr.write(`login-bench: ${targetName(target)}, argon2id ops ${cost.ops}, ${cost.memoryMib} MiB: ${perSecond} logins/s, p50 ${p50} ms, p99 ${p99} ms, ${failures} failed\n`)
  return result
}

async function main (): Promise<void> {
  const durationMs = options.durationS * 1000
  // A database made and dropped at once: an unreachable server, or a user without CREATEDB, fails
  // the run now, not after the SQLite series' minute.
  if (options.database !== undefined) await dropBenchDatabase(await createBenchDatabase(options.database))
  // Raw argon2id: one verify's time in this process, then the rate of `parallel` threads
  // verifying at once (the cores share memory bandwidth: the fair ceiling), before the server runs
  // and again after it stopped, so a change in the machine's load between shows.
  const verify = await timeVerify(options.cost)
  const parallel = Math.min(cores, workers)
  const rawBefore = await rawVerifyRate(verify.hash, parallel, durationMs)
  const mainSeries = await runSeries(options, SQLITE, options.cost, undefined, true)
  const rawAfter = await rawVerifyRate(verify.hash, parallel, durationMs)

  let comparison: SeriesResult[] | undefined
  if (options.database !== undefined) {
    // The series of one cost run back to back, so a change in the machine's load falls
    // between costs rather than between SQLite and PostgreSQL at one cost.
    comparison = [mainSeries]
    for (const target of POSTGRES_TARGETS) comparison.push(await compared(target, options.cost, options.database))
    if (options.cost.ops !== CHEAP_COST.ops || options.cost.memoryMib !== CHEAP_COST.memoryMib) {
      for (const target of [SQLITE, ...POSTGRES_TARGETS]) comparison.push(await compared(target, CHEAP_COST, options.database))
    }
  }
  printFigures(options, {
    cores, workers, parallel, verify, rawBefore, rawAfter, main: mainSeries, comparison,
    postgresServer: options.database === undefined ? undefined : redactUrl(options.database)
  })
}

async function cleanup (): Promise<void> {
  await stopLoginServers()
  await dropBenchDatabases()
}

await runBench('login-bench', main, cleanup)
