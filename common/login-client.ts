// A typed client for the login server's HTTP API, used by the CLI and by nodes.
// Over node:http(s) rather than fetch: a supernode's heartbeat must leave from
// the IP it advertises (the login server dials back only the address a request
// came from), and only node:http takes a local address without extra packages.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Static } from 'typebox'
import type {
  AuthorizeCallRequest, AuthorizeCallResponse, BalanceResponse, CallHistoryResponse, CapabilityView, PstnCallRecordInput, ChargeCallRequest, ChargeCallResponse, ContactRequestCreated,
  ContactRequestsResponse, ContactsResponse, CreateSessionResponse, InfoResponse, LoginProof, RevocationsResponse, ServicesResponse, SupernodeHeartbeat,
  SupernodeInfo, SupernodeHeartbeatResponse
} from './login-api.js'
import type { Certificate } from './certificate.js'
import { UserError } from './user-error.js'
import { readErrorBody } from './error-body.js'

export { DEFAULT_LOGIN_SERVER_URL } from './login-defaults.js'
const REQUEST_TIMEOUT_MS = 10_000
/** Answers larger than this are not the login server's (its own bodies are a few KB). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

export interface RequestOptions {
  /** The local IP the request leaves from (default: the system's choice). */
  localAddress?: string
  /** The bearer token of this request (default: the session's). */
  token?: string
}

/** The server answered with an error body: `code` is one of LOGIN_ERROR_STATUS's (login-api.ts), or 'http_error' without a body. */
export class LoginApiError extends Error {
  constructor (readonly status: number, readonly code: string, message: string, readonly retryAfterSeconds?: number) {
    super(message)
  }
}

/** Nothing answered (refused, timed out, DNS...). */
export class LoginServerUnreachableError extends UserError {}

export class LoginClient {
  readonly baseUrl: string
  constructor (baseUrl: string, private token?: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
  }

  setToken (token: string | undefined): void { this.token = token }

  info (): Promise<InfoResponse> { return this.request('GET', '/v1/info') }
  createAccount (username: string, password: string): Promise<{ username: string }> {
    return this.request('POST', '/v1/accounts', { username, password })
  }

  /** `proof` (see login-api.ts) lets a device that logged in before skip the per-username limit. */
  async createSession (username: string, password: string, deviceKey: string, proof?: LoginProof): Promise<CreateSessionResponse> {
    const session = await this.request<CreateSessionResponse>('POST', '/v1/sessions',
      proof === undefined ? { username, password, deviceKey } : { username, password, deviceKey, proof })
    this.token = session.token
    return session
  }

  async renewCertificate (): Promise<Certificate> {
    return (await this.request<{ certificate: Certificate }>('POST', '/v1/certificates')).certificate
  }

  /** A service (the PSTN gateway) logs in with its token; the session's token then serves like a user's. */
  async createServiceSession (serviceToken: string, deviceKey: string): Promise<CreateSessionResponse> {
    const session = await this.request<CreateSessionResponse>('POST', '/v1/services/sessions', { deviceKey }, { token: serviceToken })
    this.token = session.token
    return session
  }

  /** The services every user may call, with how to reach them. */
  services (): Promise<Static<typeof ServicesResponse>> { return this.request('GET', '/v1/services') }
  /** Our own credit. */
  balance (): Promise<BalanceResponse> { return this.request('GET', '/v1/credit') }
  /** For a service: how to reach `username` in the overlay. */
  reachOf (serviceToken: string, username: string): Promise<CapabilityView> {
    return this.request('GET', `/v1/services/reach/${encodeURIComponent(username)}`, undefined, { token: serviceToken })
  }

  /** For the PSTN gateway: may `username` call `number` now, and for how long. */
  authorizeCall (serviceToken: string, call: Static<typeof AuthorizeCallRequest>): Promise<AuthorizeCallResponse> {
    return this.request('POST', '/v1/pstn/authorizations', call, { token: serviceToken })
  }

  /** For the PSTN gateway: charge a call's connected seconds (once per call id, however often sent). */
  chargeCall (serviceToken: string, call: Static<typeof ChargeCallRequest>): Promise<ChargeCallResponse> {
    return this.request('POST', '/v1/pstn/charges', call, { token: serviceToken })
  }

  /** For the PSTN gateway: a call's record, for its user's history (kept once per call id). */
  reportCall (serviceToken: string, record: PstnCallRecordInput): Promise<{ status: 'recorded' | 'exists' }> {
    return this.request('POST', '/v1/pstn/records', record, { token: serviceToken })
  }

  /** Our calls to and from phone numbers, newest first. */
  callHistory (limit?: number): Promise<CallHistoryResponse> {
    return this.request('GET', `/v1/calls/history${limit === undefined ? '' : `?limit=${limit}`}`)
  }

  logout (): Promise<void> { return this.request('DELETE', '/v1/sessions') }
  revocations (after: number): Promise<RevocationsResponse> { return this.request('GET', `/v1/revocations?after=${after}`) }
  sendContactRequest (to: string, message?: string): Promise<Static<typeof ContactRequestCreated>> {
    return this.request('POST', '/v1/contacts/requests', message === undefined ? { to } : { to, message })
  }

  contactRequests (): Promise<Static<typeof ContactRequestsResponse>> { return this.request('GET', '/v1/contacts/requests') }
  acceptRequest (id: number): Promise<unknown> { return this.request('POST', `/v1/contacts/requests/${id}/accept`) }
  declineRequest (id: number): Promise<unknown> { return this.request('POST', `/v1/contacts/requests/${id}/decline`) }
  contacts (): Promise<Static<typeof ContactsResponse>> { return this.request('GET', '/v1/contacts') }
  removeContact (username: string): Promise<void> { return this.request('DELETE', `/v1/contacts/${encodeURIComponent(username)}`) }
  block (username: string): Promise<void> { return this.request('POST', '/v1/blocks', { username }) }
  blocks (): Promise<{ blocked: string[] }> { return this.request('GET', '/v1/blocks') }
  supernodes (): Promise<{ supernodes: SupernodeInfo[] }> { return this.request('GET', '/v1/supernodes') }
  unblock (username: string): Promise<void> { return this.request('DELETE', `/v1/blocks/${encodeURIComponent(username)}`) }
  /** `localAddress`: the advertised IP, so the login server's dial-back goes where we said (it dials only the request's source). */
  heartbeatSupernode (hb: SupernodeHeartbeat, options: RequestOptions = {}): Promise<Static<typeof SupernodeHeartbeatResponse>> {
    return this.request('POST', '/v1/supernodes', hb, options)
  }

  private async request<T> (method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = {}
    const payload = body === undefined ? undefined : JSON.stringify(body)
    if (payload !== undefined) headers['content-type'] = 'application/json'
    const token = options.token ?? this.token
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    let response: { status: number, headers: IncomingMessage['headers'], text: string }
    try {
      response = await send(new URL(this.baseUrl + path), { method, headers, localAddress: options.localAddress }, payload)
    } catch (err) {
      const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      throw new LoginServerUnreachableError(`cannot reach the login server at ${this.baseUrl} (${cause})`)
    }
    if (response.status === 204) return undefined as T
    let parsed: unknown
    try { parsed = JSON.parse(response.text) } catch { parsed = undefined }
    if (response.status < 200 || response.status > 299) {
      const { code, message } = readErrorBody(response.status, parsed)
      const retryAfter = Number(response.headers['retry-after'] ?? NaN)
      throw new LoginApiError(response.status, code, message, Number.isFinite(retryAfter) ? retryAfter : undefined)
    }
    return parsed as T
  }
}

/** One HTTP exchange, the whole answer read (bounded), within REQUEST_TIMEOUT_MS. */
function send (
  url: URL,
  options: { method: string, headers: Record<string, string>, localAddress?: string },
  payload: string | undefined
): Promise<{ status: number, headers: IncomingMessage['headers'], text: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: options.method,
      headers: payload === undefined ? options.headers : { ...options.headers, 'content-length': String(Buffer.byteLength(payload)) },
      localAddress: options.localAddress
    }, response => {
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_RESPONSE_BYTES) { request.destroy(new Error(`answer over ${MAX_RESPONSE_BYTES} bytes`)); return }
        chunks.push(chunk)
      })
      response.on('end', () => { clearTimeout(timer); resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }) })
      response.on('error', err => { clearTimeout(timer); reject(err) })
    })
    const timer = setTimeout(() => { request.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })) }, REQUEST_TIMEOUT_MS)
    timer.unref()
    request.on('error', err => { clearTimeout(timer); reject(err) })
    request.end(payload)
  })
}
