// Short-lived TURN credentials in the widely used "TURN REST API" style (coturn's
// use-auth-secret / static-auth-secret, the IETF draft-uberti-behave-turn-rest):
//
//   username = `${expiryUnixSeconds}:${user}` or `${expiryUnixSeconds}:${user}:${grant}`
//   password = base64(HMAC-SHA1(secret, username))
//
// The grant is optional: a supernode names each registered host's grant (a random id) in the
// credentials it issues, and its relay honours them only while that grant is open
// (TurnServer.openGrant / revokeGrant): credentials die when the host leaves, whatever their
// expiry says.
//
// The supernode issues them to the hosts it serves over the encrypted overlay link; the TURN
// server needs only the secret to check them, so it keeps no per-user state. Any standard
// TURN client uses them as an ordinary long-term credential (-u/-w).
import { createHmac, timingSafeEqual } from 'node:crypto'
import { MAX_CREDENTIAL_GRANT_LENGTH, MAX_CREDENTIAL_TTL_SECONDS, MAX_CREDENTIAL_USER_LENGTH } from './constants.js'
import { TurnError } from './errors.js'

export interface TurnCredentials {
  /** `${expiryUnixSeconds}:${user}` or `${expiryUnixSeconds}:${user}:${grant}` */
  username: string
  /** base64(HMAC-SHA1(secret, username)) */
  password: string
  /** Expiry in milliseconds since the epoch (a whole second). */
  expiresAt: number
  /** The user the credentials were issued to. */
  user: string
  /** The grant they were issued under, if any. */
  grant?: string
}

export type TurnUsernameCheck =
  | { ok: true, user: string, grant?: string, expiresAt: number, expired: boolean }
  | { ok: false, reason: string }

// The user part is printable ASCII without spaces or ':' (which separates the grant).
const USER_PATTERN = new RegExp(`^[\\x21-\\x39\\x3b-\\x7e]{1,${MAX_CREDENTIAL_USER_LENGTH}}$`)
const GRANT_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CREDENTIAL_GRANT_LENGTH}}$`)
const USERNAME_PATTERN = /^(\d{1,12}):(.*)$/s

export type TurnSecret = string | Uint8Array

/** The password of a credential username: base64(HMAC-SHA1(secret, username)). */
export function turnPassword (secret: TurnSecret, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64')
}

/**
 * Credentials for `user`, valid `ttlSeconds` from `now` (milliseconds since the epoch, as
 * Clock.now() gives). `user` is printable ASCII without spaces or ':' (a username or device id);
 * `grant`, when given, is [A-Za-z0-9_-] (e.g. base64url of random bytes).
 */
export function issueTurnCredentials (secret: TurnSecret, user: string, ttlSeconds: number, now: number, grant?: string): TurnCredentials {
  if (secret.length === 0) throw new TurnError('ERR_INVALID_ARGUMENT', 'the TURN secret is empty')
  if (!USER_PATTERN.test(user)) throw new TurnError('ERR_INVALID_ARGUMENT', `user must be 1..${MAX_CREDENTIAL_USER_LENGTH} printable ASCII characters without spaces or ':'`)
  if (grant !== undefined && !GRANT_PATTERN.test(grant)) throw new TurnError('ERR_INVALID_ARGUMENT', `grant must be 1..${MAX_CREDENTIAL_GRANT_LENGTH} characters of [A-Za-z0-9_-]`)
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_CREDENTIAL_TTL_SECONDS) {
    throw new TurnError('ERR_INVALID_ARGUMENT', `ttlSeconds must be an integer in 1..${MAX_CREDENTIAL_TTL_SECONDS}, got ${ttlSeconds}`)
  }
  if (!Number.isFinite(now) || now < 0) throw new TurnError('ERR_INVALID_ARGUMENT', `now must be milliseconds since the epoch, got ${now}`)
  const expirySeconds = Math.floor(now / 1000) + ttlSeconds
  const username = grant === undefined ? `${expirySeconds}:${user}` : `${expirySeconds}:${user}:${grant}`
  const credentials: TurnCredentials = { username, password: turnPassword(secret, username), expiresAt: expirySeconds * 1000, user }
  if (grant !== undefined) credentials.grant = grant
  return credentials
}

/** Parses a credential username; `expired` says whether its expiry is at or before `now` (ms). */
export function parseTurnUsername (username: string, now: number): TurnUsernameCheck {
  const match = USERNAME_PATTERN.exec(username)
  if (match === null) return { ok: false, reason: 'username is not "<expiry>:<user>"' }
  const [user, grant, ...more] = (match[2] as string).split(':') as [string, string | undefined]
  if (!USER_PATTERN.test(user)) return { ok: false, reason: 'username has an invalid user part' }
  if (more.length > 0 || (grant !== undefined && !GRANT_PATTERN.test(grant))) return { ok: false, reason: 'username has an invalid grant part' }
  const expiresAt = Number(match[1]) * 1000
  return grant === undefined ? { ok: true, user, expiresAt, expired: expiresAt <= now } : { ok: true, user, grant, expiresAt, expired: expiresAt <= now }
}

/**
 * Checks a username/password pair as a client would present it out of band (the TURN server
 * itself never sees passwords: it checks MESSAGE-INTEGRITY with the key derived from them).
 */
export function verifyTurnCredentials (secret: TurnSecret, username: string, password: string, now: number): TurnUsernameCheck {
  const parsed = parseTurnUsername(username, now)
  if (!parsed.ok) return parsed
  const expected = Buffer.from(turnPassword(secret, username))
  const given = Buffer.from(password)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'wrong password' }
  if (parsed.expired) return { ok: false, reason: `credentials expired at ${new Date(parsed.expiresAt).toISOString()}` }
  return parsed
}
