// The web client through inject() (web.ts, app.ts): the page's files, the trade of a one-time
// login token for a session cookie, and the Host / Origin / session checks on a page's requests,
// beside the bearer token that works as before.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { buildControlApp, type ControlApp } from '../../node/control/app.js'
import { WEB_LOGIN_TOKEN_TTL_MS, WEB_SESSION_COOKIE, WEB_SESSION_IDLE_MS } from '../../node/control/constants.js'
import { WebAccess } from '../../node/control/web-access.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { FakeNodeApi } from './fake-node-api.js'
import { AUTH, TOKEN } from './helpers.js'

const HOST = '127.0.0.1:8080'
const ORIGIN = `http://${HOST}`
const ALLOWED_HOSTS = [HOST, 'localhost:8080']

let api: FakeNodeApi
let clock: FakeClock
let app: ControlApp

beforeEach(() => {
  api = new FakeNodeApi('alice')
  clock = new FakeClock()
  app = buildControlApp(api, TOKEN, { web: { access: new WebAccess({ clock }), allowedHosts: () => ALLOWED_HOSTS } })
})
afterEach(async () => {
  await app.close()
  await api.close()
})

function setCookieOf (res: LightMyRequestResponse): string {
  const header = res.headers['set-cookie']
  const value = Array.isArray(header) ? header.join('\n') : header
  if (value === undefined) throw new Error('no set-cookie header')
  return value
}

/** `voxmesh open`: a login token, made with the control token. */
async function loginToken (): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/web/login-tokens', headers: AUTH })
  expect(res.statusCode).toBe(200)
  return res.json().token
}

/** The page trades a login token for its session; answers the response. */
async function startSession (token: string, headers: Record<string, string> = { host: HOST, origin: ORIGIN }): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/web/session', headers, payload: { token } })
}

/** A signed-in page's cookie header (`name=value`). */
async function signIn (): Promise<string> {
  const res = await startSession(await loginToken())
  expect(res.statusCode).toBe(200)
  const match = new RegExp(`${WEB_SESSION_COOKIE}=([^;]+)`).exec(setCookieOf(res))
  if (match === null) throw new Error('no session cookie')
  return `${WEB_SESSION_COOKIE}=${match[1] as string}`
}

const page = (cookie: string, extra: Record<string, string> = {}): Record<string, string> => ({ host: HOST, origin: ORIGIN, cookie, ...extra })

describe('the page\'s files', () => {
  it('GET / returns the page with its security headers, without a session', async () => {
    const res = await app.inject({ method: 'GET', url: '/', headers: { host: HOST } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.headers['content-security-policy']).toContain("default-src 'self'")
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(res.body).toContain('<!doctype html>')
    expect(api.invocations).toEqual([])
  })

  it('serves the style sheet and the scripts, also as localhost', async () => {
    for (const url of ['/style.css', '/js/app.js']) {
      const res = await app.inject({ method: 'GET', url, headers: { host: 'localhost:8080' } })
      expect(res.statusCode, url).toBe(200)
    }
  })

  it('serves uPlot.esm.js from /vendor/ but no other file of uPlot\'s', async () => {
    const esm = await app.inject({ method: 'GET', url: '/vendor/uPlot.esm.js', headers: { host: HOST } })
    expect(esm.statusCode).toBe(200)
    expect(esm.headers['content-type']).toMatch(/javascript/)
    const css = await app.inject({ method: 'GET', url: '/vendor/uPlot.min.css', headers: { host: HOST } })
    expect(css.statusCode).toBe(200)
    for (const url of ['/vendor/uPlot.cjs.js', '/vendor/uPlot.iife.js', '/vendor/../package.json']) {
      const res = await app.inject({ method: 'GET', url, headers: { host: HOST } })
      expect(res.statusCode, url).toBe(404)
    }
  })

  it('answers 421 to the page asked for under another Host (DNS rebinding)', async () => {
    const res = await app.inject({ method: 'GET', url: '/', headers: { host: 'evil.example:8080' } })
    expect(res.statusCode).toBe(421)
    expect(res.json().error.code).toBe('wrong_host')
  })
})

describe('signing in', () => {
  it('trades a login token for an HttpOnly, SameSite=Strict session cookie that opens /v1/', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/web/login-tokens', headers: AUTH })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ token: expect.any(String), validSeconds: WEB_LOGIN_TOKEN_TTL_MS / 1000 })
    const session = await startSession(res.json().token)
    expect(session.statusCode).toBe(200)
    const cookie = setCookieOf(session)
    expect(cookie).toMatch(new RegExp(`^${WEB_SESSION_COOKIE}=[A-Za-z0-9_-]+;`))
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Strict')
    const value = /=([^;]+)/.exec(cookie)?.[1] as string
    const status = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: HOST, cookie: `${WEB_SESSION_COOKIE}=${value}` } })
    expect(status.statusCode).toBe(200)
    expect(status.json().user).toBe('alice')
    expect(api.invocations).toContain('status')
  })

  it('takes a login token once: the same token again gets 401 invalid_token', async () => {
    const token = await loginToken()
    expect((await startSession(token)).statusCode).toBe(200)
    const again = await startSession(token)
    expect(again.statusCode).toBe(401)
    expect(again.json().error.code).toBe('invalid_token')
    expect(again.headers['set-cookie']).toBeUndefined()
  })

  it('refuses a login token older than a minute', async () => {
    const token = await loginToken()
    clock.advance(WEB_LOGIN_TOKEN_TTL_MS)
    const res = await startSession(token)
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('invalid_token')
  })

  it('refuses a sign-in from another Origin, or without one, and leaves the token unused', async () => {
    const token = await loginToken()
    const evil = await startSession(token, { host: HOST, origin: 'http://evil.example' })
    expect(evil.statusCode).toBe(403)
    expect(evil.json().error.code).toBe('wrong_origin')
    const none = await startSession(token, { host: HOST })
    expect(none.statusCode).toBe(403)
    expect((await startSession(token)).statusCode).toBe(200)
  })

  it('makes no login token for a page: the session cookie alone gets 403', async () => {
    const cookie = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/web/login-tokens', headers: page(cookie) })
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('forbidden')
    expect(res.json().token).toBeUndefined()
  })

  it('makes no login token without any credential', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/web/login-tokens', headers: { host: HOST, origin: ORIGIN } })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('no_session')
  })
})

describe('a page\'s requests', () => {
  it('a wrong Host gets 421 even with a valid cookie', async () => {
    const cookie = await signIn()
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: 'evil.example:8080', cookie } })
    expect(res.statusCode).toBe(421)
    expect(res.json().error.code).toBe('wrong_host')
    expect(api.invocations).not.toContain('status')
  })

  it('a POST with a cookie but Origin http://evil.example gets 403', async () => {
    const cookie = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: page(cookie, { origin: 'http://evil.example' }), payload: { to: 'bob', text: 'hi' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('wrong_origin')
    expect(api.sent).toEqual([])
  })

  it('a POST with a cookie and no Origin gets 403', async () => {
    const cookie = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: { host: HOST, cookie }, payload: { to: 'bob', text: 'hi' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('wrong_origin')
    expect(api.sent).toEqual([])
  })

  it('a GET with a cookie but a foreign Origin gets 403', async () => {
    const cookie = await signIn()
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: page(cookie, { origin: 'http://evil.example' }) })
    expect(res.statusCode).toBe(403)
  })

  it('a POST with the cookie and the page\'s Origin goes through', async () => {
    const cookie = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: page(cookie), payload: { to: 'bob', text: 'hi' } })
    expect(res.statusCode).toBe(200)
    expect(api.sent).toEqual([{ to: 'bob', text: 'hi' }])
  })

  it('GET /v1/status without a cookie gets 401 no_session; a made-up cookie too', async () => {
    for (const headers of [{ host: HOST }, { host: HOST, cookie: `${WEB_SESSION_COOKIE}=made-up` }, { host: HOST, cookie: `${WEB_SESSION_COOKIE}=` }]) {
      const res = await app.inject({ method: 'GET', url: '/v1/status', headers })
      expect(res.statusCode).toBe(401)
      expect(res.json().error.code).toBe('no_session')
    }
    expect(api.invocations).toEqual([])
  })

  it('a session unused for 12 h no longer works', async () => {
    const cookie = await signIn()
    clock.advance(WEB_SESSION_IDLE_MS)
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: HOST, cookie } })
    expect(res.statusCode).toBe(401)
  })

  it('after POST /v1/web/logout the cookie no longer works', async () => {
    const cookie = await signIn()
    const out = await app.inject({ method: 'POST', url: '/v1/web/logout', headers: page(cookie) })
    expect(out.statusCode).toBe(200)
    expect(setCookieOf(out)).toMatch(new RegExp(`^${WEB_SESSION_COOKIE}=;.*Max-Age=0`))
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: HOST, cookie } })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('no_session')
  })

  // fastify routes a %-encoded path by its decoded form: the check must look at the route, not the raw URL.
  it('a %-encoded /v1/ path needs a session like the plain one', async () => {
    for (const url of ['/%761/status', '/%76%31/contacts', '/v%31/messages?with=bob', '/%761/calls']) {
      const res = await app.inject({ method: 'GET', url, headers: { host: HOST } })
      expect(res.statusCode, url).not.toBe(200)
    }
    expect(api.invocations).toEqual([])
  })
})

describe('the bearer token beside the web client', () => {
  it('works on /v1/status as before, whatever the Host', async () => {
    for (const host of [HOST, 'evil.example:8080']) {
      const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { ...AUTH, host } })
      expect(res.statusCode, host).toBe(200)
    }
  })

  it('a wrong bearer token gets 401 invalid_token, even with a valid cookie', async () => {
    const cookie = await signIn()
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { ...page(cookie), authorization: 'Bearer not-the-token' } })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('invalid_token')
  })

  it('without the web option: GET / needs the bearer and /web/session does not exist', async () => {
    const plain = buildControlApp(api, TOKEN)
    try {
      const root = await plain.inject({ method: 'GET', url: '/', headers: { host: HOST } })
      expect(root.statusCode).toBe(401)
      expect(root.json().error.code).toBe('invalid_token')
      const session = await plain.inject({ method: 'POST', url: '/web/session', headers: { host: HOST, origin: ORIGIN }, payload: { token: 'x' } })
      expect(session.statusCode).toBe(401)
      expect(session.headers['set-cookie']).toBeUndefined()
      const withBearer = await plain.inject({ method: 'POST', url: '/web/session', headers: AUTH, payload: { token: 'x' } })
      expect(withBearer.statusCode).toBe(404)
      const tokens = await plain.inject({ method: 'POST', url: '/v1/web/login-tokens', headers: AUTH })
      expect(tokens.statusCode).toBe(404)
    } finally {
      await plain.close()
    }
  })
})
