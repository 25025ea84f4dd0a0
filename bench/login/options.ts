// The login bench's command line.
import { parseArgs } from 'node:util'

/** An argon2id cost, as the login server's --argon2-ops and --argon2-memory take it. */
export interface Argon2Cost { ops: number, memoryMib: number }

/** The cheap cost: a hash is ~1 ms, so the logins/s it allows is what the database (and HTTP) let through. */
export const CHEAP_COST: Argon2Cost = { ops: 1, memoryMib: 1 }

export interface LoginBenchOptions {
  concurrency: number
  durationS: number
  /** Logins per series at most (Infinity: the duration alone ends it). */
  maxLogins: number
  accountCount: number
  /** The cost of the main series and the baselines: the server's default unless --argon2-ops / --argon2-memory say otherwise. */
  cost: Argon2Cost
  /** --database: the PostgreSQL server the comparison runs on (a URL; its database name is not used). */
  database: string | undefined
  json: boolean
}

/** Parses the flags; exits 2 with a message on a bad value. */
export function parseOptions (): LoginBenchOptions {
  const { values: flags } = parseArgs({
    options: {
      concurrency: { type: 'string', default: '8' },
      duration: { type: 'string', default: '10' },
      logins: { type: 'string' },
      accounts: { type: 'string', default: '20' },
      'argon2-ops': { type: 'string', default: '2' },
      'argon2-memory': { type: 'string', default: '64' },
      database: { type: 'string' },
      json: { type: 'boolean', default: false }
    }
  })
  const fail = (message: string): never => {
    process.stderr.write(`login-bench: ${message}\n`)
    process.exit(2)
  }
  const num = (name: 'concurrency' | 'duration' | 'logins' | 'accounts' | 'argon2-ops' | 'argon2-memory'): number => {
    const n = Number(flags[name])
    if (Number.isSafeInteger(n) && n >= 1) return n
    return fail(`--${name} must be a positive integer, got ${String(flags[name])}`)
  }
  if (flags.database !== undefined && !/^postgres(ql)?:\/\//.test(flags.database)) {
    fail('--database must be a postgres:// URL (a PostgreSQL server the bench may create databases on)')
  }
  return {
    concurrency: num('concurrency'),
    durationS: num('duration'),
    maxLogins: flags.logins === undefined ? Infinity : num('logins'),
    accountCount: num('accounts'),
    cost: { ops: num('argon2-ops'), memoryMib: num('argon2-memory') },
    database: flags.database,
    json: flags.json
  }
}
