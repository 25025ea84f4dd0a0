// The operator's commands on a login server's data dir, beside a running server (SQLite in WAL
// mode takes both; PostgreSQL takes any number): make a service account and print its token; add
// credit to a user.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { normalizeUsername, invalidUsernameMessage } from '../common/usernames.js'
import { DATABASE_FILE } from './constants.js'
import { openLoginStore } from './store/open-store.js'
import type { LoginStore } from './store/store.js'
import { newToken, hashToken } from './tokens.js'
import { formatMoney } from '../common/money.js'

/** An operator's mistake: the message is the whole story (no stack). */
export class AdminError extends Error {}

/** Where the login server keeps its data: its data dir, and its PostgreSQL database if it has one. */
export interface StoreLocation { dataDir: string, database?: string }

async function withStore<T> ({ dataDir, database }: StoreLocation, run: (store: LoginStore) => Promise<T>): Promise<T> {
  if (database === undefined && !existsSync(join(resolve(dataDir), DATABASE_FILE))) {
    throw new AdminError(`no login server database in ${resolve(dataDir)} (start the login server with --data-dir ${dataDir} once first, or give its --database)`)
  }
  const store = await openLoginStore(database, resolve(dataDir))
  try {
    return await run(store)
  } finally {
    await store.close()
  }
}

function requireName (input: string): string {
  const name = normalizeUsername(input)
  if (name === undefined) throw new AdminError(invalidUsernameMessage(input))
  return name
}

/** Creates service `name` and returns its token (shown once: only its hash is kept). */
export async function addService (where: StoreLocation, input: string, now = Math.floor(Date.now() / 1000)): Promise<string> {
  const name = requireName(input)
  const token = newToken()
  return await withStore(where, async store => {
    if (await store.createService(name, hashToken(token), now) === 'taken') throw new AdminError(`the name "${name}" is taken (an account or a service has it already)`)
    return token
  })
}

/** Adds `amount` minor units to `input`'s credit; returns the sentence to print. */
export async function addCredit (where: StoreLocation, input: string, amount: number, note: string, now = Math.floor(Date.now() / 1000)): Promise<string> {
  const name = requireName(input)
  return await withStore(where, async store => {
    const entry = await store.addCredit(name, amount, note, now)
    if (entry === 'no_account') throw new AdminError(`there is no user "${name}"`)
    return `added ${formatMoney(amount)} to ${name}; balance ${formatMoney(await store.getBalance(name))}`
  })
}
