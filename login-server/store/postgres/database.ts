// The PostgreSQL store's connection pool, its transactions and its migrations.
// A transaction runs at READ COMMITTED and takes, first, the advisory locks its caller names
// (transaction-scoped, so the commit releases them): two instances writing the same pair of
// users, the same user's credit or the same address group's supernodes queue one behind the
// other, where the SQLite store's one writer queues everything. Keys are taken in sorted order,
// so two transactions locking the same keys cannot deadlock.
import pg from 'pg'
import { POSTGRES_MIGRATIONS } from './migrations.js'
import { UserError } from '../../../common/user-error.js'
import { redactUrl } from '../database-url.js'

/** Connections one instance keeps at most (PostgreSQL's default max_connections is 100). */
const POOL_SIZE = 10
const COUNTER_POOL_SIZE = 4
/**
 * A statement that runs longer, or waits longer for a lock, is cancelled by the server (the request
 * gets a 500) rather than hanging; a transaction left idle that long is ended by the server. All
 * three are the server's own timeouts: a client-side one would leave the statement running and the
 * connection inside its transaction.
 */
const QUERY_TIMEOUT_MS = 10_000
const SERVER_TIMEOUTS = `-c statement_timeout=${QUERY_TIMEOUT_MS} -c lock_timeout=${QUERY_TIMEOUT_MS} -c idle_in_transaction_session_timeout=${2 * QUERY_TIMEOUT_MS}`
const MIGRATION_LOCK = 'voxmesh:migrations'

export type Queryable = Pick<pg.PoolClient, 'query'>

/** BIGINT (OID 20) as a JavaScript number: every BIGINT here is a time, an id or an amount far below 2^53. */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')
}

export interface PostgresDatabase {
  pool: pg.Pool
  /**
   * Connections whose commits do not wait for the disk (synchronous_commit off), for rate-limit
   * counts: a crash of PostgreSQL may forget the last fraction of a second of them, which costs
   * nothing, and each counted request saves a WAL flush.
   */
  counters: pg.Pool
  /** Runs `work` in one transaction holding the advisory locks named by `locks`. */
  transaction: <T>(locks: string[], work: (client: Queryable) => Promise<T>) => Promise<T>
  close: () => Promise<void>
}

export async function openPostgresDatabase (url: string): Promise<PostgresDatabase> {
  const settings = { connectionString: url, types, connectionTimeoutMillis: QUERY_TIMEOUT_MS }
  const pool = new pg.Pool({ ...settings, max: POOL_SIZE, options: SERVER_TIMEOUTS })
  const counters = new pg.Pool({ ...settings, max: COUNTER_POOL_SIZE, options: `${SERVER_TIMEOUTS} -c synchronous_commit=off` })
  // An idle connection the server dropped (a restart) is reported here; the pool replaces it.
  for (const each of [pool, counters]) each.on('error', () => {})
  const end = async (): Promise<void> => { await Promise.all([pool.end(), counters.end()]) }
  const transaction = async <T>(locks: string[], work: (client: Queryable) => Promise<T>): Promise<T> => {
    const client = await pool.connect()
    // A connection lost while checked out is reported on the client, not the pool: unheard, it
    // would end the process. The query under way fails as well, which is what the caller hears.
    const lost = (): void => {}
    client.on('error', lost)
    let failure: Error | undefined
    try {
      await client.query('BEGIN')
      for (const key of [...new Set(locks)].sort()) await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key])
      const result = await work(client)
      await client.query('COMMIT')
      return result
    } catch (err) {
      failure = err as Error
      throw err
    } finally {
      client.removeListener('error', lost)
      // A failed transaction's connection is closed, not reused: whatever state it was left in
      // (a statement still running, the transaction still open) ends with it, on the server too.
      client.release(failure ?? false)
    }
  }
  try {
    await migrate(transaction)
  } catch (err) {
    await end()
    // Whatever failed here (unreachable, refused, no such database, no permission, a newer schema,
    // the migration lock held too long) is about the database: the operator reads it as a sentence.
    throw new UserError(`cannot use the database at ${redactUrl(url)}: ${(err as Error).message}`)
  }
  let closing: Promise<void> | undefined
  return { pool, counters, transaction, close: () => (closing ??= end()) }
}

/** Applies pending migrations in one transaction, under a lock: instances starting together migrate once. */
async function migrate (transaction: PostgresDatabase['transaction']): Promise<number> {
  return await transaction([MIGRATION_LOCK], async client => {
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
    const rows = (await client.query<{ version: number }>('SELECT version FROM schema_version')).rows
    const current = rows[0]?.version ?? 0
    if (current > POSTGRES_MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this program (${POSTGRES_MIGRATIONS.length})`)
    }
    for (let version = current + 1; version <= POSTGRES_MIGRATIONS.length; version++) await client.query(POSTGRES_MIGRATIONS[version - 1] as string)
    if (rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length])
    else await client.query('UPDATE schema_version SET version = $1', [POSTGRES_MIGRATIONS.length])
    return POSTGRES_MIGRATIONS.length
  })
}

/** PostgreSQL's foreign_key_violation. */
export const isForeignKeyViolation = (err: unknown): boolean => (err as { code?: string }).code === '23503'
