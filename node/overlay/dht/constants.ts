// Every bound and default of the supernode DHT, named once.
//
// Two kinds of numbers live here:
//   - wire bounds (MAX_*): part of the protocol. Every node enforces them on what it
//     receives, whatever it was configured with, so they must not differ between nodes.
//   - defaults (DEFAULT_*): local policy, overridable through DhtInit within the wire bounds.

/** Ids and keys are 32 bytes, written as 64 lowercase hex characters. */
export const ID_BYTES = 32
export const ID_BITS = ID_BYTES * 8

// ---- wire bounds -------------------------------------------------------------------------

/** A record's subkey (e.g. a device key) in characters. */
export const MAX_SUBKEY_LENGTH = 128
/** A record's value, JSON-encoded, in UTF-8 bytes. */
export const MAX_VALUE_BYTES = 4 * 1024
/** Nesting depth of a record's value (also stops cycles in values handed in from code). */
export const MAX_VALUE_DEPTH = 16
/** A peer's "host:port" (253-char hostname + ":65535", or a bracketed IPv6 address). */
export const MAX_ADDRESS_LENGTH = 262
/** Peers in one `nodes` or `value` response. Also the largest k a node may be configured with (Kademlia's classic 20). */
export const MAX_PEERS_PER_RESPONSE = 20
/** Records in one `value` response. Also the largest maxRecordsPerKey a node may be configured with. */
export const MAX_RECORDS_PER_RESPONSE = 16
/** Bytes (JSON-encoded) of all records of one key, so that a complete `value` response always fits in a message. */
export const MAX_RECORD_BYTES_PER_KEY = 40 * 1024
/** The `reason` of a refused store, in characters. */
export const MAX_REASON_LENGTH = 200
/**
 * One DHT message, JSON-encoded. A link frame is at most 64 KiB (MAX_FRAME_BYTES in
 * node/net/transport.ts); this leaves room for the link's envelope and AEAD tag.
 * Worst case of a `value` response: 40 KiB of records + 20 peers × ~350 B ≈ 47 KiB.
 */
export const MAX_MESSAGE_BYTES = 56 * 1024

// ---- defaults ----------------------------------------------------------------------------

/**
 * Bucket size and replication factor. Supernode meshes are small (hundreds to a few thousand
 * nodes), so 8 (BitTorrent's mainline DHT value) gives ample redundancy — a record survives
 * the death of 7 of its 8 holders between two republishes — while keeping responses and
 * per-node storage small. libp2p's 20 is sized for much larger, far churnier networks.
 */
export const DEFAULT_K = 8
/** Parallel queries per lookup (Kademlia's α). */
export const DEFAULT_ALPHA = 3
/** Records held in total. */
export const DEFAULT_MAX_RECORDS = 20_000
/** Bytes (JSON-encoded) of records held in total. */
export const DEFAULT_MAX_STORE_BYTES = 32 * 1024 * 1024
/** Records (subkeys) per key: one per device of a user, with room to spare. */
export const DEFAULT_MAX_RECORDS_PER_KEY = 16
/** A record may not claim to live longer than this from now; owners refresh well before. */
export const DEFAULT_MAX_RECORD_TTL_MS = 24 * 60 * 60 * 1000
/** Safety-net timeout around every rpc (the rpc function should time out on its own too). */
export const DEFAULT_RPC_TIMEOUT_MS = 5_000
/**
 * How often each node re-stores the records it holds at the current k closest nodes (records
 * put or re-stored by someone else within the interval are skipped, so usually one holder per
 * key does the work). Kademlia uses an hour for day-long records; presence locators live at
 * most 10 minutes (MAX_LOCATOR_LIFETIME_SECONDS in common/wire/locator.ts), so half of that
 * lets a locator whose holders die be re-replicated within its lifetime. Owners' own
 * refreshes (a new put) cover the rest.
 */
export const DEFAULT_REPUBLISH_INTERVAL_MS = 5 * 60 * 1000
/** A bucket in which no lookup happened for this long is refreshed with a lookup of a random id in it. */
export const DEFAULT_BUCKET_REFRESH_INTERVAL_MS = 15 * 60 * 1000
/** Period of the maintenance timer: expiry sweep, and starting republish/refresh when due. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 60 * 1000
/** A full bucket's least-recently-seen peer is pinged (and evicted if dead) only when not seen for this long. */
export const DEFAULT_PING_STALE_AFTER_MS = 60 * 1000
/** Queries one lookup may send in total, so lying peers cannot keep it going forever. */
export const DEFAULT_MAX_QUERIES_PER_LOOKUP = 100
/** Candidates a lookup keeps (closest first). */
export const MAX_LOOKUP_CANDIDATES = 128
/** Keys republished in parallel. */
export const REPUBLISH_CONCURRENCY = 4
/**
 * A node whose lookup found nobody beyond its routing table, with fewer than k peers in it, puts
 * to all of them without a lookup (the lookup was half of each put's messages, and a host's
 * supernode puts its locator every interval) while its table is unchanged, for at most this long.
 * A node that joins the mesh bootstraps through others and so changes their tables.
 */
export const WHOLE_MESH_TTL_MS = 10 * 60 * 1000
