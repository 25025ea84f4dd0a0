// The PSTN gateway's call records as users see theirs: one row per call id (a gateway that reports
// again after a restart, to any instance, changes nothing), the cost read from the ledger's charge.
import type { PstnCallMethods } from '../sqlite/pstn-calls.js'
import { pstnCallOf, type PstnCallRow } from '../rows.js'
import { isForeignKeyViolation, type PostgresDatabase } from './database.js'

export function createPstnCallMethods ({ pool, transaction }: PostgresDatabase): PstnCallMethods {
  return {
    async recordPstnCall (r, maxPerUser) {
      try {
        return await transaction([`pstn-calls:${r.username}`], async client => {
          // As the SQLite store answers: an unknown user first, whatever the call id.
          if ((await client.query('SELECT 1 FROM accounts WHERE username = $1', [r.username])).rowCount === 0) return 'no_account'
          const inserted = (await client.query(`INSERT INTO pstn_calls (call_id, username, direction, number, caller_number, started_at, answered_at, ended_at, billsec, disposition, reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (call_id) DO NOTHING`,
          [r.callId, r.username, r.direction, r.number, r.callerNumber ?? null, r.startedAt, r.answeredAt ?? null, r.endedAt, r.billsec, r.disposition, r.reason])).rowCount === 1
          if (inserted) {
            await client.query(`DELETE FROM pstn_calls WHERE username = $1 AND call_id NOT IN
              (SELECT call_id FROM pstn_calls WHERE username = $1 ORDER BY started_at DESC, call_id COLLATE "C" LIMIT $2)`, [r.username, maxPerUser])
          }
          return inserted ? 'recorded' : 'exists'
        })
      } catch (err) {
        if (isForeignKeyViolation(err)) return 'no_account'
        throw err
      }
    },
    async listPstnCalls (username, limit) {
      return (await pool.query<PstnCallRow>(`SELECT p.*, COALESCE(-c.amount, 0) AS cost FROM pstn_calls p
        LEFT JOIN credit_entries c ON c.call_id = p.call_id AND c.kind = 'charge'
        WHERE p.username = $1 ORDER BY p.started_at DESC, p.call_id COLLATE "C" LIMIT $2`, [username, limit])).rows.map(pstnCallOf)
    }
  }
}
