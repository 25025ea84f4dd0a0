// Every number of STUN (RFC 8489) and TURN (RFC 8656) this relay uses, and every bound and
// default of the relay, named once.
//
// Three kinds of numbers live here:
//   - protocol numbers: methods, classes, attribute types, error codes (fixed by the RFCs);
//   - wire bounds (MAX_*): what a decoder accepts at most, whatever the configuration;
//   - defaults (DEFAULT_*): local policy, overridable through TurnServerInit within its bounds.

// ---- STUN message layout (RFC 8489 §5) -----------------------------------------------------

export const MAGIC_COOKIE = 0x2112a442
export const HEADER_BYTES = 20
export const TRANSACTION_ID_BYTES = 12
/** The 16-bit length field counts the attributes only; a message is at most this many bytes. */
export const MAX_STUN_MESSAGE_BYTES = HEADER_BYTES + 0xffff
/** XORed into the CRC-32 of the message to make FINGERPRINT (RFC 8489 §14.7). */
export const FINGERPRINT_XOR = 0x5354554e

// ---- methods (RFC 8489 §18.2, RFC 8656 §17) ------------------------------------------------

export const METHOD = {
  BINDING: 0x001,
  ALLOCATE: 0x003,
  REFRESH: 0x004,
  SEND: 0x006,
  DATA: 0x007,
  CREATE_PERMISSION: 0x008,
  CHANNEL_BIND: 0x009
} as const

export const METHOD_NAMES: Readonly<Record<number, string>> = {
  [METHOD.BINDING]: 'Binding',
  [METHOD.ALLOCATE]: 'Allocate',
  [METHOD.REFRESH]: 'Refresh',
  [METHOD.SEND]: 'Send',
  [METHOD.DATA]: 'Data',
  [METHOD.CREATE_PERMISSION]: 'CreatePermission',
  [METHOD.CHANNEL_BIND]: 'ChannelBind'
}

// ---- attribute types (RFC 8489 §18.3, RFC 8656 §18) ----------------------------------------

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  CHANNEL_NUMBER: 0x000c,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  DATA: 0x0013,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_ADDRESS_FAMILY: 0x0017,
  EVEN_PORT: 0x0018,
  REQUESTED_TRANSPORT: 0x0019,
  DONT_FRAGMENT: 0x001a,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESERVATION_TOKEN: 0x0022,
  SOFTWARE: 0x8022,
  FINGERPRINT: 0x8028
} as const

/** Types below this are comprehension-required: an agent that does not know one must reject the request (420). */
export const COMPREHENSION_OPTIONAL_MIN = 0x8000

// ---- error codes (RFC 8489 §18.4, RFC 8656 §19) --------------------------------------------

export const ERROR = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  UNKNOWN_ATTRIBUTE: 420,
  ALLOCATION_MISMATCH: 437,
  STALE_NONCE: 438,
  ADDRESS_FAMILY_NOT_SUPPORTED: 440,
  WRONG_CREDENTIALS: 441,
  UNSUPPORTED_TRANSPORT_PROTOCOL: 442,
  PEER_ADDRESS_FAMILY_MISMATCH: 443,
  ALLOCATION_QUOTA_REACHED: 486,
  SERVER_ERROR: 500,
  INSUFFICIENT_CAPACITY: 508
} as const

/** The reason phrases the RFCs suggest; responses append a precise reason after them. */
export const ERROR_PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  420: 'Unknown Attribute',
  437: 'Allocation Mismatch',
  438: 'Stale Nonce',
  440: 'Address Family not Supported',
  441: 'Wrong Credentials',
  442: 'Unsupported Transport Protocol',
  443: 'Peer Address Family Mismatch',
  486: 'Allocation Quota Reached',
  500: 'Server Error',
  508: 'Insufficient Capacity'
}

// ---- TURN values ---------------------------------------------------------------------------

/** REQUESTED-TRANSPORT value for UDP (the IANA protocol number), the only relay transport served. */
export const TRANSPORT_UDP = 17
/** REQUESTED-ADDRESS-FAMILY / address attribute family values. */
export const FAMILY_IPV4 = 0x01
export const FAMILY_IPV6 = 0x02

/** Channel numbers RFC 8656 §12 assigns; our own clients pick from here. */
export const CHANNEL_MIN = 0x4000
export const CHANNEL_MAX = 0x4fff
/**
 * The highest channel number the server accepts. RFC 5766 allowed 0x4000–0x7FFF and standard
 * clients still pick from that range (coturn's turnutils_uclient picks a random number in it),
 * so the server accepts it: 0x5000–0x7FFF cannot be confused with STUN on the client-facing
 * socket. Numbers outside 0x4000–0x7FFF are refused with 400.
 */
export const CHANNEL_MAX_ACCEPTED = 0x7fff
export const CHANNEL_DATA_HEADER_BYTES = 4

/** Permissions live 300 s (RFC 8656 §9), refreshed by CreatePermission or ChannelBind. */
export const PERMISSION_LIFETIME_MS = 300_000
/** Channel bindings live 600 s (RFC 8656 §12). */
export const CHANNEL_LIFETIME_MS = 600_000
/** A port reserved by EVEN-PORT with the R bit is held this long for the RESERVATION-TOKEN that names it (RFC 8656 §7.2 suggests ~30 s). */
export const RESERVATION_LIFETIME_MS = 30_000
/** The edge has this long to open a relay socket before the pending Allocate is abandoned. */
export const RELAY_OPEN_TIMEOUT_MS = 5_000
export const RESERVATION_TOKEN_BYTES = 8

// ---- wire bounds ---------------------------------------------------------------------------

/** Attributes decoded from one message; a TURN request needs fewer than 30 (CreatePermission with many peers). */
export const MAX_ATTRIBUTES = 64
/** USERNAME in UTF-8 bytes (RFC 8489 §14.3: less than 509 bytes; RFC 5389 allowed 513). */
export const MAX_USERNAME_BYTES = 513
/** REALM, NONCE, SOFTWARE, ERROR-CODE reason: fewer than 128 characters, at most 763 bytes (RFC 8489 §14.9, §14.10, §14.14, §14.8). */
export const MAX_TEXT_BYTES = 763
export const MAX_TEXT_CHARS = 127
/** XOR-PEER-ADDRESS attributes honoured in one CreatePermission. */
export const MAX_PEERS_PER_CREATE_PERMISSION = 16

// ---- credentials (TURN REST API style) -----------------------------------------------------

/** The user part of a credential username: printable, no spaces. */
export const MAX_CREDENTIAL_USER_LENGTH = 128
/** The grant part of a credential username (a supernode uses base64url of 16 random bytes: 22). */
export const MAX_CREDENTIAL_GRANT_LENGTH = 43
/** Longest lifetime issueTurnCredentials hands out (a day); calls outlive credentials (see server/turn-server.ts). */
export const MAX_CREDENTIAL_TTL_SECONDS = 24 * 60 * 60

// ---- defaults (local policy) ---------------------------------------------------------------

export const DEFAULT_SOFTWARE = 'voxmesh-turn'
/** Allocations at once from one user: a call needs one or two, plus retries and a second device. */
export const DEFAULT_MAX_ALLOCATIONS_PER_USER = 10
/**
 * Allocations at once from one client address (an IPv4 address, or an IPv6 /64, which one
 * machine can fill with addresses): the cap an attacker with many accounts but few addresses
 * meets. Room for a household or an office behind one NAT (a few users, a few calls each);
 * with a few addresses an attacker gets a small share of DEFAULT_MAX_ALLOCATIONS.
 */
export const DEFAULT_MAX_ALLOCATIONS_PER_ADDRESS = 32
/** Allocations at once in total: each is one UDP socket. */
export const DEFAULT_MAX_ALLOCATIONS = 2_000
/** Longest lifetime one Allocate/Refresh may grant; clients refresh before it runs out, for as long as the call lasts. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 3600
/** Lifetime granted when the client asks for less or nothing (RFC 8656: 10 minutes). */
export const DEFAULT_LIFETIME_SECONDS = 600
/**
 * Relay rate per allocation and direction, with one second of burst. A voice stream is
 * 3–6 KB/s (Opus plus RTP/SRTP overhead); 64 KiB/s leaves room for video-less calls with
 * bursts, retransmissions and DTLS handshakes, and no cap on total bytes or duration: a call is
 * never cut for lasting long (unlike libp2p's relay default of 2 min / 128 KiB).
 */
export const DEFAULT_MAX_BYTES_PER_SECOND_PER_ALLOCATION = 64 * 1024
/** Peer IPs one allocation may have permissions for. */
export const DEFAULT_MAX_PERMISSIONS = 32
/** Channels one allocation may bind. */
export const DEFAULT_MAX_CHANNELS = 32
/** A NONCE is valid this long; then requests get 438 and the client retries with a fresh one. */
export const DEFAULT_NONCE_LIFETIME_SECONDS = 600
