// The records one node holds: per key, per subkey the highest seq; expired records
// dropped; bounded in records and bytes, in total and per key. Refusals carry a reason.
import { isDeepStrictEqual } from 'node:util'
import type { Clock } from '../../../common/clock.js'
import { MAX_RECORD_BYTES_PER_KEY } from './constants.js'
import { encodedBytes, recordProblem, type DhtRecord } from './messages.js'

export interface RecordStoreInit {
  clock: Clock
  /** Returns a reason to refuse (e.g. a bad signature); runs before anything is stored. */
  validateRecord?: (record: DhtRecord) => string | undefined
  maxRecords: number
  maxStoreBytes: number
  maxRecordsPerKey: number
  maxRecordTtlMs: number
  /** Bound on the JSON-encoded bytes of one key's records (default MAX_RECORD_BYTES_PER_KEY). */
  maxBytesPerKey?: number
}

export type StoreResult =
  | { ok: true, change: 'added' | 'replaced' | 'unchanged' }
  | { ok: false, reason: string }

interface Entry {
  record: DhtRecord
  bytes: number
  /** Last time a put (local or from the network) stored or confirmed this exact record. */
  receivedAt: number
}

interface KeyRecords {
  entries: Map<string, Entry>
  bytes: number
}

/** How often, at most, a full store sweeps for expired records before refusing. */
const SWEEP_WHEN_FULL_INTERVAL_MS = 1000

const copy = (record: DhtRecord): DhtRecord => structuredClone(record)

export class RecordStore {
  private readonly init: RecordStoreInit
  private readonly maxBytesPerKey: number
  private readonly keyMap = new Map<string, KeyRecords>()
  private recordCount = 0
  private byteCount = 0
  private lastSweepAt = -Infinity

  constructor (init: RecordStoreInit) {
    this.init = init
    this.maxBytesPerKey = init.maxBytesPerKey ?? MAX_RECORD_BYTES_PER_KEY
  }

  /** Records and JSON bytes currently held (expired ones included until swept). */
  get size (): { records: number, bytes: number, keys: number } {
    return { records: this.recordCount, bytes: this.byteCount, keys: this.keyMap.size }
  }

  /**
   * Stores `record` unless it is malformed, expired, too long-lived, refused by
   * validateRecord, older than (or conflicting with) what is held, or a bound is reached.
   * `validated`: the caller ran validateRecord on this very record already.
   */
  put (record: DhtRecord, options: { validated?: boolean } = {}): StoreResult {
    const problem = recordProblem(record)
    if (problem !== undefined) return { ok: false, reason: `malformed record: ${problem}` }
    const now = this.init.clock.now()
    if (record.expiresAt <= now) return { ok: false, reason: 'record expired' }
    if (record.expiresAt - now > this.init.maxRecordTtlMs) {
      return { ok: false, reason: `record expires more than ${this.init.maxRecordTtlMs} ms from now` }
    }

    this.sweepKey(record.key, now)
    const existing = this.keyMap.get(record.key)?.entries.get(record.subkey)
    if (existing !== undefined) {
      if (record.seq < existing.record.seq) return { ok: false, reason: `older than the stored record (seq ${existing.record.seq})` }
      if (record.seq === existing.record.seq) {
        if (sameRecord(record, existing.record)) {
          existing.receivedAt = now
          return { ok: true, change: 'unchanged' }
        }
        return { ok: false, reason: `a different record with seq ${record.seq} is already stored` }
      }
    }

    const refusal = options.validated === true ? undefined : this.validate(record)
    if (refusal !== undefined) return { ok: false, reason: `refused: ${refusal}` }

    const bytes = encodedBytes(record)
    const freed = existing?.bytes ?? 0
    const boundProblem = this.boundProblem(record.key, bytes, freed, existing === undefined)
    if (boundProblem !== undefined) return { ok: false, reason: boundProblem }

    const keyRecords = this.keyMap.get(record.key) ?? { entries: new Map<string, Entry>(), bytes: 0 }
    this.keyMap.set(record.key, keyRecords)
    keyRecords.entries.set(record.subkey, { record: copy(record), bytes, receivedAt: now })
    keyRecords.bytes += bytes - freed
    this.byteCount += bytes - freed
    if (existing === undefined) this.recordCount++
    return { ok: true, change: existing === undefined ? 'added' : 'replaced' }
  }

  /** Live records of `key` (copies), sorted by subkey. */
  get (key: string): DhtRecord[] {
    const now = this.init.clock.now()
    const held = this.keyMap.get(key)
    if (held === undefined) return []
    return [...held.entries.values()]
      .filter(entry => entry.record.expiresAt > now)
      .map(entry => copy(entry.record))
      .sort((a, b) => a.subkey < b.subkey ? -1 : a.subkey > b.subkey ? 1 : 0)
  }

  /** Keys that hold at least one live record. */
  keys (): string[] {
    const now = this.init.clock.now()
    return [...this.keyMap.entries()]
      .filter(([, held]) => [...held.entries.values()].some(entry => entry.record.expiresAt > now))
      .map(([key]) => key)
  }

  /** Live records of `key` not put (or confirmed) since `since`: what a republish still has to send. */
  receivedBefore (key: string, since: number): DhtRecord[] {
    const now = this.init.clock.now()
    const held = this.keyMap.get(key)
    if (held === undefined) return []
    return [...held.entries.values()]
      .filter(entry => entry.record.expiresAt > now && entry.receivedAt <= since)
      .map(entry => copy(entry.record))
  }

  /** Drops expired records; returns how many. */
  sweep (): number {
    const now = this.init.clock.now()
    this.lastSweepAt = now
    let removed = 0
    for (const key of [...this.keyMap.keys()]) removed += this.sweepKey(key, now)
    return removed
  }

  private sweepKey (key: string, now: number): number {
    const held = this.keyMap.get(key)
    if (held === undefined) return 0
    let removed = 0
    for (const [subkey, entry] of [...held.entries]) {
      if (entry.record.expiresAt <= now) {
        this.remove(key, subkey)
        removed++
      }
    }
    return removed
  }

  clear (): void {
    this.keyMap.clear()
    this.recordCount = 0
    this.byteCount = 0
  }

  private validate (record: DhtRecord): string | undefined {
    if (this.init.validateRecord === undefined) return undefined
    try {
      const reason = this.init.validateRecord(copy(record))
      return reason === undefined ? undefined : String(reason)
    } catch (error) {
      return `validateRecord failed: ${error instanceof Error ? error.message : String(error)}`
    }
  }

  private boundProblem (key: string, bytes: number, freed: number, isNew: boolean): string | undefined {
    const keyBytes = this.keyMap.get(key)?.bytes ?? 0
    if (keyBytes - freed + bytes > this.maxBytesPerKey) {
      return `key full: its records would take ${keyBytes - freed + bytes} bytes, more than ${this.maxBytesPerKey}`
    }
    const keyCount = this.keyMap.get(key)?.entries.size ?? 0
    if (isNew && keyCount >= this.init.maxRecordsPerKey) return `key full: it holds the maximum of ${this.init.maxRecordsPerKey} records`
    const storeFull = (): boolean =>
      (isNew && this.recordCount >= this.init.maxRecords) || this.byteCount - freed + bytes > this.init.maxStoreBytes
    if (storeFull() && this.init.clock.now() - this.lastSweepAt >= SWEEP_WHEN_FULL_INTERVAL_MS) this.sweep()
    if (storeFull()) return `store full: ${this.recordCount} records, ${this.byteCount} bytes (limits ${this.init.maxRecords} records, ${this.init.maxStoreBytes} bytes)`
    return undefined
  }

  private remove (key: string, subkey: string): void {
    const held = this.keyMap.get(key)
    const entry = held?.entries.get(subkey)
    if (held === undefined || entry === undefined) return
    held.entries.delete(subkey)
    held.bytes -= entry.bytes
    this.byteCount -= entry.bytes
    this.recordCount--
    if (held.entries.size === 0) this.keyMap.delete(key)
  }
}

function sameRecord (a: DhtRecord, b: DhtRecord): boolean {
  return a.expiresAt === b.expiresAt && isDeepStrictEqual(a.value, b.value)
}
