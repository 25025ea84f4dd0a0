// The PSTN gateway's call records as users see theirs: one row per call id (a gateway that reports
// again after a restart changes nothing), the cost read from the ledger's charge of the same call.
import type Database from 'better-sqlite3'
import type { LoginStore, PstnCallRecord } from '../store.js'
import { pstnCallOf, type PstnCallRow } from '../rows.js'

export type PstnCallMethods = Pick<LoginStore, 'recordPstnCall' | 'listPstnCalls'>

export function createPstnCallMethods (db: Database.Database): PstnCallMethods {
  const q = {
    accountExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM accounts WHERE username = ?'),
    insert: db.prepare(`INSERT INTO pstn_calls (call_id, username, direction, number, caller_number, started_at, answered_at, ended_at, billsec, disposition, reason)
      VALUES (@callId, @username, @direction, @number, @callerNumber, @startedAt, @answeredAt, @endedAt, @billsec, @disposition, @reason) ON CONFLICT (call_id) DO NOTHING`),
    trim: db.prepare(`DELETE FROM pstn_calls WHERE username = ? AND call_id NOT IN
      (SELECT call_id FROM pstn_calls WHERE username = ? ORDER BY started_at DESC, call_id LIMIT ?)`),
    list: db.prepare<[string, number], PstnCallRow>(`SELECT p.*, COALESCE(-c.amount, 0) AS cost FROM pstn_calls p
      LEFT JOIN credit_entries c ON c.call_id = p.call_id AND c.kind = 'charge'
      WHERE p.username = ? ORDER BY p.started_at DESC, p.call_id LIMIT ?`)
  }
  const record = db.transaction((r: PstnCallRecord, maxPerUser: number): 'recorded' | 'exists' | 'no_account' => {
    if (q.accountExists.get(r.username) === undefined) return 'no_account'
    const inserted = q.insert.run({ ...r, callerNumber: r.callerNumber ?? null, answeredAt: r.answeredAt ?? null }).changes === 1
    if (inserted) q.trim.run(r.username, r.username, maxPerUser)
    return inserted ? 'recorded' : 'exists'
  })
  return {
    async recordPstnCall (r, maxPerUser) { return record(r, maxPerUser) },
    async listPstnCalls (username, limit) { return q.list.all(username, limit).map(pstnCallOf) }
  }
}
