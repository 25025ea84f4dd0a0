// The store suite (store-suite.ts) on the PostgreSQL store: one throwaway cluster for the
// file, a new database per test (dropped with the cluster).
import { afterAll, beforeAll, describe } from 'vitest'
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

  loginStoreSuite('PostgreSQL store', {
    fresh: async () => {
      if (postgres === undefined) throw new Error('the PostgreSQL cluster did not start')
      const url = await postgres.createDatabase()
      return { open: async () => await openPostgresStore(url), remove: async () => {} }
    },
    sharedRateLimits: true
  })
})
