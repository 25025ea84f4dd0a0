import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { issueTurnCredentials, parseTurnUsername, turnPassword, verifyTurnCredentials } from '../../node/relay/credentials.js'
import { TurnError } from '../../node/relay/errors.js'

const NOW = 1_800_000_000_500

describe('TURN REST API credentials', () => {
  it('username is "<expiry seconds>:<user>", password is base64(HMAC-SHA1(secret, username))', () => {
    const credentials = issueTurnCredentials('s3cret', 'alice', 600, NOW)
    expect(credentials.username).toBe('1800000600:alice')
    expect(credentials.password).toBe(createHmac('sha1', 's3cret').update('1800000600:alice').digest('base64'))
    expect(credentials.password).toBe(turnPassword('s3cret', credentials.username))
    expect(credentials.expiresAt).toBe(1_800_000_600_000)
    expect(credentials.user).toBe('alice')
  })

  it('verifies until the expiry, then says they expired', () => {
    const { username, password } = issueTurnCredentials('s3cret', 'alice', 600, NOW)
    expect(verifyTurnCredentials('s3cret', username, password, NOW)).toEqual({ ok: true, user: 'alice', expiresAt: 1_800_000_600_000, expired: false })
    expect(verifyTurnCredentials('s3cret', username, password, 1_800_000_599_999).ok).toBe(true)
    const expired = verifyTurnCredentials('s3cret', username, password, 1_800_000_600_000)
    expect(expired).toEqual({ ok: false, reason: 'credentials expired at 2027-01-15T08:10:00.000Z' })
  })

  it('refuses a wrong password, a wrong secret and a tampered username', () => {
    const { username, password } = issueTurnCredentials('s3cret', 'alice', 600, NOW)
    expect(verifyTurnCredentials('s3cret', username, `${password}x`, NOW)).toEqual({ ok: false, reason: 'wrong password' })
    expect(verifyTurnCredentials('other', username, password, NOW)).toEqual({ ok: false, reason: 'wrong password' })
    expect(verifyTurnCredentials('s3cret', '1900000000:alice', password, NOW)).toEqual({ ok: false, reason: 'wrong password' })
    expect(verifyTurnCredentials('s3cret', username.replace('alice', 'mallory'), password, NOW)).toEqual({ ok: false, reason: 'wrong password' })
  })

  it('parses usernames and says what is wrong with bad ones', () => {
    expect(parseTurnUsername('1800000600:bob@device-1', NOW)).toEqual({ ok: true, user: 'bob@device-1', expiresAt: 1_800_000_600_000, expired: false })
    expect(parseTurnUsername('100:bob', NOW)).toMatchObject({ ok: true, expired: true })
    expect(parseTurnUsername('alice', NOW)).toEqual({ ok: false, reason: 'username is not "<expiry>:<user>"' })
    expect(parseTurnUsername('abc:alice', NOW).ok).toBe(false)
    expect(parseTurnUsername('1800000600:', NOW)).toEqual({ ok: false, reason: 'username has an invalid user part' })
    expect(parseTurnUsername('1800000600:has space', NOW).ok).toBe(false)
    expect(parseTurnUsername(`1800000600:${'x'.repeat(129)}`, NOW).ok).toBe(false)
    expect(parseTurnUsername('1234567890123:alice', NOW).ok).toBe(false)
  })

  it('names a grant as a third part: "<expiry>:<user>:<grant>", signed like the rest', () => {
    const credentials = issueTurnCredentials('s3cret', 'alice', 600, NOW, 'Gr4nt_id-x')
    expect(credentials).toMatchObject({ username: '1800000600:alice:Gr4nt_id-x', user: 'alice', grant: 'Gr4nt_id-x' })
    expect(verifyTurnCredentials('s3cret', credentials.username, credentials.password, NOW)).toEqual({ ok: true, user: 'alice', grant: 'Gr4nt_id-x', expiresAt: 1_800_000_600_000, expired: false })
    // Another grant under the same password does not verify.
    expect(verifyTurnCredentials('s3cret', '1800000600:alice:other', credentials.password, NOW)).toEqual({ ok: false, reason: 'wrong password' })
    expect(parseTurnUsername('1800000600:alice:a:b', NOW)).toEqual({ ok: false, reason: 'username has an invalid grant part' })
    expect(parseTurnUsername('1800000600:alice:', NOW)).toEqual({ ok: false, reason: 'username has an invalid grant part' })
    expect(parseTurnUsername('1800000600:alice:g+/=', NOW).ok).toBe(false)
    expect(() => issueTurnCredentials('s', 'alice', 600, NOW, 'bad grant')).toThrow(/grant/)
    expect(() => issueTurnCredentials('s', 'alice', 600, NOW, 'x'.repeat(44))).toThrow(/grant/)
    expect(() => issueTurnCredentials('s', 'al:ice', 600, NOW)).toThrow(/':'/)
  })

  it('refuses to issue what it could not verify', () => {
    expect(() => issueTurnCredentials('', 'alice', 600, NOW)).toThrow(TurnError)
    expect(() => issueTurnCredentials('s', 'with space', 600, NOW)).toThrow(/printable ASCII/)
    expect(() => issueTurnCredentials('s', 'alice', 0, NOW)).toThrow(/ttlSeconds/)
    expect(() => issueTurnCredentials('s', 'alice', 86_401, NOW)).toThrow(/ttlSeconds/)
    expect(() => issueTurnCredentials('s', 'alice', 1.5, NOW)).toThrow(/ttlSeconds/)
    expect(() => issueTurnCredentials('s', 'alice', 60, Number.NaN)).toThrow(/now/)
  })
})
