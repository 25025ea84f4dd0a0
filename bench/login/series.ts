// One measured series: login server instance(s) on a fresh store (new data dirs; on PostgreSQL
// also a new database), the accounts created, logins at the bench's concurrency for its duration,
// then every instance stopped and the store removed, whether the series succeeded or not.
import { PASSWORD } from './raw-argon2.js'
import { call, deviceKey, load, type Answer, type Series } from './load.js'
import type { Argon2Cost, LoginBenchOptions } from './options.js'
import { createBenchDatabase, dropBenchDatabase } from './postgres.js'
import { startLoginServers, stopLoginServers } from './servers.js'

/** Wrong-password attempts per account: well under the 10-failures-per-username limit. */
const WRONG_PER_ACCOUNT = 4

/** Where a series runs: SQLite (one instance; the file is its own) or `instances` instances on one PostgreSQL database. */
export interface Target { store: 'SQLite' | 'PostgreSQL', instances: number }

export const targetName = (t: Target): string => `${t.store}, ${t.instances} instance${t.instances === 1 ? '' : 's'}`

export interface SeriesResult {
  target: Target
  cost: Argon2Cost
  accounts: number
  logins: Series
  /** Only with `baselines`: GET /v1/info, and logins with a wrong password. */
  info?: Series
  wrongPassword?: Series
}

/**
 * Runs one series. `serverUrl`: the PostgreSQL server (--database) for a PostgreSQL target.
 * With `baselines`, GET /v1/info and wrong-password logins are measured too, on the same instances.
 */
export async function runSeries (options: LoginBenchOptions, target: Target, cost: Argon2Cost, serverUrl: string | undefined, baselines = false): Promise<SeriesResult> {
  if (target.store === 'PostgreSQL' && serverUrl === undefined) throw new Error('a PostgreSQL series needs --database')
  const database = target.store === 'PostgreSQL' ? await createBenchDatabase(serverUrl as string) : undefined
  try {
    const urls = await startLoginServers(target.instances, cost, database)
    return { target, cost, ...await measure(options, urls, baselines) }
  } finally {
    await stopLoginServers()
    if (database !== undefined) await dropBenchDatabase(database)
  }
}

async function measure (options: LoginBenchOptions, urls: string[], baselines: boolean): Promise<Omit<SeriesResult, 'target' | 'cost'>> {
  const { concurrency, durationS, maxLogins } = options
  const users = Array.from({ length: options.accountCount }, (_, i) => `bench-${process.pid}-${i}`)
  const n = urls.length
  const created = await load(concurrency, 600_000, users.length, i => call(urls[i % n] as string, 'POST', '/v1/accounts', { username: users[i], password: PASSWORD }), 201)
  if (created.failures > 0) throw new Error(`account creation failed: ${JSON.stringify(created.statuses)}`)

  // Request i goes to instance i mod n (round robin) for user ⌊i / n⌋ mod accounts: with two
  // instances each user's logins alternate between them, so both write the same users' rows (with
  // user i mod accounts, each user would stay on one instance). With one instance: user i mod accounts.
  const login = (password: string) => (i: number): Promise<Answer> =>
    call(urls[i % n] as string, 'POST', '/v1/sessions', { username: users[Math.floor(i / n) % users.length], password, deviceKey: deviceKey() })
  if (!baselines) return { accounts: users.length, logins: await load(concurrency, durationS * 1000, maxLogins, login(PASSWORD), 201) }
  const info = await load(concurrency, durationS * 1000, Infinity, i => call(urls[i % n] as string, 'GET', '/v1/info'), 200)
  const logins = await load(concurrency, durationS * 1000, maxLogins, login(PASSWORD), 201)
  const wrongPassword = await load(concurrency, 600_000, users.length * WRONG_PER_ACCOUNT, login('wrong password!'), 401)
  return { accounts: users.length, logins, info, wrongPassword }
}
