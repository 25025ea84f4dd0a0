// Throwaway databases on the PostgreSQL server --database names: each PostgreSQL series gets a
// database of its own (voxmesh_bench_<random>), so its accounts, sessions and rate-limit rows
// neither clash with another series' nor weigh on its figures, and the server's keys are new
// for each. Created and dropped from the server's `postgres` database (CREATE / DROP DATABASE
// cannot run inside the database they name); the URL's user needs CREATEDB.
// dropBenchDatabases() drops whatever is left, also after a failure.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { redactUrl } from '../../login-server/store/database-url.js'

const CONNECT_TIMEOUT_MS = 10_000

/** Databases created and not dropped yet: name → the URL they were created from. */
const created = new Map<string, string>()

/** `url` with its database name replaced (user, password, host and parameters kept). */
function withDatabase (url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

async function onMaintenanceDatabase (url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres'), connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  client.on('error', () => {}) // a dropped connection also fails the query in flight, which reports it
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A new, empty database on the server of `url`; its connection URL. */
export async function createBenchDatabase (url: string): Promise<string> {
  const name = `voxmesh_bench_${randomBytes(6).toString('hex')}`
  try {
    await onMaintenanceDatabase(url, `CREATE DATABASE "${name}"`)
  } catch (err) {
    const hint = (err as { code?: string }).code === '42501' ? ' (the bench creates a database per series: the user needs CREATEDB)' : ''
    throw new Error(`cannot create a bench database on ${redactUrl(withDatabase(url, 'postgres'))}${hint}: ${(err as Error).message}`)
  }
  created.set(name, url)
  return withDatabase(url, name)
}

async function drop (name: string, url: string): Promise<void> {
  try {
    // FORCE (PostgreSQL 13+) ends connections a killed instance may have left behind.
    await onMaintenanceDatabase(url, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  } catch (err) {
    if ((err as { code?: string }).code !== '42601') throw err // 42601, a syntax error: a server before 13
    await onMaintenanceDatabase(url, `DROP DATABASE IF EXISTS "${name}"`)
  }
}

/** Drops the bench database `databaseUrl` (a URL createBenchDatabase returned). */
export async function dropBenchDatabase (databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1)
  const from = created.get(name)
  if (from === undefined) return
  await drop(name, from)
  created.delete(name)
}

/** Drops every bench database still there; one that cannot be dropped is named on stderr (and the run fails). */
export async function dropBenchDatabases (): Promise<void> {
  for (const [name, url] of [...created]) {
    try {
      await drop(name, url)
    } catch (err) {
      process.stderr.write(`login-bench: could not drop the bench database ${name} on ${redactUrl(withDatabase(url, 'postgres'))}: ${(err as Error).message}; drop it by hand\n`)
      process.exitCode = 1
    }
    created.delete(name)
  }
}
