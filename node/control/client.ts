// A client of a node's control API, for the client subcommands (and any
// script in TypeScript). Errors come back as UserErrors that read well on one line.
import type { Static } from 'typebox'
import { UserError } from '../../common/user-error.js'
import { readErrorBody } from '../../common/error-body.js'
import type {
  Role, RoleMode, CallAudioOptions, CallHistory, CallInfo, CallOptions, ContactRequestsView, ContactView, MessageView, NodeEvent, NodeStatus, SendMessageResult
} from '../runtime/api.js'
import type { UserStatus } from '../../common/presence.js'
import type { AddContactResponse } from './control-api.js'
import { CONTROL_REQUEST_TIMEOUT_MS } from './constants.js'
import { readControlFile } from './control-file.js'
import { httpFetch, type HttpResponse } from './http-fetch.js'

/** The node answered with an error body. */
export class ControlApiError extends UserError {
  constructor (readonly status: number, code: string, message: string) {
    super(message, code)
  }
}

/** Nothing (or nothing sensible) answered at the control URL. */
export class NodeNotAnsweringError extends UserError {}

class RequestTimeout extends Error {}

export interface ControlClientOptions { timeoutMs?: number }

export interface EventsOptions {
  /** Called once the node has accepted the stream: every event from then on is delivered. */
  onOpen?: () => void
}

export class ControlClient {
  readonly url: string
  private readonly timeoutMs: number

  constructor (url: string, private readonly token: string, options: ControlClientOptions = {}) {
    this.url = url.replace(/\/+$/, '')
    this.timeoutMs = options.timeoutMs ?? CONTROL_REQUEST_TIMEOUT_MS
  }

  /** The client for the node running on `dataDir` (its control.json). */
  static fromDataDir (dataDir: string, options: ControlClientOptions = {}): ControlClient {
    const info = readControlFile(dataDir)
    return new ControlClient(info.url, info.token, options)
  }

  status (): Promise<NodeStatus> { return this.request('GET', '/v1/status') }
  balance (): Promise<{ balance: number, currency: string }> { return this.request('GET', '/v1/balance') }
  async contacts (): Promise<ContactView[]> { return (await this.request<{ contacts: ContactView[] }>('GET', '/v1/contacts')).contacts }
  requests (): Promise<ContactRequestsView> { return this.request('GET', '/v1/requests') }
  addContact (username: string, message?: string): Promise<Static<typeof AddContactResponse>> {
    return this.request('POST', '/v1/contacts', message === undefined ? { username } : { username, message })
  }

  async acceptContact (username: string): Promise<void> { await this.request('POST', `/v1/contacts/${encodeURIComponent(username)}/accept`) }
  async declineContact (username: string): Promise<void> { await this.request('POST', `/v1/contacts/${encodeURIComponent(username)}/decline`) }
  async removeContact (username: string): Promise<void> { await this.request('DELETE', `/v1/contacts/${encodeURIComponent(username)}`) }
  async block (username: string): Promise<void> { await this.request('POST', '/v1/blocks', { username }) }
  async unblock (username: string): Promise<void> { await this.request('DELETE', `/v1/blocks/${encodeURIComponent(username)}`) }
  async setPresence (status: UserStatus): Promise<void> { await this.request('PUT', '/v1/presence', { status }) }
  setRole (role: RoleMode): Promise<{ role: Role, mode: RoleMode }> { return this.request('PUT', '/v1/role', { role }) }
  sendMessage (to: string, text: string): Promise<SendMessageResult> { return this.request('POST', '/v1/messages', { to, text }) }
  /** One conversation (with `peer`), or the last message of each; `limit` messages at most. */
  async messages (peer?: string, limit?: number): Promise<MessageView[]> {
    const query = new URLSearchParams()
    if (peer !== undefined) query.set('with', peer)
    if (limit !== undefined) query.set('limit', String(limit))
    const search = query.size === 0 ? '' : `?${query.toString()}`
    return (await this.request<{ messages: MessageView[] }>('GET', `/v1/messages${search}`)).messages
  }

  /** Places a call; progress comes as call-* events. Paths in `options` are read by the node: send absolute ones. */
  placeCall (to: string, options: CallOptions = {}): Promise<{ callId: string }> {
    return this.request('POST', '/v1/calls', { to, ...definedOnly(options) })
  }

  /** Answers the given (or the only) ringing call. */
  answerCall (callId?: string, options: CallAudioOptions = {}): Promise<{ callId: string }> {
    return this.request('POST', '/v1/calls/answer', definedOnly({ callId, ...options }))
  }

  async declineCall (callId?: string): Promise<void> { await this.request('POST', '/v1/calls/decline', definedOnly({ callId })) }
  /** Ends (or cancels) the given (or the only) call. */
  async hangup (callId?: string): Promise<void> { await this.request('POST', '/v1/calls/hangup', definedOnly({ callId })) }
  async setMuted (muted: boolean, callId?: string): Promise<void> { await this.request('POST', '/v1/calls/mute', definedOnly({ callId, muted })) }
  async calls (): Promise<CallInfo[]> { return (await this.request<{ calls: CallInfo[] }>('GET', '/v1/calls')).calls }
  callHistory (limit?: number): Promise<CallHistory> { return this.request('GET', `/v1/calls/history${limit === undefined ? '' : `?limit=${limit}`}`) }

  /** A link that signs a browser in to the node's web client, once, within the minute. */
  async webLoginLink (): Promise<{ url: string, validSeconds: number }> {
    try {
      const { token, validSeconds } = await this.request<{ token: string, validSeconds: number }>('POST', '/v1/web/login-tokens')
      return { url: `${this.url}/#login=${token}`, validSeconds }
    } catch (err) {
      if (err instanceof ControlApiError && err.status === 404) throw new UserError('this node does not serve the web client: start it with --web')
      throw err
    }
  }

  /** The node's events as they come, until the node closes the stream or `signal` aborts (then it just ends). */
  async * events (signal?: AbortSignal, options: EventsOptions = {}): AsyncGenerator<NodeEvent> {
    const controller = new AbortController()
    const abort = (): void => { controller.abort() }
    signal?.addEventListener('abort', abort)
    try {
      if (signal?.aborted === true) return
      const timer = setTimeout(() => { controller.abort(new RequestTimeout()) }, this.timeoutMs)
      let response: HttpResponse
      try {
        response = await this.fetch('GET', '/v1/events', undefined, controller)
      } catch (err) {
        if (controller.signal.reason instanceof RequestTimeout) {
          throw new NodeNotAnsweringError(`the node at ${this.url} did not answer within ${Number((this.timeoutMs / 1000).toFixed(1))} s`)
        }
        if (controller.signal.aborted) return
        throw err
      } finally {
        clearTimeout(timer)
      }
      if (!response.ok) throw await this.errorFrom(response)
      if (response.body === null) return
      // The node subscribes this stream before it sends the headers.
      options.onOpen?.()
      const reader = response.body.getReader()
      const decoder = new TextDecoder()
      let buffer = ''
      while (true) {
        let chunk: Awaited<ReturnType<typeof reader.read>>
        try {
          chunk = await reader.read()
        } catch (err) {
          if (controller.signal.aborted) return
          throw new NodeNotAnsweringError(`the node at ${this.url} dropped the event stream (${(err as Error).message})`)
        }
        if (chunk.done) return
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n')
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const event = parseSseMessage(buffer.slice(0, end))
          buffer = buffer.slice(end + 2)
          // Aborted while this chunk's events were being handed out: stop here.
          if (controller.signal.aborted) return
          if (event !== undefined) yield event
        }
      }
    } finally {
      signal?.removeEventListener('abort', abort)
      controller.abort()
    }
  }

  private async request<T> (method: string, path: string, body?: unknown): Promise<T> {
    const controller = new AbortController()
    const timer = setTimeout(() => { controller.abort(new RequestTimeout()) }, this.timeoutMs)
    try {
      const response = await this.fetch(method, path, body, controller)
      if (!response.ok) throw await this.errorFrom(response)
      if (response.status === 204) return undefined as T
      return await response.json() as T
    } catch (err) {
      if (err instanceof UserError) throw err
      if (controller.signal.reason instanceof RequestTimeout) {
        throw new NodeNotAnsweringError(`the node at ${this.url} did not answer within ${Number((this.timeoutMs / 1000).toFixed(1))} s`)
      }
      throw new NodeNotAnsweringError(`the node at ${this.url} sent a broken answer to ${method} ${path}: ${(err as Error).message}`)
    } finally {
      clearTimeout(timer)
    }
  }

  /** Sends a request; a connection that fails is a NodeNotAnsweringError, an abort is rethrown as is. */
  private async fetch (method: string, path: string, body: unknown, controller: AbortController): Promise<HttpResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      return await httpFetch(this.url + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: controller.signal
      })
    } catch (err) {
      if (controller.signal.aborted) throw err
      throw new NodeNotAnsweringError(`the node at ${this.url} is not answering (is \`voxmesh node\` still running?)`)
    }
  }

  private async errorFrom (response: HttpResponse): Promise<ControlApiError> {
    let body: unknown
    try { body = await response.json() } catch {}
    const { code, message } = readErrorBody(response.status, body)
    // Only the control API's own 401: a login server's 401 passed through by the node reads as itself.
    if (response.status === 401 && code === 'invalid_token') {
      return new ControlApiError(401, code, `the node at ${this.url} refused the control token: ${message}`)
    }
    return new ControlApiError(response.status, code, message)
  }
}

/** The object without its undefined fields (the API refuses fields it does not know, and JSON drops undefined anyway). */
function definedOnly<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** One SSE message: its data lines joined, parsed as JSON; comments and other fields are ignored. */
function parseSseMessage (block: string): NodeEvent | undefined {
  const data = block.split('\n')
    .filter(line => line.startsWith('data:'))
    .map(line => line.slice(line.startsWith('data: ') ? 6 : 5))
  if (data.length === 0) return undefined
  try {
    return JSON.parse(data.join('\n')) as NodeEvent
  } catch {
    return undefined
  }
}
