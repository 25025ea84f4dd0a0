// The PSTN gateway's call detail records (CDRs): one record per call attempt, in an owner-only
// SQLite file, Asterisk's CDR fields in spirit. A record is begun when a call is placed or rung,
// marked answered, ended with a disposition and its billable seconds, and, for a chargeable call,
// left 'pending' until the login server confirms the charge. The file is what a restarted gateway
// needs: the charges to send again (the login server charges once per call id, so resending is
// safe) and the calls a crash left live. Every change is one transaction; the methods are async so
// another database could sit behind the same interface.
import type Database from 'better-sqlite3'
import { openPrivateDatabase } from '../../common/sqlite-file.js'
import { CDR_MIGRATIONS } from './migrations.js'

export type CallDirection = 'outbound' | 'inbound'
export type CallDisposition = 'ANSWERED' | 'NO ANSWER' | 'BUSY' | 'FAILED' | 'CONGESTION'
export type ChargeState = 'none' | 'pending' | 'charged'

export const CALL_DISPOSITIONS: readonly CallDisposition[] = ['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CONGESTION']
const DIRECTIONS: readonly CallDirection[] = ['outbound', 'inbound']

/** Records kept per user unless told otherwise; live and pending ones are never dropped. */
export const DEFAULT_MAX_RECORDS_PER_USER = 1000
/** The end reason of a call a restarted gateway found live. */
export const GATEWAY_RESTART_REASON = 'gateway-restart'

/** One call attempt. Times are unix milliseconds. */
export interface CallDetailRecord {
  /** The voxmesh call id. */
  callId: string
  /** 'outbound': the user dialed `number`; 'inbound': a phone caller rang the user's assigned `number`. */
  direction: CallDirection
  /** The voxmesh user. */
  user: string
  number: string
  /** Inbound: the phone caller's number (null if withheld); always null outbound. */
  callerNumber: string | null
  /** The most connected seconds this call may bill (the authorization's maxSeconds); null: no cap. */
  maxBillsec: number | null
  startedAt: number
  /** null if never answered. */
  answeredAt: number | null
  /** null while live. */
  endedAt: number | null
  /** Whole seconds from answer to end (rounded down, capped at maxBillsec); 0 if never answered or live. */
  billsec: number
  /** Minor units, as the login server charged; null until charged. */
  cost: number | null
  /** null while live. */
  disposition: CallDisposition | null
  /** voxmesh's end reason ('hangup', 'payment-required', ...); null while live. */
  reason: string | null
  /** 'none': free, inbound or 0 s; 'pending': ended, charge not confirmed; 'charged'. */
  chargeState: ChargeState
}

/** What begin() takes: a new attempt. */
export interface CallAttempt {
  callId: string
  direction: CallDirection
  user: string
  number: string
  callerNumber?: string | null
  maxBillsec?: number | null
  startedAt: number
}

/** What end() takes. `chargeable`: an outbound call the login server should charge (inbound calls are free). */
export interface CallEnding {
  at: number
  disposition: CallDisposition
  reason: string
  chargeable: boolean
}

export type AnswerResult = 'answered' | 'already-answered' | 'already-ended' | 'unknown'

export type EndResult =
  | { kind: 'ended', record: CallDetailRecord }
  /** Ended before: the record as it was, unchanged (the first end wins). */
  | { kind: 'already-ended', record: CallDetailRecord }
  | { kind: 'unknown' }

export type ChargedResult =
  | { kind: 'charged', record: CallDetailRecord }
  /** Charged before: the record keeps the first cost. */
  | { kind: 'already-charged', record: CallDetailRecord }
  /** Live, or ended with nothing to charge: unchanged. */
  | { kind: 'not-pending', record: CallDetailRecord }
  | { kind: 'unknown' }

export interface CdrStore {
  /** Records a new attempt; 'duplicate' (nothing changed) when the call id has a record already. */
  begin: (attempt: CallAttempt) => Promise<'begun' | 'duplicate'>
  /** Marks a live call answered at `at`; a second answer keeps the first time. */
  answered: (callId: string, at: number) => Promise<AnswerResult>
  /** Ends a live call: billsec from its answer, chargeState 'pending' when chargeable and billsec > 0. */
  end: (callId: string, ending: CallEnding) => Promise<EndResult>
  /** The login server charged `cost` for this call; harmless when repeated. */
  charged: (callId: string, cost: number) => Promise<ChargedResult>
  /** Ended calls whose charge is not confirmed, the earliest ended first: what to send (again). */
  pendingCharges: (limit?: number) => Promise<CallDetailRecord[]>
  /** The login server authorized this live call for at most `maxBillsec` connected seconds: its billsec never exceeds them. */
  authorized: (callId: string, maxBillsec: number) => Promise<void>
  /** Ended calls the login server does not have yet (their charge settled first), the earliest ended first. */
  unreported: (limit: number) => Promise<CallDetailRecord[]>
  /** The login server has this call's record. */
  reported: (callId: string) => Promise<void>
  /** Calls never ended, the earliest started first. */
  live: () => Promise<CallDetailRecord[]>
  /** At start: ends every live call (a crash left them) at `at` with reason 'gateway-restart'; returns them ended. */
  endAbandoned: (at: number) => Promise<CallDetailRecord[]>
  /** A user's records, the newest first (`voxmesh calls --history`). */
  listForUser: (user: string, limit: number) => Promise<CallDetailRecord[]>
  get: (callId: string) => Promise<CallDetailRecord | undefined>
  /** Closes the file; calling it again does nothing. */
  close: () => Promise<void>
}

export interface CdrStoreOptions {
  /** At most this many records per user; the oldest ended and settled ones are dropped first. */
  maxRecordsPerUser?: number
}

interface RecordRow {
  call_id: string
  direction: CallDirection
  username: string
  number: string
  caller_number: string | null
  max_billsec: number | null
  started_at: number
  answered_at: number | null
  ended_at: number | null
  billsec: number
  disposition: CallDisposition | null
  reason: string | null
  charge_state: ChargeState
  cost: number | null
}

const recordOf = (row: RecordRow): CallDetailRecord => ({
  callId: row.call_id,
  direction: row.direction,
  user: row.username,
  number: row.number,
  callerNumber: row.caller_number,
  maxBillsec: row.max_billsec,
  startedAt: row.started_at,
  answeredAt: row.answered_at,
  endedAt: row.ended_at,
  billsec: row.billsec,
  cost: row.cost,
  disposition: row.disposition,
  reason: row.reason,
  chargeState: row.charge_state
})

/** Whole seconds from answer to end, rounded down; 0 if never answered or if the clock stepped back; at most `maxBillsec`. */
export function billsecOf (answeredAt: number | null, endedAt: number, maxBillsec: number | null): number {
  if (answeredAt === null) return 0
  const seconds = Math.max(0, Math.floor((endedAt - answeredAt) / 1000))
  return maxBillsec === null ? seconds : Math.min(seconds, maxBillsec)
}

function requireWhole (value: number, what: string, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) throw new RangeError(`${what} must be a whole number, ${minimum} or more (got ${value})`)
}

function checkAttempt (attempt: CallAttempt): void {
  if (!DIRECTIONS.includes(attempt.direction)) throw new RangeError(`a call's direction is 'outbound' or 'inbound' (got ${JSON.stringify(attempt.direction)})`)
  for (const field of ['callId', 'user', 'number'] as const) {
    if (typeof attempt[field] !== 'string' || attempt[field] === '') throw new RangeError(`a call record needs a ${field}`)
  }
  if (attempt.direction === 'outbound' && attempt.callerNumber != null) throw new RangeError('only an inbound call has a caller number')
  requireWhole(attempt.startedAt, 'startedAt', 0)
  if (attempt.maxBillsec != null) requireWhole(attempt.maxBillsec, 'maxBillsec', 0)
}

function checkEnding (ending: CallEnding): void {
  requireWhole(ending.at, 'the end time', 0)
  if (!CALL_DISPOSITIONS.includes(ending.disposition)) throw new RangeError(`unknown disposition ${JSON.stringify(ending.disposition)}`)
}

function prepareQueries (db: Database.Database) {
  return {
    insert: db.prepare<[string, string, string, string, string | null, number | null, number]>(
      `INSERT INTO call_records (call_id, direction, username, number, caller_number, max_billsec, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO NOTHING`),
    byCallId: db.prepare<[string], RecordRow>('SELECT * FROM call_records WHERE call_id = ?'),
    setAnswered: db.prepare<[number, string]>('UPDATE call_records SET answered_at = ? WHERE call_id = ?'),
    setEnded: db.prepare<[number, number, string, string, ChargeState, string]>(
      'UPDATE call_records SET ended_at = ?, billsec = ?, disposition = ?, reason = ?, charge_state = ? WHERE call_id = ?'),
    setCharged: db.prepare<[number, string]>("UPDATE call_records SET charge_state = 'charged', cost = ? WHERE call_id = ?"),
    pending: db.prepare<[number], RecordRow>("SELECT * FROM call_records WHERE charge_state = 'pending' ORDER BY ended_at, rowid LIMIT ?"),
    live: db.prepare<[], RecordRow>('SELECT * FROM call_records WHERE ended_at IS NULL ORDER BY started_at, rowid'),
    forUser: db.prepare<[string, number], RecordRow>('SELECT * FROM call_records WHERE username = ? ORDER BY started_at DESC, rowid DESC LIMIT ?'),
    countForUser: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM call_records WHERE username = ?'),
    // Only settled records go: ended, and not waiting for a charge.
    dropOldestSettled: db.prepare<[string, number]>(
      `DELETE FROM call_records WHERE rowid IN (
         SELECT rowid FROM call_records WHERE username = ? AND ended_at IS NOT NULL AND charge_state <> 'pending'
         ORDER BY started_at, rowid LIMIT ?)`)
  }
}

type Queries = ReturnType<typeof prepareQueries>

/** The state changes, each one transaction; `maxRecordsPerUser` bounds each user's records. */
function prepareTransactions (db: Database.Database, q: Queries, maxRecordsPerUser: number) {
  const keepBound = (user: string): void => {
    const excess = (q.countForUser.get(user) as { n: number }).n - maxRecordsPerUser
    if (excess > 0) q.dropOldestSettled.run(user, excess)
  }

  /** Ends a live row; the caller has checked that it is live. */
  const endRow = (row: RecordRow, at: number, disposition: CallDisposition, reason: string, chargeable: boolean): CallDetailRecord => {
    const billsec = billsecOf(row.answered_at, at, row.max_billsec)
    q.setEnded.run(at, billsec, disposition, reason, chargeable && billsec > 0 ? 'pending' : 'none', row.call_id)
    return recordOf(q.byCallId.get(row.call_id) as RecordRow)
  }

  const begin = db.transaction((attempt: CallAttempt): 'begun' | 'duplicate' => {
    const result = q.insert.run(attempt.callId, attempt.direction, attempt.user, attempt.number,
      attempt.callerNumber ?? null, attempt.maxBillsec ?? null, attempt.startedAt)
    if (result.changes === 0) return 'duplicate'
    keepBound(attempt.user)
    return 'begun'
  })

  const answered = db.transaction((callId: string, at: number): AnswerResult => {
    const row = q.byCallId.get(callId)
    if (row === undefined) return 'unknown'
    if (row.ended_at !== null) return 'already-ended'
    if (row.answered_at !== null) return 'already-answered'
    q.setAnswered.run(at, callId)
    return 'answered'
  })

  const end = db.transaction((callId: string, ending: CallEnding): EndResult => {
    const row = q.byCallId.get(callId)
    if (row === undefined) return { kind: 'unknown' }
    if (row.ended_at !== null) return { kind: 'already-ended', record: recordOf(row) }
    const wasAnswered = row.answered_at !== null
    if (wasAnswered !== (ending.disposition === 'ANSWERED')) {
      throw new RangeError(`call ${callId} was ${wasAnswered ? '' : 'never '}answered: its disposition cannot be ${ending.disposition}`)
    }
    const record = endRow(row, ending.at, ending.disposition, ending.reason, ending.chargeable)
    keepBound(row.username)
    return { kind: 'ended', record }
  })

  const charged = db.transaction((callId: string, cost: number): ChargedResult => {
    const row = q.byCallId.get(callId)
    if (row === undefined) return { kind: 'unknown' }
    if (row.charge_state === 'charged') return { kind: 'already-charged', record: recordOf(row) }
    if (row.charge_state !== 'pending') return { kind: 'not-pending', record: recordOf(row) }
    q.setCharged.run(cost, callId)
    const record = recordOf(q.byCallId.get(callId) as RecordRow)
    keepBound(row.username)
    return { kind: 'charged', record }
  })

  const endAbandoned = db.transaction((at: number): CallDetailRecord[] => {
    const ended = q.live.all().map(row => {
      const wasAnswered = row.answered_at !== null
      // The login server rates the call; inbound calls are free.
      return endRow(row, at, wasAnswered ? 'ANSWERED' : 'FAILED', GATEWAY_RESTART_REASON, row.direction === 'outbound')
    })
    for (const user of new Set(ended.map(record => record.user))) keepBound(user)
    return ended
  })

  return { begin, answered, end, charged, endAbandoned }
}

/**
 * Opens (or creates) the gateway's call record file: mode 0600, WAL, migrated. A file from a newer
 * schema version is refused ("call record database schema version N is newer than this program").
 */
export function openCdrStore (file: string, options: CdrStoreOptions = {}): CdrStore {
  const maxRecordsPerUser = options.maxRecordsPerUser ?? DEFAULT_MAX_RECORDS_PER_USER
  requireWhole(maxRecordsPerUser, 'maxRecordsPerUser', 1)
  const db = openPrivateDatabase(file, { migrations: CDR_MIGRATIONS, what: 'call record database' })
  const q = prepareQueries(db)
  const tx = prepareTransactions(db, q, maxRecordsPerUser)
  const reports = {
    unreported: db.prepare<[number], RecordRow>(`SELECT * FROM call_records
      WHERE reported = 0 AND ended_at IS NOT NULL AND charge_state != 'pending' ORDER BY ended_at, rowid LIMIT ?`),
    mark: db.prepare<[string]>('UPDATE call_records SET reported = 1 WHERE call_id = ?'),
    authorize: db.prepare<[number, string]>('UPDATE call_records SET max_billsec = ? WHERE call_id = ? AND ended_at IS NULL')
  }

  return {
    async begin (attempt) {
      checkAttempt(attempt)
      return tx.begin(attempt)
    },
    async answered (callId, at) {
      requireWhole(at, 'the answer time', 0)
      return tx.answered(callId, at)
    },
    async end (callId, ending) {
      checkEnding(ending)
      return tx.end(callId, ending)
    },
    async charged (callId, cost) {
      requireWhole(cost, 'a call\'s cost', 0)
      return tx.charged(callId, cost)
    },
    async pendingCharges (limit) {
      if (limit !== undefined) requireWhole(limit, 'the limit', 1)
      return q.pending.all(limit ?? -1).map(recordOf)
    },
    async authorized (callId, maxBillsec) {
      requireWhole(maxBillsec, 'the authorized seconds', 0)
      reports.authorize.run(maxBillsec, callId)
    },
    async unreported (limit) {
      requireWhole(limit, 'the limit', 1)
      return reports.unreported.all(limit).map(recordOf)
    },
    async reported (callId) { reports.mark.run(callId) },
    async live () { return q.live.all().map(recordOf) },
    async endAbandoned (at) {
      requireWhole(at, 'the restart time', 0)
      return tx.endAbandoned(at)
    },
    async listForUser (user, limit) {
      requireWhole(limit, 'the limit', 1)
      return q.forUser.all(user, limit).map(recordOf)
    },
    async get (callId) {
      const row = q.byCallId.get(callId)
      return row === undefined ? undefined : recordOf(row)
    },
    async close () {
      if (db.open) db.close()
    }
  }
}
