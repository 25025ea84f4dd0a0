// The DHT's public shapes: what a node is given (components) and what it offers.
// The implementation is dht.ts.
import type { Clock } from '../../../common/clock.js'
import type { DhtPeer, DhtRecord, DhtRequest, DhtResponse } from './messages.js'

export interface DhtComponents {
  clock: Clock
  /** Sends one request to a peer; rejects on timeout or when the peer is unreachable. */
  rpc: (peer: DhtPeer, request: DhtRequest) => Promise<DhtResponse>
  /** A reason to refuse a record (e.g. a bad signature), or undefined to accept. Runs before anything is stored and on records received from others. */
  validateRecord?: (record: DhtRecord) => string | undefined
  log?: (msg: string, fields?: object) => void
  /** Randomness for bucket-refresh targets (default node:crypto). */
  randomBytes?: (n: number) => Uint8Array
}

export interface DhtStats {
  peers: number
  records: number
  bytes: number
  keys: number
}

export interface Dht {
  readonly self: DhtPeer
  readonly k: number
  /** Seen alive. A full bucket pings its least recently seen peer and evicts it only if dead. Ignores our own id. */
  addPeer: (peer: DhtPeer) => void
  /** Known dead: forgotten; a replacement candidate takes its place. */
  removePeer: (id: string) => void
  /** Validates `from` and `request` (DhtError ERR_INVALID_PEER / ERR_INVALID_MESSAGE), adds `from` to the table, answers. */
  handleRequest: (from: DhtPeer, request: unknown) => Promise<DhtResponse>
  /** The k closest live peers to `target` in the network, closest first, not including ourselves. */
  findNode: (target: string) => Promise<DhtPeer[]>
  /** Stores the record at the k closest nodes to its key (ourselves included when among them). Throws ERR_INVALID_RECORD when we would refuse it ourselves. */
  put: (record: DhtRecord, options?: PutOptions) => Promise<{ stored: number }>
  /** Live records of `key` from our store and the k closest nodes: per subkey the highest seq (ties: ours), sorted by subkey. */
  get: (key: string) => Promise<DhtRecord[]>
  /** Live records of `key` held here, without asking anyone. */
  getLocal: (key: string) => DhtRecord[]
  /** Every live record held here: all that this node knows from storing for others. */
  heldRecords: () => DhtRecord[]
  /** The `n` peers of our routing table closest to `target`, closest first. */
  closestPeers: (target: string, n: number) => DhtPeer[]
  /** Every peer in our routing table. */
  peers: () => DhtPeer[]
  /** How many peers our routing table holds (peers().length without the array). */
  peerCount: () => number
  /** Joins the network: adds the seeds, looks up our own id, refreshes every bucket. Resolves with the number of peers known. */
  bootstrap: (seeds: DhtPeer[]) => Promise<number>
  /** Re-stores held records at the current k closest nodes (records received within the last interval are skipped unless `force`). Joins a run in progress. */
  republish: (options?: { force?: boolean }) => Promise<{ keys: number, stores: number }>
  /** Lookups of random ids in buckets without a recent lookup (every bucket when `force`). Joins a run in progress. */
  refreshBuckets: (options?: { force?: boolean }) => Promise<number>
  /** Maintenance now: drops expired records, starts a republish or bucket refresh when due. Also runs on the internal timer. */
  tick: () => void
  stats: () => DhtStats
  /** Idempotent: stops timers, fails rpcs in flight and every later call with ERR_CLOSED. */
  close: () => void
}

export interface PutOptions {
  /** The caller ran validateRecord's checks on this very record (a supernode checks its host's record on arrival): not run again. */
  validated?: boolean
}
