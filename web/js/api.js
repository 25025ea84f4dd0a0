// The node's control API as the page uses it: same-origin requests with the session cookie
// (the browser sends it; the page never sees it), and the node's events over EventSource.

export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** One request; the node's error body becomes an ApiError with its sentence. */
export async function request (method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} }
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const response = await fetch(path, init)
  const data = await response.json().catch(() => undefined)
  if (!response.ok) throw new ApiError(response.status, data?.error?.code ?? 'error', data?.error?.message ?? `${method} ${path}: HTTP ${response.status}`)
  return data
}

/** Trades the one-time login token of `voxmesh open` (in the URL's fragment) for the session cookie. */
export async function signIn (token) {
  await request('POST', '/web/session', { token })
}

/** The node's events, each handed to `onEvent`; the browser reconnects a dropped stream by itself. */
export function subscribe (onEvent, onState) {
  const source = new EventSource('/v1/events')
  source.onmessage = message => {
    let event
    try { event = JSON.parse(message.data) } catch { return }
    onEvent(event)
  }
  source.onopen = () => onState('open')
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting')
  return source
}
