// Who may use the web client: the local user, who proves it by holding the control token.
// `voxmesh open` trades the control token for a one-time login token (in the URL's fragment,
// so it reaches neither logs nor a Referer); the page trades that, once and within a minute,
// for a session token it sends as a header (web.ts). Sessions and pending login tokens are
// bounded in number and expire. Sans-IO: time from the injected clock, randomness injected.
import { createHash, randomBytes as systemRandomBytes } from 'node:crypto'
import type { Clock } from '../../common/clock.js'
import { MAX_WEB_LOGIN_TOKENS, MAX_WEB_SESSIONS, WEB_LOGIN_TOKEN_TTL_MS, WEB_SESSION_IDLE_MS, WEB_TOKEN_BYTES } from './constants.js'

export interface WebAccessComponents {
  clock: Clock
  randomBytes?: (n: number) => Uint8Array
}

/** Secrets are kept by their hash: a memory dump or a debug print shows no usable token. */
function hashOf (secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}

export class WebAccess {
  /** Pending login tokens by hash: when each stops being valid. */
  private readonly loginTokens = new Map<string, number>()
  /** Sessions by hash of their token: when each expires unless used again. */
  private readonly sessions = new Map<string, number>()
  private readonly clock: Clock
  private readonly randomBytes: (n: number) => Uint8Array

  constructor (components: WebAccessComponents) {
    this.clock = components.clock
    this.randomBytes = components.randomBytes ?? (n => systemRandomBytes(n))
  }

  /** A new one-time login token. Past MAX_WEB_LOGIN_TOKENS pending, the oldest stops being valid. */
  issueLoginToken (): string {
    const token = this.newSecret()
    this.loginTokens.set(hashOf(token), this.clock.now() + WEB_LOGIN_TOKEN_TTL_MS)
    dropOldest(this.loginTokens, MAX_WEB_LOGIN_TOKENS)
    return token
  }

  /** A session for a valid login token, which is used up (also when it had expired); undefined when it is not valid. */
  startSession (loginToken: string): string | undefined {
    const key = hashOf(loginToken)
    const validUntil = this.loginTokens.get(key)
    this.loginTokens.delete(key)
    if (validUntil === undefined || validUntil <= this.clock.now()) return undefined
    const session = this.newSecret()
    this.sessions.set(hashOf(session), this.clock.now() + WEB_SESSION_IDLE_MS)
    dropOldest(this.sessions, MAX_WEB_SESSIONS)
    return session
  }

  /** Whether `session` is live; using it keeps it so for another WEB_SESSION_IDLE_MS. */
  checkSession (session: string): boolean {
    const key = hashOf(session)
    const expires = this.sessions.get(key)
    if (expires === undefined) return false
    if (expires <= this.clock.now()) { this.sessions.delete(key); return false }
    // Re-inserted, so the Map's order stays least recently used first (dropOldest).
    this.sessions.delete(key)
    this.sessions.set(key, this.clock.now() + WEB_SESSION_IDLE_MS)
    return true
  }

  /** Whether `session` is live, without counting this as a use (an open event stream asks before each event). */
  isLive (session: string): boolean {
    const expires = this.sessions.get(hashOf(session))
    return expires !== undefined && expires > this.clock.now()
  }

  endSession (session: string): void {
    this.sessions.delete(hashOf(session))
  }

  private newSecret (): string {
    return Buffer.from(this.randomBytes(WEB_TOKEN_BYTES)).toString('base64url')
  }
}

/** Maps keep insertion order: the first entries are the oldest. */
function dropOldest (map: Map<string, number>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return
    map.delete(key)
  }
}
