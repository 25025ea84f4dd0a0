import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { MAX_RECORD_BYTES_PER_KEY, MAX_VALUE_BYTES } from '../../node/overlay/dht/constants.js'
import { keyFor } from '../../node/overlay/dht/ids.js'
import type { DhtRecord } from '../../node/overlay/dht/messages.js'
import { RecordStore, type RecordStoreInit } from '../../node/overlay/dht/record-store.js'

const KEY = keyFor('alice')
const HOUR = 60 * 60 * 1000

function setup (overrides: Partial<RecordStoreInit> = {}): { store: RecordStore, clock: FakeClock, record: (o?: Partial<DhtRecord>) => DhtRecord } {
  const clock = new FakeClock()
  const store = new RecordStore({ clock, maxRecords: 100, maxStoreBytes: 1_000_000, maxRecordsPerKey: 4, maxRecordTtlMs: 24 * HOUR, ...overrides })
  const record = (o: Partial<DhtRecord> = {}): DhtRecord => ({ key: KEY, subkey: 'phone', value: { at: 'sn1' }, seq: 1, expiresAt: clock.now() + HOUR, ...o })
  return { store, clock, record }
}

describe('record store', () => {
  it('stores and returns copies, sorted by subkey', () => {
    const { store, record } = setup()
    const mine = record({ subkey: 'phone' })
    expect(store.put(mine)).toEqual({ ok: true, change: 'added' })
    expect(store.put(record({ subkey: 'laptop' }))).toEqual({ ok: true, change: 'added' })
    ;(mine.value as { at: string }).at = 'mutated after put'
    const held = store.get(KEY)
    expect(held.map(r => r.subkey)).toEqual(['laptop', 'phone'])
    expect(held[1]?.value).toEqual({ at: 'sn1' })
    ;(held[1]?.value as { at: string }).at = 'mutated after get'
    expect(store.get(KEY)[1]?.value).toEqual({ at: 'sn1' })
    expect(store.get(keyFor('bob'))).toEqual([])
  })

  it('keeps the highest seq per subkey; equal seq keeps the existing record', () => {
    const { store, record } = setup()
    expect(store.put(record({ seq: 5, value: 'five' })).ok).toBe(true)
    expect(store.put(record({ seq: 7, value: 'seven' }))).toEqual({ ok: true, change: 'replaced' })
    expect(store.get(KEY)).toMatchObject([{ seq: 7, value: 'seven' }])
    expect(store.put(record({ seq: 6, value: 'six' }))).toEqual({ ok: false, reason: 'older than the stored record (seq 7)' })
    // The same record again (a republish) is fine and changes nothing.
    expect(store.put(record({ seq: 7, value: 'seven' }))).toEqual({ ok: true, change: 'unchanged' })
    const conflicting = store.put(record({ seq: 7, value: 'other seven' }))
    expect(conflicting.ok).toBe(false)
    expect(store.get(KEY)).toMatchObject([{ seq: 7, value: 'seven' }])
    expect(store.size.records).toBe(1)
  })

  it('drops expired records on read and on sweep, and refuses expired or too long-lived ones', () => {
    const { store, clock, record } = setup()
    store.put(record({ subkey: 'short', expiresAt: clock.now() + 1000 }))
    store.put(record({ subkey: 'long', expiresAt: clock.now() + HOUR }))
    clock.advance(1000)
    expect(store.get(KEY).map(r => r.subkey)).toEqual(['long'])
    expect(store.size.records).toBe(2)
    expect(store.sweep()).toBe(1)
    expect(store.size.records).toBe(1)
    expect(store.put(record({ expiresAt: clock.now() }))).toEqual({ ok: false, reason: 'record expired' })
    expect(store.put(record({ expiresAt: clock.now() + 25 * HOUR })).ok).toBe(false)
    clock.advance(HOUR)
    expect(store.get(KEY)).toEqual([])
    expect(store.keys()).toEqual([])
  })

  it('an expired record can be replaced by a lower seq', () => {
    const { store, clock, record } = setup()
    store.put(record({ seq: 9, expiresAt: clock.now() + 10 }))
    clock.advance(10)
    expect(store.put(record({ seq: 1 }))).toEqual({ ok: true, change: 'added' })
  })

  it('runs validateRecord before storing anything', () => {
    const seen: string[] = []
    const { store, record } = setup({
      validateRecord: r => { seen.push(r.subkey); return r.value === 'forged' ? 'bad signature' : undefined }
    })
    expect(store.put(record({ subkey: 'a', value: 'forged' }))).toEqual({ ok: false, reason: 'refused: bad signature' })
    expect(store.get(KEY)).toEqual([])
    expect(store.size).toEqual({ records: 0, bytes: 0, keys: 0 })
    expect(store.put(record({ subkey: 'a', value: 'fine' })).ok).toBe(true)
    // A higher seq must be validated too: a forged update cannot replace a good record.
    expect(store.put(record({ subkey: 'a', value: 'forged', seq: 2 })).ok).toBe(false)
    expect(store.get(KEY)).toMatchObject([{ value: 'fine', seq: 1 }])
    expect(seen).toEqual(['a', 'a', 'a'])
  })

  it('a throwing validateRecord refuses instead of crashing', () => {
    const { store, record } = setup({ validateRecord: () => { throw new Error('boom') } })
    expect(store.put(record())).toEqual({ ok: false, reason: 'refused: validateRecord failed: boom' })
  })

  it('refuses malformed records even when called directly', () => {
    const { store, record } = setup()
    const result = store.put(record({ value: 'x'.repeat(MAX_VALUE_BYTES) }))
    expect(result.ok).toBe(false)
    expect(!result.ok && result.reason).toMatch(/^malformed record: \/value is 4098 bytes/)
  })

  it('bounds records per key, but updates of a held subkey still go through', () => {
    const { store, record } = setup({ maxRecordsPerKey: 2 })
    expect(store.put(record({ subkey: 'a' })).ok).toBe(true)
    expect(store.put(record({ subkey: 'b' })).ok).toBe(true)
    expect(store.put(record({ subkey: 'c' }))).toEqual({ ok: false, reason: 'key full: it holds the maximum of 2 records' })
    expect(store.put(record({ subkey: 'a', seq: 2 })).ok).toBe(true)
    expect(store.put({ ...record({ subkey: 'c' }), key: keyFor('bob') }).ok).toBe(true)
  })

  it('bounds the bytes of one key so a complete value response always fits a message', () => {
    const { store, record } = setup({ maxRecordsPerKey: 16 })
    const big = 'x'.repeat(MAX_VALUE_BYTES - 2)
    let stored = 0
    let refusal = ''
    for (let i = 0; i < 16; i++) {
      const result = store.put(record({ subkey: `d${i}`, value: big }))
      if (result.ok) stored++
      else refusal = result.reason
    }
    expect(stored).toBe(Math.floor(MAX_RECORD_BYTES_PER_KEY / (MAX_VALUE_BYTES + 100)))
    expect(refusal).toMatch(/^key full: its records would take \d+ bytes, more than 40960$/)
    expect(store.size.bytes).toBeLessThanOrEqual(MAX_RECORD_BYTES_PER_KEY)
  })

  it('refuses new records when the store is full, with a reason; expired ones make room', () => {
    const { store, clock, record } = setup({ maxRecords: 3 })
    for (let i = 0; i < 3; i++) expect(store.put(record({ key: keyFor(`user-${i}`), expiresAt: clock.now() + (i + 1) * 1000 })).ok).toBe(true)
    const refused = store.put(record({ key: keyFor('user-3') }))
    expect(refused.ok).toBe(false)
    expect(!refused.ok && refused.reason).toMatch(/^store full: 3 records/)
    // Updating a held record needs no new slot.
    expect(store.put(record({ key: keyFor('user-2'), seq: 2, expiresAt: clock.now() + 3000 })).ok).toBe(true)
    clock.advance(1000) // user-0's record expires
    expect(store.put(record({ key: keyFor('user-3') })).ok).toBe(true)
    expect(store.size.records).toBe(3)
  })

  it('bounds the total bytes', () => {
    const { store, record } = setup({ maxStoreBytes: 500 })
    expect(store.put(record({ key: keyFor('a'), value: 'x'.repeat(200) })).ok).toBe(true)
    const refused = store.put(record({ key: keyFor('b'), value: 'x'.repeat(200) }))
    expect(!refused.ok && refused.reason).toMatch(/^store full/)
  })

  it('tracks when each record was last put, for republish', () => {
    const { store, clock, record } = setup()
    const start = clock.now()
    const a = record({ subkey: 'a' })
    store.put(a)
    clock.advance(1000)
    store.put(record({ subkey: 'b' }))
    expect(store.receivedBefore(KEY, start).map(r => r.subkey)).toEqual(['a'])
    clock.advance(1000)
    expect(store.put(a)).toEqual({ ok: true, change: 'unchanged' }) // the same record again: counts as fresh
    expect(store.receivedBefore(KEY, start + 1000).map(r => r.subkey)).toEqual(['b'])
  })
})
