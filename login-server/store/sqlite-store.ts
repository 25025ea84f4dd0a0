// The embedded default store: one SQLite file in WAL mode. Each table group's
// queries live in sqlite/ (a file per group, each taking the open handle).
import { openDatabase } from './sqlite/database.js'
import { createAccountMethods } from './sqlite/accounts.js'
import { createSessionMethods } from './sqlite/sessions.js'
import { createContactMethods } from './sqlite/contacts.js'
import { createBlockMethods } from './sqlite/blocks.js'
import { createSupernodeMethods } from './sqlite/supernodes.js'
import { createCreditMethods } from './sqlite/credit.js'
import { createPstnCallMethods } from './sqlite/pstn-calls.js'
import { createIdentityMethods } from './sqlite/identity.js'
import { inMemory } from '../rate-limiter.js'
import type { LoginStore } from './store.js'

export function openSqliteStore (file: string): LoginStore {
  const db = openDatabase(file)
  return {
    ...createIdentityMethods(db),
    // One process opens the file: its memory is where every request counts.
    rateLimiter: (_name, limit) => inMemory(limit),
    ...createAccountMethods(db),
    ...createSessionMethods(db),
    ...createContactMethods(db),
    ...createBlockMethods(db),
    ...createSupernodeMethods(db),
    ...createCreditMethods(db),
    ...createPstnCallMethods(db),
    async close () {
      if (db.open) db.close()
    }
  }
}
