// The long-term credential mechanism on the server side (RFC 8489 §9.2.4), with credentials in
// the TURN REST API style (credentials.ts): the password of a username is derived from the
// secret, so checking a request needs no per-user state.
import { ERROR, MAX_TEXT_CHARS } from '../constants.js'
import { parseTurnUsername, turnPassword, type TurnSecret } from '../credentials.js'
import { NonceBook } from './nonces.js'
import { findAttribute } from '../stun/attributes.js'
import { longTermKey, verifyIntegrity } from '../stun/integrity.js'
import type { StunMessage } from '../stun/message.js'

/** What authentication established about a request. */
export interface Auth {
  /** The full credential username ("<expiry>:<user>"). */
  username: string
  /** The user part, whom quotas count. */
  user: string
  /** The grant the credentials were issued under, if any. */
  grant?: string
  /** Whether the credential's expiry has passed (allowed for an existing allocation, not for a new one). */
  expired: boolean
  expiresAt: number
  /** The long-term key: responses carry MESSAGE-INTEGRITY made with it. */
  key: Uint8Array
  /** Which integrity attribute the request used; the response uses the same. */
  algorithm: 'sha1' | 'sha256'
}

export type AuthOutcome =
  | { ok: true, auth: Auth }
  /** `challenge`: the error response must carry REALM and a fresh NONCE (401, 438). */
  | { ok: false, code: number, detail: string, challenge: boolean }

export class Authenticator {
  private readonly nonces: NonceBook

  /**
   * `openGrants`: when given, only credentials naming one of these grants are honoured (a
   * revoked grant is one taken out of the set); undefined: any credential the secret signs.
   */
  constructor (
    private readonly realm: string, private readonly secret: TurnSecret, nonceKey: Uint8Array, nonceLifetimeMs: number,
    private readonly openGrants?: ReadonlySet<string>
  ) {
    this.nonces = new NonceBook(nonceKey, nonceLifetimeMs)
  }

  /** A NONCE for the client at `clientKey` ("ip:port"). */
  nonceFor (clientKey: string, now: number): string {
    return this.nonces.issue(clientKey, now)
  }

  authenticate (message: StunMessage, clientKey: string, now: number): AuthOutcome {
    if (message.integrityOffsets.sha1 === undefined && message.integrityOffsets.sha256 === undefined) {
      return { ok: false, code: ERROR.UNAUTHENTICATED, detail: 'MESSAGE-INTEGRITY missing', challenge: true }
    }
    const username = findAttribute(message, 'USERNAME')?.value
    const realm = findAttribute(message, 'REALM')?.value
    const nonce = findAttribute(message, 'NONCE')?.value
    if (username === undefined || realm === undefined || nonce === undefined) {
      const missing = [username === undefined ? 'USERNAME' : '', realm === undefined ? 'REALM' : '', nonce === undefined ? 'NONCE' : ''].filter(Boolean)
      return { ok: false, code: ERROR.BAD_REQUEST, detail: `${missing.join(', ')} missing beside MESSAGE-INTEGRITY`, challenge: false }
    }
    const nonceCheck = this.nonces.check(nonce, clientKey, now)
    if (!nonceCheck.ok) return { ok: false, code: ERROR.STALE_NONCE, detail: nonceCheck.reason, challenge: true }
    if (realm !== this.realm) return { ok: false, code: ERROR.UNAUTHENTICATED, detail: `wrong REALM ${JSON.stringify([...realm].slice(0, 40).join(''))}`, challenge: true }
    const parsed = parseTurnUsername(username, now)
    if (!parsed.ok) return { ok: false, code: ERROR.UNAUTHENTICATED, detail: parsed.reason.slice(0, MAX_TEXT_CHARS), challenge: true }
    const key = longTermKey(username, this.realm, turnPassword(this.secret, username))
    const integrity = verifyIntegrity(message, key)
    if (!integrity.ok) return { ok: false, code: ERROR.UNAUTHENTICATED, detail: 'wrong credentials (MESSAGE-INTEGRITY does not match)', challenge: true }
    // Checked after the integrity, so nobody learns which grants exist without the secret.
    if (this.openGrants !== undefined) {
      if (parsed.grant === undefined) return { ok: false, code: ERROR.UNAUTHENTICATED, detail: 'credentials name no grant', challenge: true }
      if (!this.openGrants.has(parsed.grant)) return { ok: false, code: ERROR.UNAUTHENTICATED, detail: 'credentials revoked (their host left)', challenge: true }
    }
    return { ok: true, auth: { username, user: parsed.user, grant: parsed.grant, expired: parsed.expired, expiresAt: parsed.expiresAt, key, algorithm: integrity.algorithm } }
  }
}
