// The store suite (store-suite.ts) on the PostgreSQL store: one throwaway cluster for the
// file, a new database per test (dropped with the cluster).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { openPostgresStore } from '../../login-server/store/postgres-store.js'
import { postgresSkipReason, startTestPostgres, type TestPostgres } from '../helpers/postgres.js'
import { loginStoreSuite } from './store-suite.js'

const skip = postgresSkipReason()

describe.skipIf(skip !== undefined)('PostgreSQL', () => {
  let postgres: TestPostgres | undefined

  beforeAll(async () => {
    postgres = await startTestPostgres()
  })

  afterAll(async () => {
    await postgres?.stop()
  })

  // PostgreSQL's own failures, which the suite (the same for both stores) does not make happen.
  it('a connection lost while a transaction waits for a lock fails that call, and the store serves on', async () => {
    if (postgres === undefined) throw new Error('the PostgreSQL cluster did not start')
    const url = await postgres.createDatabase()
    const store = await openPostgresStore(url)
    const holder = new pg.Client(url)
    await holder.connect()
    try {
      for (const user of ['ann', 'ben']) await store.createAccount(user, 'hash', 1)
      // Another session holds the pair's lock (contacts.ts: pairLock), so the request waits on it...
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', ['pair:ann ben'])
      const waiting = store.createContactRequest('ann', 'ben', 'hi', 2)
      const outcome = waiting.then(() => 'resolved', (err: Error) => err.message)
      // ...until its connection is cut, as a PostgreSQL restart or failover would.
      await waitFor(async () => (await holder.query("SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'")).rowCount === 1)
      expect(await outcome).toMatch(/terminat/i)
      await holder.query('SELECT pg_advisory_unlock_all()')
      expect(await store.createContactRequest('ann', 'ben', 'again', 3)).toMatchObject({ kind: 'created' })
    } finally {
      await holder.end()
      await store.close()
    }
  })

  loginStoreSuite('PostgreSQL store', {
    fresh: async () => {
      if (postgres === undefined) throw new Error('the PostgreSQL cluster did not start')
      const url = await postgres.createDatabase()
      return { open: async () => await openPostgresStore(url), remove: async () => {} }
    },
    sharedRateLimits: true
  })
})

/** Polls `check` every 20 ms for up to 5 s. */
async function waitFor (check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 250; tries++) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error('waited 5 s in vain')
}
