// Who may use the web client (web-access.ts), on a manual clock: one-time login tokens that
// expire and are bounded in number, sessions that expire when idle and are bounded too.
import { describe, expect, it } from 'vitest'
import { MAX_WEB_LOGIN_TOKENS, MAX_WEB_SESSIONS, WEB_LOGIN_TOKEN_TTL_MS, WEB_SESSION_IDLE_MS, WEB_TOKEN_BYTES } from '../../node/control/constants.js'
import { WebAccess } from '../../node/control/web-access.js'
import { FakeClock } from '../../node/net/fake-clock.js'

function setup (): { clock: FakeClock, access: WebAccess } {
  const clock = new FakeClock()
  return { clock, access: new WebAccess({ clock }) }
}

/** A live session, from a fresh login token. */
function signIn (access: WebAccess): string {
  const session = access.startSession(access.issueLoginToken())
  if (session === undefined) throw new Error('a fresh login token did not start a session')
  return session
}

describe('web login tokens', () => {
  it('the bounds are the ones the brief names', () => {
    expect(WEB_LOGIN_TOKEN_TTL_MS).toBe(60_000)
    expect(MAX_WEB_LOGIN_TOKENS).toBe(8)
    expect(WEB_SESSION_IDLE_MS).toBe(12 * 60 * 60 * 1000)
    expect(MAX_WEB_SESSIONS).toBe(16)
  })

  it('a token works once', () => {
    const { access } = setup()
    const token = access.issueLoginToken()
    const session = access.startSession(token)
    expect(session).toBeTypeOf('string')
    expect(session).not.toBe(token)
    expect(access.checkSession(session as string)).toBe(true)
    expect(access.startSession(token)).toBeUndefined()
  })

  it('tokens and sessions are WEB_TOKEN_BYTES of randomness, base64url, and differ each time', () => {
    const { access } = setup()
    const tokens = new Set(Array.from({ length: 5 }, () => access.issueLoginToken()))
    expect(tokens.size).toBe(5)
    for (const token of tokens) expect(token).toMatch(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil(WEB_TOKEN_BYTES * 4 / 3)}}$`))
  })

  it('uses the injected randomness', () => {
    const clock = new FakeClock()
    let next = 0
    const access = new WebAccess({ clock, randomBytes: n => new Uint8Array(n).fill(next++) })
    expect(access.issueLoginToken()).toBe(Buffer.alloc(WEB_TOKEN_BYTES, 0).toString('base64url'))
    expect(access.startSession(Buffer.alloc(WEB_TOKEN_BYTES, 0).toString('base64url'))).toBe(Buffer.alloc(WEB_TOKEN_BYTES, 1).toString('base64url'))
  })

  it('a token is good until just before 60 s', () => {
    const { clock, access } = setup()
    const token = access.issueLoginToken()
    clock.advance(WEB_LOGIN_TOKEN_TTL_MS - 1)
    expect(access.startSession(token)).toBeTypeOf('string')
  })

  it('a token after 60 s fails, and is used up even so', () => {
    const { clock, access } = setup()
    const token = access.issueLoginToken()
    clock.advance(WEB_LOGIN_TOKEN_TTL_MS)
    expect(access.startSession(token)).toBeUndefined()
    expect(access.startSession(token)).toBeUndefined()
  })

  it('the 9th pending token drops the first; the others still work', () => {
    const { access } = setup()
    const tokens = Array.from({ length: MAX_WEB_LOGIN_TOKENS + 1 }, () => access.issueLoginToken())
    expect(access.startSession(tokens[0] as string)).toBeUndefined()
    for (const token of tokens.slice(1)) expect(access.startSession(token)).toBeTypeOf('string')
  })

  it('8 pending tokens all work (the bound is not off by one)', () => {
    const { access } = setup()
    const tokens = Array.from({ length: MAX_WEB_LOGIN_TOKENS }, () => access.issueLoginToken())
    for (const token of tokens) expect(access.startSession(token)).toBeTypeOf('string')
  })

  it('an unknown token fails', () => {
    const { access } = setup()
    access.issueLoginToken()
    expect(access.startSession('no-such-token')).toBeUndefined()
    expect(access.startSession('')).toBeUndefined()
  })

  it('a session cookie is no login token', () => {
    const { access } = setup()
    const session = signIn(access)
    expect(access.startSession(session)).toBeUndefined()
  })
})

describe('web sessions', () => {
  it('expire after 12 h idle', () => {
    const { clock, access } = setup()
    const session = signIn(access)
    clock.advance(WEB_SESSION_IDLE_MS)
    expect(access.checkSession(session)).toBe(false)
    // Checking an expired session does not revive it.
    expect(access.checkSession(session)).toBe(false)
  })

  it('using one keeps it alive for another 12 h', () => {
    const { clock, access } = setup()
    const session = signIn(access)
    for (let i = 0; i < 3; i++) {
      clock.advance(WEB_SESSION_IDLE_MS - 1)
      expect(access.checkSession(session), `use ${i + 1}`).toBe(true)
    }
    clock.advance(WEB_SESSION_IDLE_MS)
    expect(access.checkSession(session)).toBe(false)
  })

  it('the 17th session drops the least recently used, not the oldest', () => {
    const { access } = setup()
    const sessions = Array.from({ length: MAX_WEB_SESSIONS }, () => signIn(access))
    // The oldest is used again, so the second oldest is now the least recently used.
    expect(access.checkSession(sessions[0] as string)).toBe(true)
    const newest = signIn(access)
    expect(access.checkSession(sessions[1] as string)).toBe(false)
    expect(access.checkSession(sessions[0] as string)).toBe(true)
    expect(access.checkSession(newest)).toBe(true)
    for (const session of sessions.slice(2)) expect(access.checkSession(session)).toBe(true)
  })

  it('16 sessions all stay live (the bound is not off by one)', () => {
    const { access } = setup()
    const sessions = Array.from({ length: MAX_WEB_SESSIONS }, () => signIn(access))
    for (const session of sessions) expect(access.checkSession(session)).toBe(true)
  })

  it('endSession ends it, and only it', () => {
    const { access } = setup()
    const one = signIn(access)
    const other = signIn(access)
    access.endSession(one)
    expect(access.checkSession(one)).toBe(false)
    expect(access.checkSession(other)).toBe(true)
    expect(() => { access.endSession('no-such-session') }).not.toThrow()
  })

  it('an unknown session fails, and so does a login token', () => {
    const { access } = setup()
    signIn(access)
    const token = access.issueLoginToken()
    expect(access.checkSession('no-such-session')).toBe(false)
    expect(access.checkSession('')).toBe(false)
    expect(access.checkSession(token)).toBe(false)
  })
})
