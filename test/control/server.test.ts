// The control API through inject(): the token on every route, each route
// against the fake node, schema bounds, and how errors map to HTTP.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UserError } from '../../common/user-error.js'
import { LoginApiError } from '../../common/login-client.js'
import { buildControlApp, isLoopbackHost, startControlServer, type ControlApp } from '../../node/control/server.js'
import { MAX_MESSAGE_CHARS } from '../../node/control/constants.js'
import { FakeNodeApi } from './fake-node-api.js'
import { AUTH, TOKEN, closeAll } from './helpers.js'

let api: FakeNodeApi
let app: ControlApp

beforeEach(() => {
  api = new FakeNodeApi('alice')
  app = buildControlApp(api, TOKEN)
})
afterEach(async () => {
  await app.close()
  await closeAll()
})

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'
const ROUTES: Array<{ method: Method, url: string, payload?: object }> = [
  { method: 'GET', url: '/v1/status' },
  { method: 'GET', url: '/v1/balance' },
  { method: 'GET', url: '/v1/contacts' },
  { method: 'POST', url: '/v1/contacts', payload: { username: 'bob' } },
  { method: 'POST', url: '/v1/contacts/bob/accept' },
  { method: 'POST', url: '/v1/contacts/bob/decline' },
  { method: 'DELETE', url: '/v1/contacts/bob' },
  { method: 'POST', url: '/v1/blocks', payload: { username: 'bob' } },
  { method: 'DELETE', url: '/v1/blocks/bob' },
  { method: 'GET', url: '/v1/requests' },
  { method: 'PUT', url: '/v1/presence', payload: { status: 'away' } },
  { method: 'POST', url: '/v1/messages', payload: { to: 'bob', text: 'hi' } },
  { method: 'GET', url: '/v1/calls' },
  { method: 'POST', url: '/v1/calls', payload: { to: 'bob' } },
  { method: 'POST', url: '/v1/calls/answer', payload: {} },
  { method: 'POST', url: '/v1/calls/decline', payload: {} },
  { method: 'POST', url: '/v1/calls/hangup', payload: {} },
  { method: 'POST', url: '/v1/calls/mute', payload: { muted: true } },
  { method: 'GET', url: '/v1/events' },
  { method: 'GET', url: '/v1/no-such-route' }
]

describe('the control token', () => {
  const badHeaders: Array<[string, Record<string, string>]> = [
    ['no authorization header', {}],
    ['a wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('A') ? 'B' : 'A'}` }],
    ['a token of another length', { authorization: 'Bearer short' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['the bare token', { authorization: TOKEN }]
  ]
  for (const [what, headers] of badHeaders) {
    it(`answers 401 to ${what} on every route, without calling the node`, async () => {
      for (const route of ROUTES) {
        const res = await app.inject({ ...route, headers })
        expect(res.statusCode, `${route.method} ${route.url}`).toBe(401)
        expect(res.json().error.code).toBe('invalid_token')
        expect(res.headers['www-authenticate']).toContain('Bearer')
      }
      expect(api.invocations).toEqual([])
    })
  }

  it('accepts the scheme in any case', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: `bearer ${TOKEN}` } })
    expect(res.statusCode).toBe(200)
  })

  it('refuses to build with an empty or short token', () => {
    expect(() => buildControlApp(api, '')).toThrow(/at least/)
    expect(() => buildControlApp(api, 'abc')).toThrow(/at least/)
  })
})

describe('routes', () => {
  it('GET /v1/status returns the node status', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: AUTH })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ user: 'alice', role: 'host', supernode: { user: 'sn1', address: '127.0.0.1:7801' }, uptimeSeconds: 3723 })
  })

  it('GET /v1/balance returns the node\'s credit as the login server keeps it', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/balance', headers: AUTH })
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 200, body: { balance: 1234, currency: 'EUR' } })
  })

  it('GET /v1/status keeps fields the schema does not declare', async () => {
    const extended = new FakeNodeApi('alice', { calls: 2 } as object)
    const extendedApp = buildControlApp(extended, TOKEN)
    const res = await extendedApp.inject({ method: 'GET', url: '/v1/status', headers: AUTH })
    expect(res.json().calls).toBe(2)
    await extendedApp.close()
  })

  it('GET /v1/contacts lists contacts with their status', async () => {
    api.addFakeContact('bob', 'online')
    api.addFakeContact('carol', 'away')
    const res = await app.inject({ method: 'GET', url: '/v1/contacts', headers: AUTH })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      contacts: [{ username: 'bob', status: 'online', since: 1_700_000_000, statusSince: null, statusSinceExact: false }, { username: 'carol', status: 'away', since: 1_700_000_000, statusSince: null, statusSinceExact: false }]
    })
  })

  it('POST /v1/contacts sends a request, with or without a message, and lower-cases the name', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/contacts', headers: AUTH, payload: { username: 'Bob', message: 'hi bob' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'pending' })
    const plain = await app.inject({ method: 'POST', url: '/v1/contacts', headers: AUTH, payload: { username: 'carol' } })
    expect(plain.json()).toEqual({ status: 'pending' })
    expect(api.invocations).toEqual(['addContact bob hi bob', 'addContact carol'])
  })

  it('POST /v1/contacts completes a request the other side sent', async () => {
    api.addIncomingRequest('dave')
    const res = await app.inject({ method: 'POST', url: '/v1/contacts', headers: AUTH, payload: { username: 'dave' } })
    expect(res.json()).toEqual({ status: 'accepted' })
    expect(api.contactMap.has('dave')).toBe(true)
  })

  it('POST /v1/contacts/:username/accept and /decline answer requests', async () => {
    api.addIncomingRequest('bob')
    api.addIncomingRequest('carol')
    const accepted = await app.inject({ method: 'POST', url: '/v1/contacts/bob/accept', headers: AUTH })
    expect(accepted.statusCode).toBe(200)
    expect(accepted.json()).toEqual({ status: 'accepted' })
    const declined = await app.inject({ method: 'POST', url: '/v1/contacts/CAROL/decline', headers: AUTH })
    expect(declined.statusCode).toBe(200)
    expect(declined.json()).toEqual({ status: 'declined' })
    expect(api.incoming).toEqual([])
    expect([...api.contactMap.keys()]).toEqual(['bob'])
  })

  it('DELETE /v1/contacts/:username removes a contact (204)', async () => {
    api.addFakeContact('bob', 'online')
    const res = await app.inject({ method: 'DELETE', url: '/v1/contacts/bob', headers: AUTH })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect(api.contactMap.size).toBe(0)
  })

  it('POST /v1/blocks and DELETE /v1/blocks/:username block and unblock', async () => {
    const blocked = await app.inject({ method: 'POST', url: '/v1/blocks', headers: AUTH, payload: { username: 'mallory' } })
    expect(blocked.statusCode).toBe(204)
    expect(api.blocked.has('mallory')).toBe(true)
    const unblocked = await app.inject({ method: 'DELETE', url: '/v1/blocks/mallory', headers: AUTH })
    expect(unblocked.statusCode).toBe(204)
    expect(api.blocked.has('mallory')).toBe(false)
  })

  it('GET /v1/requests lists incoming and outgoing requests', async () => {
    api.addIncomingRequest('bob', 'hello')
    await api.addContact('carol')
    const res = await app.inject({ method: 'GET', url: '/v1/requests', headers: AUTH })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.incoming.map((r: { from: string }) => r.from)).toEqual(['bob'])
    expect(body.incoming[0].message).toBe('hello')
    expect(body.outgoing.map((r: { to: string }) => r.to)).toEqual(['carol'])
  })

  it('PUT /v1/presence sets each settable status', async () => {
    for (const status of ['away', 'busy', 'invisible', 'online'] as const) {
      const res = await app.inject({ method: 'PUT', url: '/v1/presence', headers: AUTH, payload: { status } })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ status })
      expect(api.presence).toBe(status)
    }
  })

  it('POST /v1/messages returns the send result: delivered, sent or queued', async () => {
    api.messageResults.set('carol', { status: 'sent', id: 'x1' })
    api.messageResults.set('dave', { status: 'queued', id: 'x2', reason: 'offline' })
    const delivered = await app.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload: { to: 'Bob', text: 'hi bob' } })
    expect(delivered.statusCode).toBe(200)
    expect(delivered.json()).toEqual({ status: 'delivered', id: 'm1', receiptMs: 12 })
    const sent = await app.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload: { to: 'carol', text: 'hi' } })
    expect(sent.json()).toEqual({ status: 'sent', id: 'x1' })
    const offline = await app.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload: { to: 'dave', text: 'hi' } })
    expect(offline.statusCode).toBe(200)
    expect(offline.json()).toEqual({ status: 'queued', id: 'x2', reason: 'offline' })
    expect(api.sent[0]).toEqual({ to: 'bob', text: 'hi bob' })
  })

  it('POST /v1/messages takes exactly the limit in code points (emoji count once) and keeps newlines', async () => {
    const text = '😀'.repeat(MAX_MESSAGE_CHARS - 1) + '\n'
    const res = await app.inject({ method: 'POST', url: '/v1/messages', headers: AUTH, payload: { to: 'bob', text } })
    expect(res.statusCode).toBe(200)
    expect(api.sent[0]?.text).toBe(text)
  })
})

describe('bad requests', () => {
  const cases: Array<[string, { method: Method, url: string, payload?: unknown, headers?: Record<string, string> }, number, string]> = [
    ['a contact request without username', { method: 'POST', url: '/v1/contacts', payload: {} }, 400, 'invalid_request'],
    ['a numeric username', { method: 'POST', url: '/v1/contacts', payload: { username: 42 } }, 400, 'invalid_request'],
    ['an unknown field', { method: 'POST', url: '/v1/contacts', payload: { username: 'bob', admin: true } }, 400, 'invalid_request'],
    ['a too long contact message', { method: 'POST', url: '/v1/contacts', payload: { username: 'bob', message: 'x'.repeat(501) } }, 400, 'invalid_request'],
    ['a contact message with an escape sequence', { method: 'POST', url: '/v1/contacts', payload: { username: 'bob', message: 'hi\u001b[2J' } }, 400, 'invalid_request'],
    ['an invalid username', { method: 'POST', url: '/v1/contacts', payload: { username: 'b!' } }, 400, 'invalid_username'],
    ['an invalid username in the path', { method: 'DELETE', url: '/v1/contacts/x' }, 400, 'invalid_username'],
    ['a too long username in the path', { method: 'POST', url: `/v1/contacts/${'a'.repeat(65)}/accept` }, 400, 'invalid_request'],
    ['a block without username', { method: 'POST', url: '/v1/blocks', payload: { user: 'bob' } }, 400, 'invalid_request'],
    ['presence "offline" (not settable)', { method: 'PUT', url: '/v1/presence', payload: { status: 'offline' } }, 400, 'invalid_request'],
    ['presence without status', { method: 'PUT', url: '/v1/presence', payload: {} }, 400, 'invalid_request'],
    ['an empty message', { method: 'POST', url: '/v1/messages', payload: { to: 'bob', text: '' } }, 400, 'invalid_request'],
    ['a blank message', { method: 'POST', url: '/v1/messages', payload: { to: 'bob', text: '  \n ' } }, 400, 'invalid_request'],
    ['a message one code point too long', { method: 'POST', url: '/v1/messages', payload: { to: 'bob', text: 'x'.repeat(MAX_MESSAGE_CHARS + 1) } }, 400, 'invalid_request'],
    ['a message without text', { method: 'POST', url: '/v1/messages', payload: { to: 'bob' } }, 400, 'invalid_request'],
    ['a message with a control character', { method: 'POST', url: '/v1/messages', payload: { to: 'bob', text: 'a\u0000b' } }, 400, 'invalid_request'],
    ['a message to an invalid name', { method: 'POST', url: '/v1/messages', payload: { to: '../etc', text: 'hi' } }, 400, 'invalid_username'],
    ['malformed JSON', { method: 'POST', url: '/v1/messages', payload: '{"to":', headers: { 'content-type': 'application/json' } }, 400, 'malformed_json'],
    ['a text/plain body', { method: 'POST', url: '/v1/messages', payload: 'hi', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
    ['a huge body', { method: 'POST', url: '/v1/messages', payload: { to: 'bob', text: 'x'.repeat(100_000) } }, 413, 'body_too_large']
  ]
  for (const [what, request, status, code] of cases) {
    it(`answers ${status} ${code} to ${what}, without calling the node`, async () => {
      const res = await app.inject({ ...request, payload: request.payload as string, headers: { ...AUTH, ...request.headers } })
      expect(res.statusCode).toBe(status)
      expect(res.json().error.code).toBe(code)
      expect(typeof res.json().error.message).toBe('string')
      expect(api.invocations).toEqual([])
    })
  }

  it('answers 404 not_found to an unknown route', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing', headers: AUTH })
    expect(res.statusCode).toBe(404)
    expect(res.json().error.code).toBe('not_found')
  })
})

describe('errors from the node', () => {
  it('maps a UserError to 400 refused with its message', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/v1/contacts/bob', headers: AUTH })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: { code: 'refused', message: 'bob is not your contact' } })
  })

  it('passes a login server error through with its status and code', async () => {
    api.failNext = new LoginApiError(404, 'not_found', 'there is no user "zed"')
    const res = await app.inject({ method: 'POST', url: '/v1/contacts', headers: AUTH, payload: { username: 'zed' } })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'there is no user "zed"' } })
  })

  it('maps a UserError thrown synchronously (status) too', async () => {
    api.failNext = new UserError('not logged in yet')
    const res = await app.inject({ method: 'GET', url: '/v1/status', headers: AUTH })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toEqual({ code: 'refused', message: 'not logged in yet' })
  })

  it('hides anything else behind 500 internal', async () => {
    api.failNext = new Error('secret stack detail')
    const res = await app.inject({ method: 'GET', url: '/v1/contacts', headers: AUTH })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } })
    expect(res.body).not.toContain('secret')
  })
})

describe('startControlServer', () => {
  it('refuses addresses that are not loopback', async () => {
    for (const listen of ['0.0.0.0:0', '192.168.1.10:0', '[::]:0', 'example.com:0']) {
      await expect(startControlServer(api, { listen, token: TOKEN })).rejects.toThrow(UserError)
      await expect(startControlServer(api, { listen, token: TOKEN })).rejects.toThrow(/only listens on loopback/)
    }
  })

  it('refuses a malformed listen address', async () => {
    await expect(startControlServer(api, { listen: 'nonsense', token: TOKEN })).rejects.toThrow(/HOST:PORT/)
  })

  it('listens on 127.0.0.1 with a free port and answers over HTTP', async () => {
    const server = await startControlServer(api, { listen: '127.0.0.1:0', token: TOKEN })
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(server.url).not.toBe('http://127.0.0.1:0')
      const res = await fetch(`${server.url}/v1/status`, { headers: AUTH })
      expect(res.status).toBe(200)
      expect((await res.json() as { user: string }).user).toBe('alice')
    } finally {
      await server.close()
    }
    await server.close() // idempotent
  })

  it('says so when the port is in use', async () => {
    const first = await startControlServer(api, { listen: '127.0.0.1:0', token: TOKEN })
    try {
      const port = new URL(first.url).port
      await expect(startControlServer(api, { listen: `127.0.0.1:${port}`, token: TOKEN })).rejects.toThrow(/in use/)
    } finally {
      await first.close()
    }
  })

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false)
  })
})
