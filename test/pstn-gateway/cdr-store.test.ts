// The PSTN gateway's call detail records on a real SQLite file: billsec from the answer, dispositions,
// charges pending until the login server confirms them, what a restart (clean or a crash) finds,
// the per-user bound, the file's mode, and refusing a file from a newer schema version.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openCdrStore, type CallAttempt, type CdrStore, type CdrStoreOptions } from '../../pstn-gateway-stub/cdr/cdr-store.js'
import { CDR_MIGRATIONS } from '../../pstn-gateway-stub/cdr/migrations.js'

let dir: string
let file: string
const opened: Array<{ close: () => unknown }> = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxmesh-cdr-'))
  file = join(dir, 'cdr.sqlite')
})

afterEach(async () => {
  try {
    for (const handle of opened.splice(0).reverse()) await handle.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

function open (options?: CdrStoreOptions): CdrStore {
  const store = openCdrStore(file, options)
  opened.push(store)
  return store
}

/** A second, raw connection to the same file, for looking behind the store. */
function raw (): Database.Database {
  const db = new Database(file)
  opened.push(db)
  return db
}

const T0 = 1_700_000_000_000
const outbound = (callId: string, startedAt = T0, user = 'alice'): CallAttempt =>
  ({ callId, direction: 'outbound', user, number: '+442079460123', startedAt })
const inbound = (callId: string, startedAt = T0, user = 'alice'): CallAttempt =>
  ({ callId, direction: 'inbound', user, number: '+15550100001', callerNumber: '+442079460999', startedAt })

/** An outbound call answered 1 s after it starts and hung up `connectedMs` later. */
async function answeredCall (store: CdrStore, callId: string, startedAt: number, connectedMs: number, user = 'alice'): Promise<void> {
  expect(await store.begin(outbound(callId, startedAt, user))).toBe('begun')
  expect(await store.answered(callId, startedAt + 1000)).toBe('answered')
  expect((await store.end(callId, { at: startedAt + 1000 + connectedMs, disposition: 'ANSWERED', reason: 'hangup', chargeable: true })).kind).toBe('ended')
}

async function unansweredCall (store: CdrStore, callId: string, startedAt: number, user = 'alice'): Promise<void> {
  expect(await store.begin(outbound(callId, startedAt, user))).toBe('begun')
  await store.end(callId, { at: startedAt + 5000, disposition: 'NO ANSWER', reason: 'no-answer', chargeable: true })
}

describe('a call attempt', () => {
  it('a full answered call: billsec from the answer, whole seconds rounded down, charge pending', async () => {
    const store = open()
    expect(await store.begin(outbound('call-answered'))).toBe('begun')
    expect(await store.get('call-answered')).toMatchObject({ endedAt: null, disposition: null, reason: null, billsec: 0, chargeState: 'none' })
    expect(await store.answered('call-answered', T0 + 4_000)).toBe('answered')
    const result = await store.end('call-answered', { at: T0 + 4_000 + 61_999, disposition: 'ANSWERED', reason: 'hangup', chargeable: true })
    const expected = {
      callId: 'call-answered', direction: 'outbound', user: 'alice', number: '+442079460123', callerNumber: null, maxBillsec: null,
      startedAt: T0, answeredAt: T0 + 4_000, endedAt: T0 + 65_999, billsec: 61, cost: null,
      disposition: 'ANSWERED', reason: 'hangup', chargeState: 'pending'
    }
    expect(result).toEqual({ kind: 'ended', record: expected })
    expect(await store.get('call-answered')).toEqual(expected)
  })

  it('a never-answered call: billsec 0 and nothing to charge', async () => {
    const store = open()
    await unansweredCall(store, 'call-unanswered', T0)
    expect(await store.get('call-unanswered')).toMatchObject({ answeredAt: null, endedAt: T0 + 5000, billsec: 0, disposition: 'NO ANSWER', reason: 'no-answer', chargeState: 'none', cost: null })
    expect(await store.pendingCharges()).toEqual([])
  })

  it('a call connected for less than a second costs nothing: chargeState none', async () => {
    const store = open()
    await answeredCall(store, 'call-short', T0, 999)
    expect(await store.get('call-short')).toMatchObject({ disposition: 'ANSWERED', billsec: 0, chargeState: 'none' })
  })

  it('busy, failed and congestion dispositions are recorded with their reason', async () => {
    const store = open()
    const dispositions = [['call-busy', 'BUSY', 'busy'], ['call-failed', 'FAILED', 'unreachable'], ['call-congested', 'CONGESTION', 'no-circuit']] as const
    for (const [callId, disposition, reason] of dispositions) {
      await store.begin(outbound(callId))
      await store.end(callId, { at: T0 + 300, disposition, reason, chargeable: true })
      expect(await store.get(callId)).toMatchObject({ disposition, reason, billsec: 0, chargeState: 'none', endedAt: T0 + 300 })
    }
  })

  it('an inbound call keeps the caller number; free calls (not chargeable) are never pending', async () => {
    const store = open()
    await store.begin(inbound('call-inbound'))
    await store.answered('call-inbound', T0 + 2000)
    await store.end('call-inbound', { at: T0 + 32_000, disposition: 'ANSWERED', reason: 'hangup', chargeable: false })
    expect(await store.get('call-inbound')).toMatchObject({ direction: 'inbound', number: '+15550100001', callerNumber: '+442079460999', billsec: 30, chargeState: 'none' })
    await expect(store.begin({ ...outbound('call-bad'), callerNumber: '+442079460999' })).rejects.toThrow(/only an inbound call has a caller number/)
  })

  it('billsec is capped at the authorized maxBillsec and is never negative', async () => {
    const store = open()
    await store.begin({ ...outbound('call-capped'), maxBillsec: 120 })
    await store.answered('call-capped', T0)
    await store.end('call-capped', { at: T0 + 500_000, disposition: 'ANSWERED', reason: 'credit-exhausted', chargeable: true })
    expect(await store.get('call-capped')).toMatchObject({ maxBillsec: 120, billsec: 120, chargeState: 'pending' })
    await store.begin(outbound('call-clock-back'))
    await store.answered('call-clock-back', T0 + 10_000)
    await store.end('call-clock-back', { at: T0 + 5_000, disposition: 'ANSWERED', reason: 'hangup', chargeable: true })
    expect(await store.get('call-clock-back')).toMatchObject({ billsec: 0, chargeState: 'none' })
  })

  it('refuses a duplicate call id, keeps the first answer and the first end', async () => {
    const store = open()
    expect(await store.begin(outbound('call-once'))).toBe('begun')
    expect(await store.begin({ ...outbound('call-once'), user: 'mallory' })).toBe('duplicate')
    expect(await store.answered('call-once', T0 + 1000)).toBe('answered')
    expect(await store.answered('call-once', T0 + 9000)).toBe('already-answered')
    const first = await store.end('call-once', { at: T0 + 11_000, disposition: 'ANSWERED', reason: 'hangup', chargeable: true })
    const second = await store.end('call-once', { at: T0 + 99_000, disposition: 'ANSWERED', reason: 'timeout', chargeable: true })
    expect(second).toEqual({ kind: 'already-ended', record: first.kind === 'ended' ? first.record : undefined })
    expect(await store.get('call-once')).toMatchObject({ user: 'alice', answeredAt: T0 + 1000, billsec: 10, reason: 'hangup' })
    expect(await store.answered('call-once', T0 + 100_000)).toBe('already-ended')
    expect(await store.answered('call-nobody', T0)).toBe('unknown')
    expect(await store.end('call-nobody', { at: T0, disposition: 'FAILED', reason: 'x', chargeable: false })).toEqual({ kind: 'unknown' })
  })

  it('a disposition that contradicts the answer is refused and the record stays live, unchanged', async () => {
    const store = open()
    await store.begin(outbound('call-answered'))
    await store.answered('call-answered', T0 + 1000)
    await expect(store.end('call-answered', { at: T0 + 5000, disposition: 'BUSY', reason: 'busy', chargeable: true })).rejects.toThrow(/was answered: its disposition cannot be BUSY/)
    await store.begin(outbound('call-ringing'))
    await expect(store.end('call-ringing', { at: T0 + 5000, disposition: 'ANSWERED', reason: 'hangup', chargeable: true })).rejects.toThrow(/never answered/)
    await expect(store.end('call-ringing', { at: T0 + 5000, disposition: 'HUNG' as 'BUSY', reason: 'x', chargeable: true })).rejects.toThrow(/unknown disposition/)
    expect((await store.live()).map(record => record.callId)).toEqual(['call-answered', 'call-ringing'])
    expect(await store.get('call-answered')).toMatchObject({ endedAt: null, disposition: null, billsec: 0 })
  })
})

describe('charges', () => {
  it('pending charges are listed, earliest ended first, until charged; charged twice is harmless', async () => {
    const store = open()
    await answeredCall(store, 'call-late', T0 + 60_000, 30_000)
    await answeredCall(store, 'call-early', T0, 30_000)
    await unansweredCall(store, 'call-free', T0)
    expect((await store.pendingCharges()).map(record => record.callId)).toEqual(['call-early', 'call-late'])
    expect((await store.pendingCharges(1)).map(record => record.callId)).toEqual(['call-early'])

    const charged = await store.charged('call-early', 10)
    expect(charged).toMatchObject({ kind: 'charged', record: { chargeState: 'charged', cost: 10 } })
    expect(await store.charged('call-early', 10)).toMatchObject({ kind: 'already-charged', record: { chargeState: 'charged', cost: 10 } })
    // A different cost the second time (it cannot happen: the login server answers with the first line) keeps the first.
    expect(await store.charged('call-early', 99)).toMatchObject({ kind: 'already-charged', record: { cost: 10 } })
    expect((await store.pendingCharges()).map(record => record.callId)).toEqual(['call-late'])

    expect(await store.charged('call-free', 0)).toMatchObject({ kind: 'not-pending', record: { chargeState: 'none', cost: null } })
    expect(await store.charged('call-nobody', 5)).toEqual({ kind: 'unknown' })
    await expect(store.charged('call-late', -1)).rejects.toThrow(RangeError)
    await store.begin(outbound('call-live'))
    expect(await store.charged('call-live', 5)).toMatchObject({ kind: 'not-pending', record: { chargeState: 'none' } })
  })
})

describe('restarts', () => {
  it('closing and reopening the file keeps everything, including live and pending records', async () => {
    const first = open()
    await answeredCall(first, 'call-pending', T0, 45_000)
    await answeredCall(first, 'call-charged', T0 + 1, 45_000)
    await first.charged('call-charged', 2)
    await first.begin(inbound('call-live', T0 + 2))
    await first.answered('call-live', T0 + 3000)
    const before = await first.listForUser('alice', 10)
    await first.close()
    await first.close()
    await expect(first.get('call-live')).rejects.toThrow(/not open/)

    const second = open()
    expect(await second.listForUser('alice', 10)).toEqual(before)
    expect((await second.live()).map(record => record.callId)).toEqual(['call-live'])
    expect((await second.pendingCharges()).map(record => record.callId)).toEqual(['call-pending'])
    expect(await second.begin(outbound('call-pending'))).toBe('duplicate')
  })

  it('endAbandoned ends the calls a crash left live: answered ones bill up to the restart, the rest failed', async () => {
    const crashed = open()
    await crashed.begin(outbound('call-talking', T0))
    await crashed.answered('call-talking', T0 + 2_000)
    await crashed.begin(outbound('call-ringing', T0 + 1))
    await crashed.begin(inbound('call-inbound', T0 + 2))
    await crashed.answered('call-inbound', T0 + 2_000)
    await answeredCall(crashed, 'call-done', T0 + 3, 10_000)
    // No end and no close: the gateway died. A new one opens the same file.
    const restarted = open()
    expect((await restarted.live()).map(record => record.callId)).toEqual(['call-talking', 'call-ringing', 'call-inbound'])

    const at = T0 + 2_000 + 90_500
    const ended = await restarted.endAbandoned(at)
    expect(ended.map(record => [record.callId, record.disposition, record.billsec, record.chargeState])).toEqual([
      ['call-talking', 'ANSWERED', 90, 'pending'],
      ['call-ringing', 'FAILED', 0, 'none'],
      ['call-inbound', 'ANSWERED', 90, 'none']
    ])
    expect(ended.every(record => record.reason === 'gateway-restart' && record.endedAt === at)).toBe(true)
    expect(await restarted.live()).toEqual([])
    expect((await restarted.pendingCharges()).map(record => record.callId)).toEqual(['call-done', 'call-talking'])
    expect(await restarted.get('call-done')).toMatchObject({ reason: 'hangup', billsec: 10 })
    expect(await restarted.endAbandoned(at + 1)).toEqual([])
  })
})

describe('the per-user bound', () => {
  it('drops the oldest ended, settled records only: never a live or pending one, never another user\'s', async () => {
    const store = open({ maxRecordsPerUser: 3 })
    await store.begin(outbound('old-live', T0))
    await answeredCall(store, 'old-pending', T0 + 1, 5_000)
    await unansweredCall(store, 'old-ended', T0 + 2)
    await unansweredCall(store, 'bob-old', T0, 'bob')
    await unansweredCall(store, 'newer-ended', T0 + 3)
    const ids = async (user = 'alice'): Promise<string[]> => (await store.listForUser(user, 100)).map(record => record.callId)
    expect(await ids()).toEqual(['newer-ended', 'old-pending', 'old-live'])

    await unansweredCall(store, 'newest', T0 + 4)
    // The oldest settled record goes, though older live and pending ones are still there.
    expect(await ids()).toEqual(['newest', 'old-pending', 'old-live'])
    await store.begin(outbound('live-2', T0 + 5))
    expect(await ids()).toEqual(['live-2', 'old-pending', 'old-live'])
    await store.begin(outbound('live-3', T0 + 6))
    // Only live and pending records: none may go, so the bound is exceeded for now.
    expect(await ids()).toEqual(['live-3', 'live-2', 'old-pending', 'old-live'])
    await store.charged('old-pending', 1)
    expect(await ids()).toEqual(['live-3', 'live-2', 'old-live'])
    expect(await ids('bob')).toEqual(['bob-old'])
  })

  it('keeps 1000 records per user by default', async () => {
    const store = open()
    for (let i = 0; i < 1005; i++) await unansweredCall(store, `call-${i}`, T0 + i)
    const records = await store.listForUser('alice', 2000)
    expect(records.length).toBe(1000)
    expect(records.at(-1)?.callId).toBe('call-5')
  })
})

describe('the file', () => {
  it('is the owner\'s alone (0600), and so is its WAL', async () => {
    const store = open()
    await store.begin(outbound('call-1'))
    const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8)
    expect(modeOf(file)).toBe('600')
    expect(modeOf(`${file}-wal`)).toBe('600')
    expect(raw().pragma('journal_mode', { simple: true })).toBe('wal')
  })

  it('a database from a newer schema version is refused with a clear error', () => {
    const db = new Database(file)
    db.pragma(`user_version = ${CDR_MIGRATIONS.length + 3}`)
    db.close()
    expect(() => openCdrStore(file)).toThrow(`call record database schema version ${CDR_MIGRATIONS.length + 3} is newer than this program (${CDR_MIGRATIONS.length})`)
    const check = raw()
    expect(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get()).toEqual({ n: 0 })
  })
})

describe('listForUser', () => {
  it('lists one user\'s records newest first, up to the limit (same start: the later begun first)', async () => {
    const store = open()
    await unansweredCall(store, 'call-b', T0 + 2000)
    await unansweredCall(store, 'call-a', T0)
    await store.begin(inbound('call-c', T0 + 2000))
    await unansweredCall(store, 'call-bob', T0 + 5000, 'bob')
    await answeredCall(store, 'call-d', T0 + 3000, 1000)
    expect((await store.listForUser('alice', 10)).map(record => record.callId)).toEqual(['call-d', 'call-c', 'call-b', 'call-a'])
    expect((await store.listForUser('alice', 2)).map(record => record.callId)).toEqual(['call-d', 'call-c'])
    expect(await store.listForUser('nobody', 10)).toEqual([])
    await expect(store.listForUser('alice', 0)).rejects.toThrow(RangeError)
  })
})
