// Service accounts and the credit ledger. A ledger line is only ever inserted; a charge carries
// its call id, UNIQUE in the table, so a charge sent twice (a gateway that retried after a restart)
// is recorded once and the second answer is the first line.
import type Database from 'better-sqlite3'
import type { AuthorizeResult, CreditEntry, LoginStore } from '../store.js'
import { authorizationOf, entryOf, type AuthorizationRow, type EntryRow } from '../rows.js'

export type CreditMethods = Pick<LoginStore, 'createService' | 'getServiceByToken' | 'listServices' | 'addCredit' | 'getBalance' | 'authorizeCall' | 'getAuthorization' | 'chargeCall' | 'listCreditEntries'>

/** No password hash has this form: the account cannot log in with a password. */
const NO_PASSWORD = '!service'

export function createCreditMethods (db: Database.Database): CreditMethods {
  const q = {
    insertAccount: db.prepare('INSERT INTO accounts (username, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    insertService: db.prepare('INSERT INTO services (name, token_hash, created_at) VALUES (?, ?, ?)'),
    serviceByToken: db.prepare<[Uint8Array], { name: string }>('SELECT name FROM services WHERE token_hash = ?'),
    services: db.prepare<[], { name: string }>('SELECT name FROM services ORDER BY name'),
    accountExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM accounts WHERE username = ?'),
    insertEntry: db.prepare<[string, number, string, string | null, string, number]>(
      'INSERT INTO credit_entries (username, amount, kind, call_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO NOTHING'),
    entryById: db.prepare<[number | bigint], EntryRow>('SELECT * FROM credit_entries WHERE id = ?'),
    entryByCall: db.prepare<[string], EntryRow>('SELECT * FROM credit_entries WHERE call_id = ?'),
    balance: db.prepare<[string], { balance: number }>('SELECT COALESCE(SUM(amount), 0) AS balance FROM credit_entries WHERE username = ?'),
    entries: db.prepare<[string, number], EntryRow>('SELECT * FROM credit_entries WHERE username = ? ORDER BY id DESC LIMIT ?'),
    authorization: db.prepare<[string], AuthorizationRow>('SELECT * FROM pstn_authorizations WHERE call_id = ?'),
    held: db.prepare<[string, number, number], { held: number }>(`SELECT COALESCE(SUM(hold), 0) AS held FROM pstn_authorizations
      WHERE username = ? AND settled = 0 AND authorized_at + max_seconds + ? > ?`),
    insertAuthorization: db.prepare(`INSERT INTO pstn_authorizations (call_id, username, number, rate_per_minute, max_seconds, hold, authorized_at)
      VALUES (@callId, @username, @number, @ratePerMinute, @maxSeconds, @hold, @authorizedAt)`),
    settle: db.prepare<[string]>('UPDATE pstn_authorizations SET settled = 1 WHERE call_id = ?')
  }

  const createService = db.transaction((name: string, tokenHash: Uint8Array, now: number): 'created' | 'taken' => {
    if (q.insertAccount.run(name, NO_PASSWORD, now).changes === 0) return 'taken'
    q.insertService.run(name, tokenHash, now)
    return 'created'
  })

  /** Inserts a line; undefined when its call id was charged already (nothing inserted). */
  const insert = (username: string, amount: number, kind: 'credit' | 'charge', callId: string | null, note: string, now: number): CreditEntry | undefined => {
    const result = q.insertEntry.run(username, amount, kind, callId, note, now)
    return result.changes === 0 ? undefined : entryOf(q.entryById.get(result.lastInsertRowid) as EntryRow)
  }

  const authorizeCall = db.transaction((r: Parameters<LoginStore['authorizeCall']>[0], now: number): AuthorizeResult => {
    const existing = q.authorization.get(r.callId)
    if (existing !== undefined) {
      const same = existing.username === r.username && existing.number === r.number && existing.settled === 0
      return same ? { kind: 'again', authorization: authorizationOf(existing), available: available(r.username, r.holdSeconds, now) } : { kind: 'reused' }
    }
    if (q.accountExists.get(r.username) === undefined) return { kind: 'no_account' }
    const free = available(r.username, r.holdSeconds, now)
    if (free < r.ratePerMinute || free <= 0) return { kind: 'no_credit', available: free }
    const minutes = r.ratePerMinute === 0 ? r.maxMinutes : Math.min(r.maxMinutes, Math.floor(free / r.ratePerMinute))
    const authorization = { callId: r.callId, username: r.username, number: r.number, ratePerMinute: r.ratePerMinute, maxSeconds: minutes * 60, hold: minutes * r.ratePerMinute, authorizedAt: now }
    q.insertAuthorization.run(authorization)
    return { kind: 'authorized', authorization: { ...authorization, settled: false }, available: free }
  })
  /** Credit not held by open authorizations. */
  const available = (username: string, holdSeconds: number, now: number): number =>
    (q.balance.get(username) as { balance: number }).balance - (q.held.get(username, holdSeconds, now) as { held: number }).held

  const chargeCall = db.transaction((username: string, callId: string, amount: number, note: string, now: number) => {
    const earlier = q.entryByCall.get(callId)
    if (earlier !== undefined) return { kind: 'already' as const, entry: entryOf(earlier) }
    if (q.accountExists.get(username) === undefined) return { kind: 'no_account' as const }
    q.settle.run(callId)
    // -0 would be stored as 0 anyway; a free call still gets its line (the record that it was settled).
    return { kind: 'charged' as const, entry: insert(username, amount === 0 ? 0 : -amount, 'charge', callId, note, now) as CreditEntry }
  })

  return {
    async createService (name, tokenHash, now) { return createService(name, tokenHash, now) },
    async getServiceByToken (tokenHash) { return q.serviceByToken.get(tokenHash)?.name },
    async listServices () { return q.services.all().map(row => row.name) },
    async addCredit (username, amount, note, now) {
      if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError('a credit is a positive whole number of minor units')
      if (q.accountExists.get(username) === undefined) return 'no_account'
      return insert(username, amount, 'credit', null, note, now) as CreditEntry
    },
    async getBalance (username) { return (q.balance.get(username) as { balance: number }).balance },
    async authorizeCall (request, now) { return authorizeCall(request, now) },
    async getAuthorization (callId) {
      const row = q.authorization.get(callId)
      return row === undefined ? undefined : authorizationOf(row)
    },
    async chargeCall (username, callId, amount, note, now) {
      if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError('a charge is a whole number of minor units, 0 or more')
      return chargeCall(username, callId, amount, note, now)
    },
    async listCreditEntries (username, limit) { return q.entries.all(username, limit).map(entryOf) }
  }
}
