// The node's control API as the page uses it: same-origin requests carrying the page's session
// token as a header (x-voxmesh-session), kept in this origin's own storage. It is not a cookie:
// a browser adds cookies to requests other sites make, and shares them with every port of
// 127.0.0.1. The event stream is read with fetch for the same reason (EventSource sends no header).

const SESSION_KEY = 'voxmesh-session'
const RECONNECT_MS = 2000
/** The node sends a heartbeat every 15 s: a stream silent for twice that is dead (sleep, a dropped NAT mapping). */
const STREAM_SILENCE_MS = 30_000

export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

function headers (json) {
  const result = {}
  const session = localStorage.getItem(SESSION_KEY)
  if (session !== null) result['x-voxmesh-session'] = session
  if (json) result['content-type'] = 'application/json'
  return result
}

/** One request; the node's error body becomes an ApiError with its sentence. */
export async function request (method, path, body) {
  const response = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) })
  const data = await response.json().catch(() => undefined)
  if (!response.ok) throw new ApiError(response.status, data?.error?.code ?? 'error', data?.error?.message ?? `${method} ${path}: HTTP ${response.status}`)
  return data
}

/** Trades the one-time login token of `voxmesh open` (in the URL's fragment) for a session, kept for this origin. */
export async function signIn (token) {
  const { session } = await request('POST', '/web/session', { token })
  // An older session of this page's origin ends here rather than idling on the node for hours.
  if (localStorage.getItem(SESSION_KEY) !== null) await request('POST', '/v1/web/logout').catch(() => {})
  localStorage.setItem(SESSION_KEY, session)
}

export async function signOut () {
  await request('POST', '/v1/web/logout').finally(() => { localStorage.removeItem(SESSION_KEY) })
}

/**
 * The node's events, each handed to `onEvent`, over a stream that is opened again when it drops;
 * `onState` hears 'open', 'reconnecting' and 'closed' (the session ended: no use trying again).
 */
export function subscribe (onEvent, onState) {
  let stopped = false
  let current
  const run = async () => {
    while (!stopped) {
      current = new AbortController()
      try {
        const response = await fetch('/v1/events', { headers: headers(false), signal: current.signal })
        if (response.status === 401) { onState('closed'); return }
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
        onState('open')
        await readEvents(response.body, onEvent, current)
      } catch {}
      if (stopped) return
      onState('reconnecting')
      await new Promise(resolve => setTimeout(resolve, RECONNECT_MS))
    }
  }
  void run()
  return { stop: () => { stopped = true; current?.abort() } }
}

/** Server-Sent Events from a response body: each `data:` message parsed as JSON; comments skipped. A silent stream is aborted. */
async function readEvents (body, onEvent, controller) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let watchdog
  const arm = () => { clearTimeout(watchdog); watchdog = setTimeout(() => controller.abort(), STREAM_SILENCE_MS) }
  arm()
  try {
    while (true) {
      const { value, done } = await reader.read()
      if (done) return
      arm()
      buffer = parseMessages(buffer + value.replace(/\r\n?/g, '\n'), onEvent)
    }
  } finally {
    clearTimeout(watchdog)
  }
}

/** Hands out the complete messages in `buffer`; returns what is left of it. */
function parseMessages (buffer, onEvent) {
  let end
  while ((end = buffer.indexOf('\n\n')) !== -1) {
    const data = buffer.slice(0, end).split('\n').filter(line => line.startsWith('data:')).map(line => line.slice(5).trimStart()).join('\n')
    buffer = buffer.slice(end + 2)
    if (data === '') continue
    let event
    try { event = JSON.parse(data) } catch { continue }
    onEvent(event)
  }
  return buffer
}
