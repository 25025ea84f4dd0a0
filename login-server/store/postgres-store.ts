// The store for several login server instances on one PostgreSQL database (`--database
// postgres://…`): the same interface as the SQLite store, the same schema versions, each table
// group's queries in postgres/ (a file per group). Writes that read before they write run in a
// transaction holding the locks of what they touch (postgres/database.ts).
import { openPostgresDatabase } from './postgres/database.js'
import { createAccountMethods } from './postgres/accounts.js'
import { createSessionMethods } from './postgres/sessions.js'
import { createContactMethods } from './postgres/contacts.js'
import { createBlockMethods } from './postgres/blocks.js'
import { createSupernodeMethods } from './postgres/supernodes.js'
import { createCreditMethods } from './postgres/credit.js'
import { createPstnCallMethods } from './postgres/pstn-calls.js'
import { createPostgresRateLimiter } from './postgres/rate-limits.js'
import { claimIdentity } from './postgres/identity.js'
import type { LoginStore } from './store.js'

export async function openPostgresStore (url: string): Promise<LoginStore> {
  const db = await openPostgresDatabase(url)
  return {
    claimIdentity: async (identity, now) => await claimIdentity(db, identity, now),
    rateLimiter: (name, limit) => createPostgresRateLimiter(db, name, limit),
    ...createAccountMethods(db),
    ...createSessionMethods(db),
    ...createContactMethods(db),
    ...createBlockMethods(db),
    ...createSupernodeMethods(db),
    ...createCreditMethods(db),
    ...createPstnCallMethods(db),
    close: db.close
  }
}
