// Every bound and default of the local control API, named once.

/** The file in a node's data dir that tells client commands where the control API is. */
export const CONTROL_FILE = 'control.json'
/** Random bytes in a control token (base64url-encoded: 43 characters). */
export const CONTROL_TOKEN_BYTES = 32

/** Request bodies are tiny; a message of 2000 code points fits with room for JSON escapes. */
export const MAX_CONTROL_BODY_BYTES = 64 * 1024
/** Chat message text, in Unicode code points. */
export const MAX_MESSAGE_CHARS = 2000
/** The text of a contact request (the login server's own limit). */
export const MAX_CONTACT_MESSAGE_CHARS = 500

/** An idle event stream gets a comment line this often, so proxies and clients see it is alive. */
export const SSE_HEARTBEAT_MS = 15_000
/** Events written to a stream client but not yet flushed to its socket; past this it is dropped. */
export const SSE_MAX_QUEUED_EVENTS = 1000
/** Bytes buffered for one stream client; past this it is dropped. */
export const SSE_MAX_QUEUED_BYTES = 1024 * 1024
/** Event stream clients at once. */
export const SSE_MAX_CLIENTS = 64

/** How long a client command waits for an answer (a message waits for its receipt inside this). */
export const CONTROL_REQUEST_TIMEOUT_MS = 30_000

/** A file path sent to the node (--play, --record): plenty for any real path, bounded all the same. */
export const MAX_PATH_CHARS = 4096
/** A call id as the node makes them (16 base64url characters), or a prefix of one (the `calls` table shows 8). */
export const MAX_CALL_ID_CHARS = 32
/** The tone a call may send instead of a file, Hz: the range people hear. */
export const MIN_TONE_HZ = 20
export const MAX_TONE_HZ = 20_000

// The web client (web-access.ts, web.ts).
/** Random bytes in a web login token and in a session token. */
export const WEB_TOKEN_BYTES = 32
/** A login token from `voxmesh open` is good for one use within this. */
export const WEB_LOGIN_TOKEN_TTL_MS = 60_000
/** Login tokens not yet used; past this the oldest stops being valid. */
export const MAX_WEB_LOGIN_TOKENS = 8
/** A page's session ends after this long unused. */
export const WEB_SESSION_IDLE_MS = 12 * 60 * 60 * 1000
/** Page sessions at once (the tabs of one browser share one); past this the least recently used ends. */
export const MAX_WEB_SESSIONS = 16
/** In the data dir, 0600: the page `voxmesh open` gives the desktop's browser, forwarding to the login link. */
export const WEB_LOGIN_FILE = 'web-login.html'
/** The header a page sends its session token in (lower case, as Node gives headers). */
export const WEB_SESSION_HEADER = 'x-voxmesh-session'
