// Every timing and bound of the overlay protocol, named once.

/*
 * Host ↔ supernode keepalive, in three tiers (host/keepalive.ts, supernode/inbound-links.ts):
 * - the fast death signal is the transport's close: a supernode process that dies takes its
 *   TCP connections with it (FIN or RST), and the host re-homes at once;
 * - the host sends a beat (a sealed empty frame: one AEAD open on the supernode, no JSON, no
 *   reply) whenever it sent nothing else for BEAT_INTERVAL_MS; the supernode closes a host link
 *   that carried nothing for HOST_SILENCE_LIMIT_MS (a frozen or vanished host), checked by one
 *   sweep of all its host links every SILENCE_SWEEP_MS;
 * - the host pings (an authenticated request and answer; pongs carry the supernode's load) every
 *   PING_INTERVAL_MS and drops a supernode that sends nothing at all for PING_TIMEOUT_MS after a
 *   ping: the slow signal, for a supernode that went dark without a close (frozen process,
 *   machine or path gone: a half-open link). Worst case PING_INTERVAL_MS + PING_TIMEOUT_MS.
 */
/**
 * Each frame costs a Node WebSocket server ~30 µs however small (bench:overlay's Node floor: a
 * bare `ws` server receiving 10,000 connections' keepalive, 2667 frames/s, spends 8% of a core):
 * at 10,000 hosts a beat every 3 s was a third of an idle supernode's CPU. Every 4 s, a vanished
 * host still shows offline within 10 s (HOST_SILENCE_LIMIT_MS).
 */
export const BEAT_INTERVAL_MS = 4000
export const PING_INTERVAL_MS = 15_000
export const PING_TIMEOUT_MS = 5000
/** A host's check of its supernode on demand (a call's media went silent) waits this long for the pong. */
export const SUPERNODE_CHECK_TIMEOUT_MS = 1000
/** A keepalive timer that fires this much later than due means our own process stalled (GC, CPU starvation, suspend). */
export const KEEPALIVE_STALL_MS = 1000
/** Dial attempts a host runs in parallel when it looks for a supernode. */
export const PARALLEL_DIALS = 3
export const DIAL_TIMEOUT_MS = 1500
/** Reconnect backoff (jittered exponential) once every candidate failed. */
export const RECONNECT_BACKOFF = { initialMs: 250, maxMs: 30_000 }

/**
 * Locators and presence are re-signed this often (on average) and live this long. Each republish
 * costs the host's supernode three signature checks and a DHT put, and each of the k replica
 * holders a store: with 10,000 hosts that is most of an idle supernode's CPU, so the interval is
 * half the lifetime. Even the latest republish (REPUBLISH_JITTER) leaves the record more than a
 * minute to live, for clock skew between the host and the replica holders.
 */
export const REPUBLISH_INTERVAL_MS = 90_000
export const RECORD_LIFETIME_MS = 180_000
/**
 * Each republish waits REPUBLISH_INTERVAL_MS ± this fraction, at random: hosts that attached
 * together (a mass re-home, a restart) would otherwise re-sign in the same seconds every
 * interval, forever, and each wave costs their supernode a DHT put per host.
 */
export const REPUBLISH_JITTER = 0.25
/** How often a host looks for contacts whose status ran out. */
export const PRESENCE_EXPIRY_CHECK_MS = 5_000
/** How long a supernode trusts a looked-up locator before asking the DHT again. */
export const LOCATOR_CACHE_MS = 5_000
/** A presence query older than this is refused (replay). */
export const PRESENCE_QUERY_MAX_AGE_MS = 60_000

export const DEFAULT_MAX_HOSTS = 5000
/** Supernode ↔ supernode links kept open at most (least recently used closed first). */
export const MAX_PEER_LINKS = 64
/** The mesh wants more supernodes when one is this full, or fewer than this many are known. */
export const CAPACITY_NEEDED_LOAD = 0.7
export const MIN_SUPERNODES = 2
/** Routing fan-out of one presence change, at most this many lookups at once. */
export const FANOUT_CONCURRENCY = 16
export const SUPERNODE_CACHE_SIZE = 200

/**
 * A one-shot envelope (a text, a receipt, a contact notice) is acted on only when its signed time
 * is within this much of ours (clocks of users may differ this much); replays inside the window
 * are caught by remembering ids, replays outside it by their age.
 */
export const ONE_SHOT_MAX_AGE_MS = 5 * 60_000
/** ...and at most this much ahead of ours (so forgotten ids can never push the accepted window past now by more). */
export const ONE_SHOT_MAX_AHEAD_MS = 60_000
/** One-shot ids a host remembers; when full the oldest is forgotten and nothing older than it is accepted. */
export const MAX_SEEN_ONE_SHOTS = 4096
/** Revocations a supernode holds at most (the login server lists each logout until its certificates expire). */
export const MAX_REVOCATIONS = 100_000
/** An inbound link must say what it is (register or peer-hello) this soon after its handshake, or it is closed. */
export const FIRST_MESSAGE_TIMEOUT_MS = 10_000
/**
 * A host link that carries nothing (not even a beat) for this long is dropped and the host shown
 * offline: a beat more than 4 s late (or missed). With the sweep a frozen host is dropped within
 * HOST_SILENCE_LIMIT_MS + SILENCE_SWEEP_MS (9 s), so its contacts see it offline within 10 s.
 */
export const HOST_SILENCE_LIMIT_MS = 2 * BEAT_INTERVAL_MS
/** How often a supernode looks over all its host links for silent ones (one timer for all of them). */
export const SILENCE_SWEEP_MS = 1000
/**
 * Inbound links a supernode holds per source address (an IPv4 address, an IPv6 /64),
 * handshakes in progress included. Lab networks with many hosts on one address raise
 * it (voxmesh node --max-links-per-address).
 */
export const MAX_LINKS_PER_ADDRESS = 64
/** Per device key: its host link, its supernode's peer link, and a re-registration's overlap. */
export const MAX_LINKS_PER_DEVICE = 4
/** Per user: a few devices, each with its links. */
export const MAX_LINKS_PER_USER = 16

/** Dial-backs a supernode runs for its hosts: a token bucket per device key and one per source address. */
export const DIALBACKS_PER_DEVICE = { burst: 3, refillMs: 10_000 }
export const DIALBACKS_PER_ADDRESS = { burst: 10, refillMs: 2_000 }
/** Requesters a supernode tracks for the dial-back rate (the oldest forgotten first). */
export const MAX_DIALBACK_REQUESTERS = 10_000
