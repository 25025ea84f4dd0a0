// Defaults of the node program, named once.
export const DEFAULT_NODE_DATA_DIR = 'voxmesh-data/node'
export const DEFAULT_CONTROL_LISTEN = '127.0.0.1:0'
export const DEVICE_KEY_FILE = 'device-key'
export const LOGIN_SERVER_PIN_FILE = 'login-server.json'
/** The conversation history and outbox (SQLite). */
export const MESSAGES_FILE = 'messages.sqlite'
/** Messages `messages NAME` shows by default, and at most. */
export const DEFAULT_HISTORY_LIMIT = 50
export const MAX_HISTORY_LIMIT = 1000
/** The supernode cache's file (its old name kept, so existing data dirs keep their cache). */
export const SUPERNODE_CACHE_FILE = 'host-cache.json'

/** Promotion thresholds (all overridable on the command line). */
export const DEFAULT_PROMOTE_AFTER_MS = 10 * 60_000
export const DEFAULT_MIN_FREE_MEMORY_MB = 256
export const DEFAULT_MAX_LOAD_PER_CORE = 0.8
/** How often a node with --role auto reconsiders its role. */
export const PROMOTION_CHECK_MS = 5_000
/** Failed reachability checks in a row before a supernode demotes (demotion is harder than promotion). */
export const DEMOTE_AFTER_FAILED_CHECKS = 3
/**
 * TURN credentials a supernode hands its hosts live this long: they bound when a call may start
 * (hosts ask afresh for each call), never how long it lasts (a call's allocation is refreshed
 * with the same credentials after they expired; see turn-server.ts). They die sooner when the
 * host leaves (its grant is revoked).
 */
export const TURN_CREDENTIAL_TTL_SECONDS = 600
/** The supernode refreshes its mesh neighbours from the login server this often. */
export const SUPERNODE_DISCOVERY_MS = 30_000
/**
 * How often a node asks the login server for new contact requests: a non-contact cannot reach us
 * through the overlay (presence is for contacts), so requests are not pushed.
 */
export const CONTACT_REQUEST_POLL_MS = 10_000
/**
 * A contact's first status heard within this long of our attaching (or of their becoming a contact) is
 * the answer to our presence query: when we learned it, not when it changed.
 */
export const PRESENCE_SETTLE_MS = 5_000
/** Certificates are renewed once this fraction of their lifetime has passed. */
export const CERTIFICATE_RENEW_AT = 2 / 3
/** A supernode asks the login server for new revocations (logouts) this often: a logged-out device is refused within about this long. */
export const REVOCATION_POLL_MS = 2_000
/** The supernode cache is written to the data directory this often (and on every attach and at exit). */
export const SUPERNODE_CACHE_SAVE_MS = 60_000
