// The web client through inject() (web.ts, app.ts): the page's files, the trade of a one-time
// login token for a session token (a header, not a cookie), and the Host / Origin / session checks on a page's requests,
// beside the bearer token that works as before.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { buildControlApp, type ControlApp } from '../../node/control/app.js'
import { WEB_LOGIN_TOKEN_TTL_MS, WEB_SESSION_HEADER, WEB_SESSION_IDLE_MS } from '../../node/control/constants.js'
import { WebAccess } from '../../node/control/web-access.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { FakeNodeApi } from './fake-node-api.js'
import { AUTH, closeAll, startFakeNode, TOKEN } from './helpers.js'
import { waitUntil } from '../helpers/wait.js'

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

/** A signed-in page's session token. */
async function signIn (): Promise<string> {
  const res = await startSession(await loginToken())
  expect(res.statusCode).toBe(200)
  return res.json().session
}

/** The headers of a page's request: its Host, its Origin, its session. */
const page = (session: string, extra: Record<string, string> = {}): Record<string, string> => ({ host: HOST, origin: ORIGIN, [WEB_SESSION_HEADER]: session, ...extra })

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
  it('trades a login token for a session token (no cookie) that opens /v1/ when sent as a header', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/web/login-tokens', headers: AUTH })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ token: expect.any(String), validSeconds: WEB_LOGIN_TOKEN_TTL_MS / 1000 })
    const session = await startSession(res.json().token)
    expect(session.statusCode).toBe(200)
    expect(session.headers['set-cookie']).toBeUndefined()
    const value = session.json().session as string
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const status = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: HOST, [WEB_SESSION_HEADER]: value } })
    expect(status.headers['cache-control']).toBe('no-store')
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

  it('makes no login token for a page: the session alone gets 403', async () => {
    const session = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/web/login-tokens', headers: page(session) })
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
  it('a wrong Host gets 421 even with a valid session', async () => {
    const session = await signIn()
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: 'evil.example:8080', [WEB_SESSION_HEADER]: session } })
    expect(res.statusCode).toBe(421)
    expect(res.json().error.code).toBe('wrong_host')
    expect(api.invocations).not.toContain('status')
  })

  it('a POST with a session but Origin http://evil.example gets 403', async () => {
    const session = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: page(session, { origin: 'http://evil.example' }), payload: { to: 'bob', text: 'hi' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('wrong_origin')
    expect(api.sent).toEqual([])
  })

  it('a POST with a session and no Origin gets 403', async () => {
    const session = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: { host: HOST, [WEB_SESSION_HEADER]: session }, payload: { to: 'bob', text: 'hi' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().error.code).toBe('wrong_origin')
    expect(api.sent).toEqual([])
  })

  it('a GET with a session but a foreign Origin gets 403', async () => {
    const session = await signIn()
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: page(session, { origin: 'http://evil.example' }) })
    expect(res.statusCode).toBe(403)
  })

  it('a POST with the session and the page\'s Origin goes through', async () => {
    const session = await signIn()
    const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: page(session), payload: { to: 'bob', text: 'hi' } })
    expect(res.statusCode).toBe(200)
    expect(api.sent).toEqual([{ to: 'bob', text: 'hi' }])
  })

  it('GET /v1/status without a session gets 401 no_session; a made-up one too', async () => {
    for (const headers of [{ host: HOST }, { host: HOST, [WEB_SESSION_HEADER]: 'made-up' }, { host: HOST, [WEB_SESSION_HEADER]: '' }]) {
      const res = await app.inject({ method: 'GET', url: '/v1/status', headers })
      expect(res.statusCode).toBe(401)
      expect(res.json().error.code).toBe('no_session')
    }
    expect(api.invocations).toEqual([])
  })

  it('a session unused for 12 h no longer works', async () => {
    const session = await signIn()
    clock.advance(WEB_SESSION_IDLE_MS)
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: HOST, [WEB_SESSION_HEADER]: session } })
    expect(res.statusCode).toBe(401)
  })

  it('after POST /v1/web/logout the session no longer works', async () => {
    const session = await signIn()
    const out = await app.inject({ method: 'POST', url: '/v1/web/logout', headers: page(session) })
    expect(out.statusCode).toBe(200)
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { host: HOST, [WEB_SESSION_HEADER]: session } })
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

  it('a wrong bearer token gets 401 invalid_token, even with a valid session', async () => {
    const session = await signIn()
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { ...page(session), authorization: 'Bearer not-the-token' } })
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

describe('a web client listening on every address (--web 0.0.0.0:PORT)', () => {
  afterEach(closeAll)

  it('prints a loopback link, answers as each address of the machine, and refuses other Host names', async () => {
    const { server } = await startFakeNode({ listen: '0.0.0.0:0', web: true })
    const { port } = new URL(server.url)
    expect(server.url).toBe(`http://127.0.0.1:${port}`)
    const ok = await fetch(`${server.url}/`)
    expect(ok.status).toBe(200)
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      expect((await server.app.inject({ method: 'GET', url: '/', headers: { host } })).statusCode, host).toBe(200)
    }
    expect((await server.app.inject({ method: 'GET', url: '/', headers: { host: `evil.example:${port}` } })).statusCode).toBe(421)
    expect((await server.app.inject({ method: 'GET', url: '/', headers: { host: `0.0.0.0:${port}` } })).statusCode).toBe(421)
  })

  it('is refused without --web: the control API alone listens on loopback only', async () => {
    await expect(startFakeNode({ listen: '0.0.0.0:0' })).rejects.toThrow(/only listens on loopback/)
  })
})

describe('a page\'s event stream', () => {
  afterEach(closeAll)

  /** A node serving the web client on a real socket, and a page's session on it (as `voxmesh open` and the page get one). */
  async function signedInPage () {
    const { api: node, server } = await startFakeNode({ listen: '127.0.0.1:0', web: true })
    const origin = `http://${new URL(server.url).host}`
    const { token } = await (await fetch(`${server.url}/v1/web/login-tokens`, { method: 'POST', headers: AUTH })).json() as { token: string }
    const { session } = await (await fetch(`${server.url}/web/session`, {
      method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ token })
    })).json() as { session: string }
    return { node, server, origin, session }
  }

  /** Opens GET /v1/events with `headers`; `seen()` is its text so far, `ended` settles when the node ends it. */
  async function openStream (url: string, headers: Record<string, string>): Promise<{ status: number, seen: () => string, ended: Promise<void> }> {
    const response = await fetch(`${url}/v1/events`, { headers })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let text = ''
    const ended = (async () => { for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true }) })()
    ended.catch(() => {})
    return { status: response.status, seen: () => text, ended }
  }

  it('ends when its session does: nothing said after logout reaches it', async () => {
    const { node, server, origin, session } = await signedInPage()
    const stream = await openStream(server.url, { [WEB_SESSION_HEADER]: session })
    expect(stream.status).toBe(200)
    node.emit({ event: 'presence', user: 'bob', status: 'online' })
    await waitUntil(() => `the first event; seen: ${stream.seen()}`, () => stream.seen().includes('"bob"'), 5000)
    const out = await fetch(`${server.url}/v1/web/logout`, { method: 'POST', headers: { origin, [WEB_SESSION_HEADER]: session } })
    expect(out.status).toBe(200)
    node.emit({ event: 'message', from: 'bob', id: 'm1', text: 'said after logout', sentAt: 1, writtenAt: 1 })
    // The stream ends instead of carrying it.
    await stream.ended
    expect(stream.seen()).not.toContain('said after logout')
  })

  it('carries a page\'s media steps (they hold relay credentials) to web sessions only, not to the bearer token\'s streams', async () => {
    const { node, server, session } = await signedInPage()
    const page = await openStream(server.url, { [WEB_SESSION_HEADER]: session })
    const cli = await openStream(server.url, AUTH)
    node.emit({ event: 'browser-media', page: 'page-aaaa', callId: 'c1', step: 'offer', relayOnly: false, iceServers: [{ urls: 'turn:198.18.0.1:3478?transport=udp', username: 'u', credential: 'secret-credential' }] })
    node.emit({ event: 'presence', user: 'bob', status: 'away' })
    await waitUntil(() => `both streams to see bob; page: ${page.seen()} cli: ${cli.seen()}`, () => page.seen().includes('"away"') && cli.seen().includes('"away"'), 5000)
    expect(page.seen()).toContain('secret-credential')
    expect(cli.seen()).not.toContain('browser-media')
  })
})
