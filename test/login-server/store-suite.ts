// One suite of LoginStore tests, run against every store (login-store.test.ts: SQLite,
// login-store-postgres.test.ts: PostgreSQL), so the stores keep one behaviour: the routes
// cannot tell which store they run on. Each test gets a fresh, empty database and a handle
// on it; the concurrency tests open a second handle on the same database, as a second
// server instance would.
import { afterEach, beforeEach, describe } from 'vitest'
import type { LoginStore } from '../../login-server/store/store.js'
import type { StoreUnderTest } from './store-suite-common.js'
import { accountTests, identityTests, knownDeviceTests, sessionTests } from './store-suite-accounts.js'
import { blockTests, contactListTests, contactTests } from './store-suite-contacts.js'
import { supernodeTests } from './store-suite-supernodes.js'
import { creditTests, pstnCallTests, serviceTests } from './store-suite-credit.js'
import { rateLimiterTests } from './store-suite-rate-limits.js'
import { concurrencyTests } from './store-suite-concurrency.js'

/** A new, empty database of the store under test. */
export interface TestDatabase {
  /** Opens one more handle on this database. */
  open: () => Promise<LoginStore>
  /** Deletes what the database left behind (called once its handles are closed). */
  remove: () => Promise<void>
}

export interface LoginStoreSuiteOptions {
  /** Makes the database of one test. */
  fresh: () => Promise<TestDatabase>
  /** Whether handles on one database count rate limits together (PostgreSQL), not each in its own memory (SQLite). */
  sharedRateLimits: boolean
}

export function loginStoreSuite (name: string, options: LoginStoreSuiteOptions): void {
  describe(name, () => {
    let database: TestDatabase | undefined
    let handles: LoginStore[] = []

    const open = async (): Promise<LoginStore> => {
      if (database === undefined) throw new Error('no database: open() outside a test')
      const handle = await database.open()
      handles.push(handle)
      return handle
    }

    beforeEach(async () => {
      database = await options.fresh()
      await open()
    })

    afterEach(async () => {
      const closing = handles
      const opened = database
      handles = []
      database = undefined
      try {
        await Promise.all(closing.map(async handle => { await handle.close() }))
      } finally {
        await opened?.remove()
      }
    })

    const subject: StoreUnderTest = {
      store: () => {
        const first = handles[0]
        if (first === undefined) throw new Error('no store: store() outside a test')
        return first
      },
      openAnother: open,
      sharedRateLimits: options.sharedRateLimits
    }

    accountTests(subject)
    knownDeviceTests(subject)
    sessionTests(subject)
    identityTests(subject)
    rateLimiterTests(subject)
    contactTests(subject)
    contactListTests(subject)
    blockTests(subject)
    supernodeTests(subject)
    serviceTests(subject)
    creditTests(subject)
    pstnCallTests(subject)
    concurrencyTests(subject)
  })
}
