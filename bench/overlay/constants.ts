// What the parts of the overlay bench share.

export const PASSWORD = 'correct horse battery staple'
/** C's --max-hosts: room for every bench host the flags allow. */
export const MAX_HOSTS = 10_000
/** Account creations and logins in flight at once. */
export const HTTP_CONCURRENCY = 16
/** A bench host not registered with C by then counts as failed (and is closed). */
export const ATTACH_TIMEOUT_MS = 60_000
/** After this many failed hosts the registration phase stops starting new ones: the supernode (or this box) is past its limit. */
export const GIVE_UP_AFTER_FAILURES = 50
/** The Node floor's keepalive frames (ws-floor.ts), sized as the link's: a beat is a sealed empty frame (its AEAD tag), a ping and its pong small sealed JSON messages. */
export const BEAT_FRAME_BYTES = 16
export const PING_FRAME_BYTES = 36
export const PONG_FRAME_BYTES = 90
/** Seconds the Node floor's CPU is read over. */
export const FLOOR_WINDOW_S = 30
