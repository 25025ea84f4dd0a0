// The rows both stores read, as the store's types: SQLite and PostgreSQL name the columns alike.
// Their one difference, a flag (SQLite's 0/1 INTEGER, PostgreSQL's BOOLEAN), is read with Boolean().
import type { AcceptedRequest, ContactRequest, CreditEntry, PstnAuthorization, PstnCallRecord, ServerIdentity, SupernodeEntry } from './store.js'

export interface SupernodeRow {
  device_key: string, username: string, address: string, hosts: number, capacity: number,
  last_heartbeat: number, confirmed_at: number, expires_at: number, last_timestamp: number
}

export const toSupernode = (row: SupernodeRow): SupernodeEntry => ({
  deviceKey: row.device_key,
  username: row.username,
  address: row.address,
  hosts: row.hosts,
  capacity: row.capacity,
  lastHeartbeat: row.last_heartbeat,
  confirmedAt: row.confirmed_at,
  expiresAt: row.expires_at,
  lastTimestamp: row.last_timestamp
})

export interface PstnCallRow {
  call_id: string, username: string, direction: 'outbound' | 'inbound', number: string, caller_number: string | null, started_at: number,
  answered_at: number | null, ended_at: number, billsec: number, disposition: string, reason: string, cost: number
}

export const pstnCallOf = (row: PstnCallRow): PstnCallRecord & { cost: number } => ({
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

export interface AuthorizationRow {
  call_id: string, username: string, number: string, rate_per_minute: number, max_seconds: number, hold: number, authorized_at: number, settled: number | boolean
}

export const authorizationOf = (row: AuthorizationRow): PstnAuthorization => ({
  callId: row.call_id, username: row.username, number: row.number, ratePerMinute: row.rate_per_minute, maxSeconds: row.max_seconds, hold: row.hold, authorizedAt: row.authorized_at, settled: Boolean(row.settled)
})

export interface EntryRow { id: number, username: string, amount: number, kind: 'credit' | 'charge', call_id: string | null, note: string, created_at: number }

export const entryOf = (row: EntryRow): CreditEntry => ({
  id: row.id, username: row.username, amount: row.amount, kind: row.kind, ...(row.call_id === null ? {} : { callId: row.call_id }), note: row.note, createdAt: row.created_at
})

export interface RequestRow { id: number, from_user: string, to_user: string, message: string, created_at: number, hidden: number | boolean, accepted_at: number | null }

export const toRequest = (row: RequestRow): ContactRequest =>
  ({ id: row.id, from: row.from_user, to: row.to_user, message: row.message, createdAt: row.created_at })

export const toAccepted = (row: RequestRow): AcceptedRequest => ({ ...toRequest(row), acceptedAt: row.accepted_at as number })

export interface IdentityRow { signing_public_key: string, lookup_secret_check: string }

export const identityOf = (row: IdentityRow): ServerIdentity => ({ signingPublicKey: row.signing_public_key, lookupSecretCheck: row.lookup_secret_check })
