// A typed client for the login server's HTTP API, used by the CLI and by nodes.
import type { Static } from 'typebox'
import type {
  ContactRequestCreated, ContactRequestsResponse, ContactsResponse, CreateSessionResponse, InfoResponse, LoginProof, RevocationsResponse, SupernodeHeartbeat,
  SupernodeInfo, SupernodeHeartbeatResponse
} from './login-api.js'
import type { Certificate } from './certificate.js'
import { UserError } from './user-error.js'

export const DEFAULT_LOGIN_SERVER_URL = 'http://127.0.0.1:7700'
const REQUEST_TIMEOUT_MS = 10_000

/** The server answered with an error body. */
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
  heartbeatSupernode (hb: SupernodeHeartbeat): Promise<Static<typeof SupernodeHeartbeatResponse>> {
    return this.request('POST', '/v1/supernodes', hb)
  }

  private async request<T> (method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    let response: Response
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
      throw new LoginServerUnreachableError(`cannot reach the login server at ${this.baseUrl} (${cause})`)
    }
    if (response.status === 204) return undefined as T
    const text = await response.text()
    let parsed: unknown
    try { parsed = JSON.parse(text) } catch { parsed = undefined }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string, message?: string } } | undefined)?.error
      const retryAfter = Number(response.headers.get('retry-after') ?? NaN)
      throw new LoginApiError(response.status, error?.code ?? 'http_error', error?.message ?? `HTTP ${response.status}`,
        Number.isFinite(retryAfter) ? retryAfter : undefined)
    }
    return parsed as T
  }
}
