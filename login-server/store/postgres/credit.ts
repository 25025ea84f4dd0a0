// Service accounts and the credit ledger. A ledger line is only ever inserted; a charge carries its
// call id, UNIQUE in the table, so a charge sent twice (a gateway that retried, to any instance) is
// recorded once. What reads a balance and then writes against it (an authorization, a charge) holds
// the user's credit lock and the call's: two instances cannot spend the same credit twice.
import type { AuthorizeResult, ChargeResult, LoginStore } from '../store.js'
import { authorizationOf, entryOf, type AuthorizationRow, type EntryRow } from '../rows.js'
import type { CreditMethods } from '../sqlite/credit.js'
import { isForeignKeyViolation, type PostgresDatabase, type Queryable } from './database.js'

/** No password hash has this form: the account cannot log in with a password. */
const NO_PASSWORD = '!service'

const creditLocks = (username: string, callId: string): string[] => [`credit:${username}`, `call:${callId}`]

const accountExists = async (client: Queryable, username: string): Promise<boolean> =>
  (await client.query('SELECT 1 FROM accounts WHERE username = $1', [username])).rowCount === 1

const balanceOf = async (client: Queryable, username: string): Promise<number> =>
  (await client.query<{ balance: number }>('SELECT COALESCE(SUM(amount), 0)::bigint AS balance FROM credit_entries WHERE username = $1', [username])).rows[0]?.balance ?? 0

/** Credit not held by open authorizations. */
async function available (client: Queryable, username: string, holdSeconds: number, now: number): Promise<number> {
  const held = (await client.query<{ held: number }>(`SELECT COALESCE(SUM(hold), 0)::bigint AS held FROM pstn_authorizations
    WHERE username = $1 AND NOT settled AND authorized_at + max_seconds + $2 > $3`, [username, holdSeconds, now])).rows[0]?.held ?? 0
  return await balanceOf(client, username) - held
}

const authorizationRow = async (client: Queryable, callId: string): Promise<AuthorizationRow | undefined> =>
  (await client.query<AuthorizationRow>('SELECT * FROM pstn_authorizations WHERE call_id = $1', [callId])).rows[0]

export function createCreditMethods ({ pool, transaction }: PostgresDatabase): CreditMethods {
  const authorizeCall = async (r: Parameters<LoginStore['authorizeCall']>[0], now: number): Promise<AuthorizeResult> =>
    await transaction(creditLocks(r.username, r.callId), async client => {
      const existing = await authorizationRow(client, r.callId)
      if (existing !== undefined) {
        const same = existing.username === r.username && existing.number === r.number && !existing.settled
        return same ? { kind: 'again', authorization: authorizationOf(existing), available: await available(client, r.username, r.holdSeconds, now) } : { kind: 'reused' }
      }
      if (!await accountExists(client, r.username)) return { kind: 'no_account' }
      const free = await available(client, r.username, r.holdSeconds, now)
      if (free < r.ratePerMinute || free <= 0) return { kind: 'no_credit', available: free }
      const minutes = r.ratePerMinute === 0 ? r.maxMinutes : Math.min(r.maxMinutes, Math.floor(free / r.ratePerMinute))
      const authorization = { callId: r.callId, username: r.username, number: r.number, ratePerMinute: r.ratePerMinute, maxSeconds: minutes * 60, hold: minutes * r.ratePerMinute, authorizedAt: now }
      await client.query(`INSERT INTO pstn_authorizations (call_id, username, number, rate_per_minute, max_seconds, hold, authorized_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)`, [authorization.callId, authorization.username, authorization.number, authorization.ratePerMinute, authorization.maxSeconds, authorization.hold, now])
      return { kind: 'authorized', authorization: { ...authorization, settled: false }, available: free }
    })

  const chargeCall = async (username: string, callId: string, amount: number, note: string, now: number): Promise<ChargeResult> =>
    await transaction(creditLocks(username, callId), async client => {
      const earlier = (await client.query<EntryRow>('SELECT * FROM credit_entries WHERE call_id = $1', [callId])).rows[0]
      if (earlier !== undefined) return { kind: 'already', entry: entryOf(earlier) }
      if (!await accountExists(client, username)) return { kind: 'no_account' }
      await client.query('UPDATE pstn_authorizations SET settled = true WHERE call_id = $1', [callId])
      // A free call still gets its line (the record that it was settled).
      const row = (await client.query<EntryRow>(`INSERT INTO credit_entries (username, amount, kind, call_id, note, created_at)
        VALUES ($1, $2, 'charge', $3, $4, $5) RETURNING *`, [username, amount === 0 ? 0 : -amount, callId, note, now])).rows[0] as EntryRow
      return { kind: 'charged', entry: entryOf(row) }
    })

  return {
    async createService (name, tokenHash, now) {
      return await transaction([], async client => {
        const inserted = await client.query('INSERT INTO accounts (username, password_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [name, NO_PASSWORD, now])
        if (inserted.rowCount === 0) return 'taken'
        await client.query('INSERT INTO services (name, token_hash, created_at) VALUES ($1, $2, $3)', [name, Buffer.from(tokenHash), now])
        return 'created'
      })
    },
    async getServiceByToken (tokenHash) {
      return (await pool.query<{ name: string }>('SELECT name FROM services WHERE token_hash = $1', [Buffer.from(tokenHash)])).rows[0]?.name
    },
    async listServices () {
      return (await pool.query<{ name: string }>('SELECT name FROM services ORDER BY name COLLATE "C"')).rows.map(row => row.name)
    },
    async addCredit (username, amount, note, now) {
      if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError('a credit is a positive whole number of minor units')
      try {
        const row = (await pool.query<EntryRow>(`INSERT INTO credit_entries (username, amount, kind, call_id, note, created_at)
          VALUES ($1, $2, 'credit', NULL, $3, $4) RETURNING *`, [username, amount, note, now])).rows[0] as EntryRow
        return entryOf(row)
      } catch (err) {
        if (isForeignKeyViolation(err)) return 'no_account'
        throw err
      }
    },
    async getBalance (username) { return await balanceOf(pool, username) },
    authorizeCall,
    async getAuthorization (callId) {
      const row = await authorizationRow(pool, callId)
      return row === undefined ? undefined : authorizationOf(row)
    },
    async chargeCall (username, callId, amount, note, now) {
      if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError('a charge is a whole number of minor units, 0 or more')
      return await chargeCall(username, callId, amount, note, now)
    },
    async listCreditEntries (username, limit) {
      return (await pool.query<EntryRow>('SELECT * FROM credit_entries WHERE username = $1 ORDER BY id DESC LIMIT $2', [username, limit])).rows.map(entryOf)
    }
  }
}
