// The node's control API as the page uses it: same-origin requests carrying the page's session
// token as a header (x-voxmesh-session), kept in this origin's own storage. It is not a cookie:
// a browser adds cookies to requests other sites make, and shares them with every port of
// 127.0.0.1. The event stream is read with fetch for the same reason (EventSource sends no header).

const SESSION_KEY = 'voxmesh-session'
const RECONNECT_MS = 2000

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
  const run = async () => {
    while (!stopped) {
      try {
        const response = await fetch('/v1/events', { headers: headers(false) })
        if (response.status === 401) { onState('closed'); return }
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
        onState('open')
        await readEvents(response.body, onEvent)
      } catch {}
      if (stopped) return
      onState('reconnecting')
      await new Promise(resolve => setTimeout(resolve, RECONNECT_MS))
    }
  }
  void run()
  return { stop: () => { stopped = true } }
}

/** Server-Sent Events from a response body: each `data:` message parsed as JSON; comments skipped. */
async function readEvents (body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  while (true) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value.replace(/\r\n?/g, '\n')
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const data = buffer.slice(0, end).split('\n').filter(line => line.startsWith('data:')).map(line => line.slice(5).trimStart()).join('\n')
      buffer = buffer.slice(end + 2)
      if (data === '') continue
      let event
      try { event = JSON.parse(data) } catch { continue }
      onEvent(event)
    }
  }
}
