// The supernode DHT: a Kademlia node as sans-IO logic. The only I/O is the injected `rpc`
// (one request → one response, rejecting on timeout/unreachable) and the Clock. Whoever
// implements `rpc` must make sure the peer reached at `peer.address` is authenticated as
// `peer.id` (the link handshake); otherwise peers could claim ids and poison routing.
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import type { TimerHandle } from '../../../common/clock.js'
import { configFrom, type Config, type DhtInit } from './config.js'
import { MAX_REASON_LENGTH, REPUBLISH_CONCURRENCY, WHOLE_MESH_TTL_MS } from './constants.js'
import { DhtError } from './errors.js'
import { isHexId, randomIdInBucket, sortByDistance } from './ids.js'
import { lookup } from './lookup.js'
import {
  parsePeer, parseRecord, parseRequest, parseResponse,
  type DhtPeer, type DhtRecord, type DhtRequest, type DhtResponse
} from './messages.js'
import { RecordStore } from './record-store.js'
import { RoutingTable } from './routing-table.js'
import { TimedRpc } from './rpc.js'
import type { Dht, DhtComponents, DhtStats, PutOptions } from './types.js'

// What callers need, importable from this one module.
export { keyFor } from './ids.js'
export type { DhtInit } from './config.js'
export { DhtError, isDhtError, type DhtErrorCode } from './errors.js'
export type { DhtPeer, DhtRecord, DhtRequest, DhtResponse } from './messages.js'
export type { Dht, DhtComponents, DhtStats, PutOptions } from './types.js'

export function createDht (components: DhtComponents, init: DhtInit): Dht {
  return new KademliaDht(components, init)
}

const describe = (error: unknown): string => error instanceof Error ? error.message : String(error)

class KademliaDht implements Dht {
  readonly self: DhtPeer
  readonly k: number
  private readonly components: DhtComponents
  private readonly config: Config
  private readonly table: RoutingTable
  private readonly store: RecordStore
  private readonly randomBytes: (n: number) => Uint8Array
  private readonly rpc: TimedRpc
  private timer: TimerHandle | undefined
  private closed = false
  private nextRepublishAt: number
  private republishRun: Promise<{ keys: number, stores: number }> | undefined
  private refreshRun: Promise<number> | undefined
  /**
   * Set when a lookup found nobody beyond our routing table, which holds fewer than k peers: then
   * they are every node there is (as far as anyone knows), the k closest to any key, and a put
   * goes to all of them without a lookup while the table stays as it was (WHOLE_MESH_TTL_MS at most).
   */
  private wholeMesh: { tableVersion: number, until: number } | undefined

  constructor (components: DhtComponents, init: DhtInit) {
    this.self = { ...parsePeer(init?.self, 'invalid self') }
    this.config = configFrom(init)
    this.k = this.config.k
    this.components = components
    this.rpc = new TimedRpc(components.clock, components.rpc, this.config.rpcTimeoutMs)
    this.randomBytes = components.randomBytes ?? (n => nodeRandomBytes(n))
    this.table = new RoutingTable({
      self: this.self,
      k: this.config.k,
      clock: components.clock,
      pingStaleAfterMs: this.config.pingStaleAfterMs,
      ping: async peer => await this.call(peer, { t: 'ping' }).then(() => true, () => false),
      log: components.log
    })
    this.store = new RecordStore({
      clock: components.clock,
      validateRecord: components.validateRecord,
      maxRecords: this.config.maxRecords,
      maxStoreBytes: this.config.maxStoreBytes,
      maxRecordsPerKey: this.config.maxRecordsPerKey,
      maxRecordTtlMs: this.config.maxRecordTtlMs
    })
    this.nextRepublishAt = components.clock.now() + this.config.republishIntervalMs
    this.schedule()
  }

  addPeer (peer: DhtPeer): void {
    if (this.closed) return
    parsePeer(peer)
    if (peer.id === this.self.id) return
    this.table.add(peer)
  }

  removePeer (id: string): void {
    if (this.closed) return
    if (this.table.remove(id)) this.log('dht: peer removed', { id })
  }

  async handleRequest (from: DhtPeer, request: unknown): Promise<DhtResponse> {
    this.assertOpen()
    parsePeer(from, 'invalid sender')
    if (from.id === this.self.id) throw new DhtError('ERR_INVALID_PEER', 'invalid sender: request claims to come from our own id')
    const valid = parseRequest(request)
    this.table.add(from)
    switch (valid.t) {
      case 'ping':
        return { t: 'pong' }
      case 'find_node':
        return { t: 'nodes', peers: this.closestExcept(valid.target, from.id) }
      case 'store': {
        const result = this.store.put(valid.record)
        if (result.ok) return { t: 'stored', ok: true }
        this.log('dht: store refused', { from: from.id, key: valid.record.key, subkey: valid.record.subkey, reason: result.reason })
        return { t: 'stored', ok: false, reason: result.reason.slice(0, MAX_REASON_LENGTH) }
      }
      case 'find_value':
        return { t: 'value', records: this.store.get(valid.key), peers: this.closestExcept(valid.key, from.id) }
    }
  }

  async findNode (target: string): Promise<DhtPeer[]> {
    this.assertOpen()
    this.assertKey(target, 'target')
    const closest = await this.lookup(target, async peer => ((await this.call(peer, { t: 'find_node', target })) as { peers: DhtPeer[] }).peers)
    this.assertOpen()
    const known = this.table.size
    if (known < this.k && closest.length === known && closest.every(peer => this.table.has(peer.id))) {
      this.wholeMesh = { tableVersion: this.table.version, until: this.components.clock.now() + WHOLE_MESH_TTL_MS }
    }
    return closest
  }

  async put (record: DhtRecord, options: PutOptions = {}): Promise<{ stored: number }> {
    this.assertOpen()
    const valid = parseRecord(record)
    const refusal = this.refusal(valid, options.validated === true)
    if (refusal !== undefined) throw new DhtError('ERR_INVALID_RECORD', `record refused: ${refusal}`)
    const others = this.knowsWholeMesh() ? this.table.all() : await this.findNode(valid.key)
    const targets = sortByDistance([this.self, ...others], valid.key).slice(0, this.k)
    const results = await Promise.all(targets.map(async peer => {
      if (peer.id === this.self.id) {
        // Validated just above (or by the caller): a signature check is the costly part of a put.
        const result = this.store.put(valid, { validated: true })
        if (!result.ok) this.log('dht: own store refused record', { key: valid.key, reason: result.reason })
        return result.ok
      }
      return await this.storeAt(peer, valid)
    }))
    // A node that did not take the record may be gone: the next put looks again.
    if (!results.every(Boolean)) this.wholeMesh = undefined
    return { stored: results.filter(Boolean).length }
  }

  private knowsWholeMesh (): boolean {
    const known = this.wholeMesh
    if (known !== undefined && known.tableVersion === this.table.version && this.components.clock.now() < known.until) return true
    this.wholeMesh = undefined
    return false
  }

  async get (key: string): Promise<DhtRecord[]> {
    this.assertOpen()
    this.assertKey(key, 'key')
    const merged = new Map<string, DhtRecord>()
    for (const record of this.store.get(key)) merged.set(record.subkey, record)
    await this.lookup(key, async peer => {
      const response = await this.call(peer, { t: 'find_value', key }) as { records: DhtRecord[], peers: DhtPeer[] }
      for (const record of response.records) this.mergeRemote(merged, key, record, peer)
      return response.peers
    })
    this.assertOpen()
    return [...merged.values()].sort((a, b) => a.subkey < b.subkey ? -1 : a.subkey > b.subkey ? 1 : 0)
  }

  getLocal (key: string): DhtRecord[] {
    this.assertKey(key, 'key')
    return this.store.get(key)
  }

  heldRecords (): DhtRecord[] {
    return this.store.keys().flatMap(key => this.store.get(key))
  }

  closestPeers (target: string, n: number): DhtPeer[] {
    this.assertKey(target, 'target')
    return this.table.closest(target, Math.max(0, Math.floor(n)))
  }

  peers (): DhtPeer[] {
    return this.table.all()
  }

  peerCount (): number {
    return this.table.size
  }

  async bootstrap (seeds: DhtPeer[]): Promise<number> {
    this.assertOpen()
    for (const seed of seeds) this.addPeer(seed)
    await this.findNode(this.self.id)
    await this.refreshBuckets({ force: true })
    return this.table.size
  }

  async republish (options: { force?: boolean } = {}): Promise<{ keys: number, stores: number }> {
    this.assertOpen()
    this.republishRun ??= this.runRepublish(options.force === true).finally(() => { this.republishRun = undefined })
    return await this.republishRun
  }

  async refreshBuckets (options: { force?: boolean } = {}): Promise<number> {
    this.assertOpen()
    this.refreshRun ??= this.runRefresh(options.force === true).finally(() => { this.refreshRun = undefined })
    return await this.refreshRun
  }

  tick (): void {
    if (this.closed) return
    const expired = this.store.sweep()
    if (expired > 0) this.log('dht: expired records dropped', { count: expired })
    const now = this.components.clock.now()
    if (now >= this.nextRepublishAt && this.republishRun === undefined) {
      this.nextRepublishAt = now + this.config.republishIntervalMs
      this.republish().catch(error => { this.log('dht: republish failed', { error: describe(error) }) })
    }
    if (this.refreshRun === undefined) {
      this.refreshBuckets().catch(error => { this.log('dht: bucket refresh failed', { error: describe(error) }) })
    }
  }

  stats (): DhtStats {
    const { records, bytes, keys } = this.store.size
    return { peers: this.table.size, records, bytes, keys }
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.wholeMesh = undefined
    if (this.timer !== undefined) this.components.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.rpc.abortAll()
  }

  // ---- internals ---------------------------------------------------------------------------

  private schedule (): void {
    this.timer = this.components.clock.setTimeout(() => {
      this.timer = undefined
      if (this.closed) return
      this.tick()
      this.schedule()
    }, this.config.maintenanceIntervalMs)
  }

  private log (msg: string, fields?: object): void {
    this.components.log?.(msg, { self: this.self.id.slice(0, 12), ...fields })
  }

  private assertOpen (): void {
    if (this.closed) throw new DhtError('ERR_CLOSED', 'the DHT is closed')
  }

  private assertKey (key: string, what: string): void {
    if (!isHexId(key)) throw new DhtError('ERR_INVALID_KEY', `${what} must be 64 lowercase hex characters, got ${JSON.stringify(key)?.slice(0, 80) ?? String(key)}`)
  }

  private closestExcept (target: string, exceptId: string): DhtPeer[] {
    return this.table.closest(target, this.k + 1).filter(peer => peer.id !== exceptId).slice(0, this.k)
  }

  /** Why we would refuse `record` ourselves (expired, too long-lived, validateRecord unless `validated`), or undefined. */
  private refusal (record: DhtRecord, validated = false): string | undefined {
    const now = this.components.clock.now()
    if (record.expiresAt <= now) return 'record expired'
    if (record.expiresAt - now > this.config.maxRecordTtlMs) return `record expires more than ${this.config.maxRecordTtlMs} ms from now`
    if (validated || this.components.validateRecord === undefined) return undefined
    try {
      return this.components.validateRecord(structuredClone(record))
    } catch (error) {
      return `validateRecord failed: ${describe(error)}`
    }
  }

  /** Takes a record a peer returned for `key` if it is for that key, live, newer than what we have and valid. */
  private mergeRemote (merged: Map<string, DhtRecord>, key: string, record: DhtRecord, from: DhtPeer): void {
    if (record.key !== key) {
      this.log('dht: peer returned a record for another key', { from: from.id, asked: key, got: record.key })
      return
    }
    const existing = merged.get(record.subkey)
    if (existing !== undefined && record.seq <= existing.seq) return
    const refusal = this.refusal(record)
    if (refusal !== undefined) {
      this.log('dht: peer returned a record we refuse', { from: from.id, key, subkey: record.subkey, reason: refusal })
      return
    }
    merged.set(record.subkey, record)
  }

  private async storeAt (peer: DhtPeer, record: DhtRecord): Promise<boolean> {
    try {
      const response = await this.call(peer, { t: 'store', record }) as { ok: boolean, reason?: string }
      if (!response.ok) this.log('dht: peer refused record', { peer: peer.id, key: record.key, reason: response.reason })
      return response.ok
    } catch {
      return false
    }
  }

  private async lookup (target: string, query: (peer: DhtPeer) => Promise<DhtPeer[]>): Promise<DhtPeer[]> {
    this.table.markLookup(target)
    return await lookup({
      target,
      selfId: this.self.id,
      k: this.k,
      alpha: this.config.alpha,
      maxQueries: this.config.maxQueriesPerLookup,
      seeds: this.table.closest(target, this.k),
      query,
      isCancelled: () => this.closed
    })
  }

  /**
   * One rpc with a timeout on our clock. A valid answer marks the peer alive; a failure or
   * an invalid answer removes it from the routing table (it comes back when it talks to us).
   */
  private async call (peer: DhtPeer, request: DhtRequest): Promise<DhtResponse> {
    this.assertOpen()
    let raw: unknown
    try {
      raw = await this.rpc.send(peer, request)
    } catch (error) {
      if (!this.closed) {
        this.log('dht: rpc failed', { peer: peer.id, address: peer.address, request: request.t, error: describe(error) })
        this.removePeer(peer.id)
      }
      throw error
    }
    let response: DhtResponse
    try {
      response = parseResponse(request, raw)
    } catch (error) {
      this.log('dht: invalid response', { peer: peer.id, request: request.t, error: describe(error) })
      this.removePeer(peer.id)
      throw error
    }
    if (!this.closed) this.table.add(peer)
    return response
  }

  private async runRepublish (force: boolean): Promise<{ keys: number, stores: number }> {
    const clock = this.components.clock
    const since = force ? Infinity : clock.now() - this.config.republishIntervalMs
    const keys = this.store.keys()
    let stores = 0
    let republished = 0
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < keys.length && !this.closed) {
        const key = keys[next++] as string
        const records = this.store.receivedBefore(key, since)
        if (records.length === 0) continue
        republished++
        let closest: DhtPeer[]
        try {
          closest = await this.findNode(key)
        } catch (error) {
          this.log('dht: republish lookup failed', { key, error: describe(error) })
          continue
        }
        const targets = sortByDistance([this.self, ...closest], key).slice(0, this.k).filter(peer => peer.id !== this.self.id)
        const results = await Promise.all(targets.flatMap(peer => records.map(async record => await this.storeAt(peer, record))))
        stores += results.filter(Boolean).length
      }
    }
    await Promise.all(Array.from({ length: REPUBLISH_CONCURRENCY }, worker))
    if (republished > 0) this.log('dht: republished', { keys: republished, stores })
    return { keys: republished, stores }
  }

  private async runRefresh (force: boolean): Promise<number> {
    const due = this.table.bucketsToRefresh(force ? 0 : this.config.bucketRefreshIntervalMs)
    for (const index of due) {
      if (this.closed) break
      await this.findNode(randomIdInBucket(this.self.id, index, this.randomBytes))
    }
    return due.length
  }
}
