// What the store suite's test files share: the store a test works with, its clock, its users.
import { createHash } from 'node:crypto'
import type { LoginStore } from '../../login-server/store/store.js'

/** What a test of the suite works with. */
export interface StoreUnderTest {
  /** This test's store: the first handle on its fresh database. */
  store: () => LoginStore
  /** Another handle on this test's database, as another server instance opens it; closed after the test. */
  openAnother: () => Promise<LoginStore>
  /** Whether handles on one database count rate limits together (PostgreSQL), not each in its own memory (SQLite). */
  sharedRateLimits: boolean
}

/** Unix seconds the tests start at: far from 0, so a time mistaken for a duration shows. */
export const NOW = 1_700_000_000

export async function createUsers (store: LoginStore, ...usernames: string[]): Promise<void> {
  for (const username of usernames) {
    if (await store.createAccount(username, `hash-of-${username}`, NOW) !== 'created') throw new Error(`account ${username} exists already`)
  }
}

/** A token's hash, as the server stores it in place of the token. */
export const tokenHash = (token: string): Uint8Array => createHash('sha256').update(token).digest()
