// The PSTN gateway's call records as users see theirs: one row per call id (a gateway that reports
// again after a restart, to any instance, changes nothing), the cost read from the ledger's charge.
import type { PstnCallRecord } from '../store.js'
import type { PstnCallMethods } from '../sqlite/pstn-calls.js'
import { isForeignKeyViolation, type PostgresDatabase } from './database.js'

interface Row {
  call_id: string, username: string, direction: 'outbound' | 'inbound', number: string, caller_number: string | null, started_at: number,
  answered_at: number | null, ended_at: number, billsec: number, disposition: string, reason: string, cost: number
}

const recordOf = (row: Row): PstnCallRecord & { cost: number } => ({
  callId: row.call_id,
  username: row.username,
  direction: row.direction,
  number: row.number,
  ...(row.caller_number === null ? {} : { callerNumber: row.caller_number }),
  startedAt: row.started_at,
  ...(row.answered_at === null ? {} : { answeredAt: row.answered_at }),
  endedAt: row.ended_at,
  billsec: row.billsec,
  disposition: row.disposition,
  reason: row.reason,
  cost: row.cost
})

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
      return (await pool.query<Row>(`SELECT p.*, COALESCE(-c.amount, 0) AS cost FROM pstn_calls p
        LEFT JOIN credit_entries c ON c.call_id = p.call_id AND c.kind = 'charge'
        WHERE p.username = $1 ORDER BY p.started_at DESC, p.call_id COLLATE "C" LIMIT $2`, [username, limit])).rows.map(recordOf)
    }
  }
}
