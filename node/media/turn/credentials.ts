// Short-lived TURN credentials in the widely used "TURN REST API" style (coturn's
// use-auth-secret / static-auth-secret, the IETF draft-uberti-behave-turn-rest):
//
//   username = `${expiryUnixSeconds}:${user}`
//   password = base64(HMAC-SHA1(secret, username))
//
// The supernode issues them to the hosts it serves over the encrypted overlay link; the TURN
// server needs only the secret to check them, so it keeps no per-user state. Any standard
// TURN client uses them as an ordinary long-term credential (-u/-w).
import { createHmac, timingSafeEqual } from 'node:crypto'
import { MAX_CREDENTIAL_TTL_SECONDS, MAX_CREDENTIAL_USER_LENGTH } from './constants.js'
import { TurnError } from './errors.js'

export interface TurnCredentials {
  /** `${expiryUnixSeconds}:${user}` */
  username: string
  /** base64(HMAC-SHA1(secret, username)) */
  password: string
  /** Expiry in milliseconds since the epoch (a whole second). */
  expiresAt: number
  /** The user the credentials were issued to. */
  user: string
}

export type TurnUsernameCheck =
  | { ok: true, user: string, expiresAt: number, expired: boolean }
  | { ok: false, reason: string }

const USER_PATTERN = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CREDENTIAL_USER_LENGTH}}$`)
const USERNAME_PATTERN = /^(\d{1,12}):(.*)$/s

export type TurnSecret = string | Uint8Array

/** The password of a credential username: base64(HMAC-SHA1(secret, username)). */
export function turnPassword (secret: TurnSecret, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64')
}

/**
 * Credentials for `user`, valid `ttlSeconds` from `now` (milliseconds since the epoch, as
 * Clock.now() gives). `user` is printable ASCII without spaces (a username or device id).
 */
export function issueTurnCredentials (secret: TurnSecret, user: string, ttlSeconds: number, now: number): TurnCredentials {
  if (secret.length === 0) throw new TurnError('ERR_INVALID_ARGUMENT', 'the TURN secret is empty')
  if (!USER_PATTERN.test(user)) throw new TurnError('ERR_INVALID_ARGUMENT', `user must be 1..${MAX_CREDENTIAL_USER_LENGTH} printable ASCII characters without spaces`)
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_CREDENTIAL_TTL_SECONDS) {
    throw new TurnError('ERR_INVALID_ARGUMENT', `ttlSeconds must be an integer in 1..${MAX_CREDENTIAL_TTL_SECONDS}, got ${ttlSeconds}`)
  }
  if (!Number.isFinite(now) || now < 0) throw new TurnError('ERR_INVALID_ARGUMENT', `now must be milliseconds since the epoch, got ${now}`)
  const expirySeconds = Math.floor(now / 1000) + ttlSeconds
  const username = `${expirySeconds}:${user}`
  return { username, password: turnPassword(secret, username), expiresAt: expirySeconds * 1000, user }
}

/** Parses a credential username; `expired` says whether its expiry is at or before `now` (ms). */
export function parseTurnUsername (username: string, now: number): TurnUsernameCheck {
  const match = USERNAME_PATTERN.exec(username)
  if (match === null) return { ok: false, reason: 'username is not "<expiry>:<user>"' }
  const user = match[2] as string
  if (!USER_PATTERN.test(user)) return { ok: false, reason: 'username has an invalid user part' }
  const expiresAt = Number(match[1]) * 1000
  return { ok: true, user, expiresAt, expired: expiresAt <= now }
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
