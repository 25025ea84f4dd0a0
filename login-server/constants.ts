// Every default and bound of the login server, named once.
export const DEFAULT_LISTEN = '127.0.0.1:7700'
export const DEFAULT_DATA_DIR = 'voxmesh-data/login-server'
export const SIGNING_KEY_FILE = 'signing-key'
/** The secret users' lookup keys are derived from (common/lookup-keys.ts); kept like the signing key. */
export const LOOKUP_SECRET_FILE = 'lookup-secret'
export const DATABASE_FILE = 'login.sqlite'

export const DEFAULT_CERTIFICATE_TTL_SECONDS = 12 * 3600
export const SESSION_TTL_SECONDS = 30 * 24 * 3600
export const TOKEN_BYTES = 32
/** Revocations one GET /v1/revocations returns at most (the client pages on with `after`). */
export const MAX_REVOCATIONS_PER_PAGE = 500

export const MAX_BODY_BYTES = 16 * 1024
export const MIN_PASSWORD_CHARS = 8
export const MAX_PASSWORD_BYTES = 1024
export const MAX_CONTACT_MESSAGE_CHARS = 500
export const MAX_PENDING_OUTGOING_REQUESTS = 200
/** An accepted request stays listed (as accepted) this long, so both sides see who became a contact. */
export const ACCEPTED_REQUESTS_SHOWN_SECONDS = 7 * 24 * 3600

/** argon2id cost: libsodium's "interactive" limits (2 passes, 64 MiB). */
export const DEFAULT_ARGON2_OPS = 2
export const DEFAULT_ARGON2_MEMORY_KIB = 64 * 1024
/**
 * Password hash jobs waiting for a worker before new logins get 503. Known
 * devices' jobs go first and may take the place of the newest unknown one.
 */
export const MAX_PENDING_PASSWORD_JOBS = 256

/**
 * Device cookies (OWASP "slow down online guessing"): a device key that proved
 * itself in a successful login is known for this long after its last login, and
 * a user keeps at most this many (the least recently used is forgotten).
 */
export const KNOWN_DEVICE_TTL_SECONDS = 180 * 24 * 3600
export const MAX_KNOWN_DEVICES_PER_USER = 50
/** A login proof's timestamp may differ from the server's clock by this much. */
export const LOGIN_PROOF_MAX_SKEW_SECONDS = 600

export interface RateLimit { limit: number, windowSeconds: number }
/**
 * The *PerIp limits count an address's whole network (IPv4 /24, IPv6 /64; see
 * addressPrefix in common/address.ts). Logins from known devices count only against
 * sessionsPerKnownDevice (failures of that user on that device), never against
 * the per-network or per-username limits, so other people's guesses cannot
 * lock a user out of their own devices.
 */
export const DEFAULT_RATE_LIMITS = {
  accountsPerIp: { limit: 10, windowSeconds: 3600 },
  sessionsPerIp: { limit: 60, windowSeconds: 60 },
  /** failed logins per username from unknown devices */
  sessionsPerUsername: { limit: 10, windowSeconds: 300 },
  /** failed logins per username from one known device */
  sessionsPerKnownDevice: { limit: 10, windowSeconds: 300 },
  /** all logins (right or wrong) of one user's known devices: a person logs in a few times a minute at most */
  knownDeviceLoginsPerUser: { limit: 60, windowSeconds: 60 },
  /** contact requests per sender (all go to non-contacts) */
  contactRequestsPerSender: { limit: 20, windowSeconds: 3600 },
  supernodeRegistrationsPerIp: { limit: 120, windowSeconds: 60 },
  /** New supernode device keys admitted per address group (an IPv4 address or an IPv6 /64): re-rolling for a better DHT id costs an hour. */
  supernodeAdmissionsPerAddress: { limit: 6, windowSeconds: 3600 }
} satisfies Record<string, RateLimit>
export type RateLimits = typeof DEFAULT_RATE_LIMITS

/** Supernode bootstrap list. */
export const SUPERNODE_HEARTBEAT_SECONDS = 30
export const SUPERNODE_TTL_SECONDS = 90
/** A listed address is dialed back again after this long. */
export const SUPERNODE_RECONFIRM_SECONDS = 600
export const SUPERNODE_SIGNATURE_MAX_SKEW_SECONDS = 60
export const SUPERNODE_SAMPLE_SIZE = 8
/** Supernodes admitted at once per IPv4 address or IPv6 /64 (Tor's AuthDirMaxServersPerAddr is 2). */
export const DEFAULT_MAX_SUPERNODES_PER_ADDRESS = 2
/**
 * Supernode credentials are renewed with every heartbeat but live an hour, so the
 * mesh keeps its links through a login server outage of up to an hour.
 */
export const SUPERNODE_CREDENTIAL_TTL_SECONDS = 3600
/**
 * Dial-backs run per device key and per source address (an IPv4 address, an IPv6 /64):
 * a supernode needs one at start, on an address change and every SUPERNODE_RECONFIRM_SECONDS.
 * Beyond these the answer is the same failure as any other.
 */
export const DIALBACKS_PER_DEVICE: RateLimit = { limit: 3, windowSeconds: 30 }
export const DIALBACKS_PER_ADDRESS: RateLimit = { limit: 20, windowSeconds: 60 }

/** Calls to and from phone numbers kept per user (the oldest dropped first). */
export const MAX_PSTN_CALLS_PER_USER = 1000
/** What `voxmesh calls --history` shows without --limit. */
export const DEFAULT_CALL_HISTORY_LIMIT = 20
/**
 * One authorization covers at most this long a call (it holds what that could cost); a user with
 * more credit can hold several calls at once, each with its own share.
 */
export const MAX_AUTHORIZED_MINUTES = 240
/** An authorization never charged (its gateway died for good) stops holding credit this long after its call could have ended. */
export const AUTHORIZATION_HOLD_SECONDS = 3600
