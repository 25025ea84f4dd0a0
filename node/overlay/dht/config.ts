// DhtInit: what a node may configure, each option checked against its bounds.
import {
  DEFAULT_ALPHA, DEFAULT_BUCKET_REFRESH_INTERVAL_MS, DEFAULT_K, DEFAULT_MAINTENANCE_INTERVAL_MS,
  DEFAULT_MAX_QUERIES_PER_LOOKUP, DEFAULT_MAX_RECORD_TTL_MS, DEFAULT_MAX_RECORDS,
  DEFAULT_MAX_RECORDS_PER_KEY, DEFAULT_MAX_STORE_BYTES, DEFAULT_PING_STALE_AFTER_MS,
  DEFAULT_REPUBLISH_INTERVAL_MS, DEFAULT_RPC_TIMEOUT_MS, MAX_PEERS_PER_RESPONSE, MAX_RECORDS_PER_RESPONSE
} from './constants.js'
import { DhtError } from './errors.js'
import type { DhtPeer } from './messages.js'

export interface DhtInit {
  /** This supernode: its id and the address others reach it at. */
  self: DhtPeer
  /** Bucket size and replication factor, 1..MAX_PEERS_PER_RESPONSE (default DEFAULT_K = 8). */
  k?: number
  /** Parallel queries per lookup (default 3). */
  alpha?: number
  /** Records held in total (default 20 000). */
  maxRecords?: number
  /** JSON bytes of records held in total (default 32 MiB). */
  maxStoreBytes?: number
  /** Records per key, 1..MAX_RECORDS_PER_RESPONSE (default 16). */
  maxRecordsPerKey?: number
  /** Longest lifetime a record may claim from now (default 24 h). */
  maxRecordTtlMs?: number
  /** Timeout around each rpc (default 5 s). */
  rpcTimeoutMs?: number
  /** How often held records are re-stored at the current k closest (default 5 min). */
  republishIntervalMs?: number
  /** A bucket with no lookup for this long gets a refresh lookup (default 15 min). */
  bucketRefreshIntervalMs?: number
  /** Period of the maintenance timer (default 60 s). */
  maintenanceIntervalMs?: number
  /** Ping a full bucket's oldest peer only when not seen for this long (default 60 s). */
  pingStaleAfterMs?: number
  /** Query budget of one lookup (default 100). */
  maxQueriesPerLookup?: number
}

/** DhtInit with every default filled in and checked. */
export interface Config {
  k: number
  alpha: number
  maxRecords: number
  maxStoreBytes: number
  maxRecordsPerKey: number
  maxRecordTtlMs: number
  rpcTimeoutMs: number
  republishIntervalMs: number
  bucketRefreshIntervalMs: number
  maintenanceIntervalMs: number
  pingStaleAfterMs: number
  maxQueriesPerLookup: number
}

function integerOption (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value ?? fallback
  if (!Number.isSafeInteger(chosen) || chosen < min || chosen > max) {
    throw new DhtError('ERR_INVALID_CONFIG', `${name} must be an integer in ${min}..${max}, got ${String(value)}`)
  }
  return chosen
}

export function configFrom (init: DhtInit): Config {
  const k = integerOption('k', init.k, DEFAULT_K, 1, MAX_PEERS_PER_RESPONSE)
  return {
    k,
    alpha: integerOption('alpha', init.alpha, DEFAULT_ALPHA, 1, 16),
    maxRecords: integerOption('maxRecords', init.maxRecords, DEFAULT_MAX_RECORDS, 1),
    maxStoreBytes: integerOption('maxStoreBytes', init.maxStoreBytes, DEFAULT_MAX_STORE_BYTES, 1),
    maxRecordsPerKey: integerOption('maxRecordsPerKey', init.maxRecordsPerKey, DEFAULT_MAX_RECORDS_PER_KEY, 1, MAX_RECORDS_PER_RESPONSE),
    maxRecordTtlMs: integerOption('maxRecordTtlMs', init.maxRecordTtlMs, DEFAULT_MAX_RECORD_TTL_MS, 1),
    rpcTimeoutMs: integerOption('rpcTimeoutMs', init.rpcTimeoutMs, DEFAULT_RPC_TIMEOUT_MS, 1),
    republishIntervalMs: integerOption('republishIntervalMs', init.republishIntervalMs, DEFAULT_REPUBLISH_INTERVAL_MS, 1),
    bucketRefreshIntervalMs: integerOption('bucketRefreshIntervalMs', init.bucketRefreshIntervalMs, DEFAULT_BUCKET_REFRESH_INTERVAL_MS, 1),
    maintenanceIntervalMs: integerOption('maintenanceIntervalMs', init.maintenanceIntervalMs, DEFAULT_MAINTENANCE_INTERVAL_MS, 1),
    pingStaleAfterMs: integerOption('pingStaleAfterMs', init.pingStaleAfterMs, DEFAULT_PING_STALE_AFTER_MS, 0),
    maxQueriesPerLookup: integerOption('maxQueriesPerLookup', init.maxQueriesPerLookup, DEFAULT_MAX_QUERIES_PER_LOOKUP, k)
  }
}
