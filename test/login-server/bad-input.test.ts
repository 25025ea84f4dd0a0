// Hostile and broken requests: malformed JSON, wrong types, oversized and
// mistyped bodies, prototype poisoning, unknown routes, password guessing.
// Every refusal has the API's error shape and stores nothing.
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { MAX_BODY_BYTES } from '../../login-server/constants.js'
import { PASSWORD, RELAXED_RATE_LIMITS, createTestLoginServer, newDevice, signUp, type TestLoginServer } from '../helpers/login-server.js'

/** Asserts the body is exactly {error:{code,message}} with string fields, and returns the code. */
function errorCode (res: LightMyRequestResponse): string {
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json() as unknown
  expect(body).toBeTypeOf('object')
  expect(Object.keys(body as object)).toEqual(['error'])
  const error = (body as { error: unknown }).error
  expect(error).toBeTypeOf('object')
  expect(Object.keys(error as object).sort()).toEqual(['code', 'message'])
  const { code, message } = error as { code: unknown, message: unknown }
  expect(code).toBeTypeOf('string')
  expect(message).toBeTypeOf('string')
  expect((message as string).length).toBeGreaterThan(0)
  return code as string
}

function expectError (res: LightMyRequestResponse, status: number, code: string): void {
  expect({ status: res.statusCode, code: errorCode(res) }).toEqual({ status, code })
}

describe('bad input', () => {
  let server: TestLoginServer
  let deviceKey: string
  let baseline: Array<{ username: string, password_hash: string }>

  const accounts = (): Array<{ username: string, password_hash: string }> => {
    const db = new Database(join(server.dataDir, 'login.sqlite'), { readonly: true })
    try {
      return db.prepare('SELECT username, password_hash FROM accounts ORDER BY username').all() as Array<{ username: string, password_hash: string }>
    } finally {
      db.close()
    }
  }

  const raw = async (url: string, payload: string | Buffer, contentType: string | undefined = 'application/json', method: InjectOptions['method'] = 'POST'): Promise<LightMyRequestResponse> =>
    await server.app.inject({ method, url, payload, headers: contentType === undefined ? {} : { 'content-type': contentType } })

  const json = async (url: string, payload: unknown): Promise<LightMyRequestResponse> =>
    await raw(url, JSON.stringify(payload))

  beforeAll(async () => {
    server = await createTestLoginServer()
    await signUp(server, 'alice')
    deviceKey = newDevice(server.sodium).deviceKey
    baseline = accounts()
    expect(baseline.map(row => row.username)).toEqual(['alice'])
  })

  afterEach(() => {
    // Whatever a test sent, the accounts table is as it was. (The baseline
    // moves on, so a leak fails only the test that caused it.)
    const before = baseline
    baseline = accounts()
    expect(baseline).toEqual(before)
  })

  afterAll(async () => {
    await server?.close()
  })

  describe('malformed JSON → 400 malformed_json', () => {
    const bodies: Array<[string, string]> = [
      ['truncated', '{"username":"mallory","password":"passw'],
      ['trailing garbage', `{"username":"mallory","password":"${PASSWORD}"} garbage`],
      ['two objects', `{"username":"mallory","password":"${PASSWORD}"}{}`],
      ['single quotes', `{'username':'mallory','password':'${PASSWORD}'}`],
      ['a trailing comma', `{"username":"mallory","password":"${PASSWORD}",}`],
      ['empty', ''],
      ['only whitespace', '   \n'],
      ['NaN', '{"username":"mallory","password":NaN}']
    ]
    for (const url of ['/v1/accounts', '/v1/sessions']) {
      it.each(bodies)(`${url}: %s`, async (_label, body) => {
        expectError(await raw(url, body), 400, 'malformed_json')
      })
    }
  })

  describe('wrong types, missing and unknown fields → 400 invalid_request', () => {
    const accountBodies: Array<[string, unknown]> = [
      ['username a number', { username: 12345, password: PASSWORD }],
      ['username an array', { username: ['mallory'], password: PASSWORD }],
      ['username an object', { username: { $ne: null }, password: PASSWORD }],
      ['username null', { username: null, password: PASSWORD }],
      ['username a boolean', { username: true, password: PASSWORD }],
      ['password an array', { username: 'mallory', password: [PASSWORD] }],
      ['password a number', { username: 'mallory', password: 1234567890 }],
      ['password an object', { username: 'mallory', password: { toString: PASSWORD } }],
      ['password null', { username: 'mallory', password: null }],
      ['password empty', { username: 'mallory', password: '' }],
      ['username empty', { username: '', password: PASSWORD }],
      ['an extra field', { username: 'mallory', password: PASSWORD, admin: true }],
      ['an extra empty field', { username: 'mallory', password: PASSWORD, '': 1 }],
      ['missing password', { username: 'mallory' }],
      ['missing username', { password: PASSWORD }],
      ['an empty object', {}],
      ['an array', [{ username: 'mallory', password: PASSWORD }]],
      ['a string', 'mallory'],
      ['null', null],
      ['a number', 42]
    ]
    it.each(accountBodies)('POST /v1/accounts with %s', async (_label, body) => {
      expectError(await json('/v1/accounts', body), 400, 'invalid_request')
      expect(await server.store.getAccount('mallory')).toBeUndefined()
    })

    it.each<[string, () => unknown]>([
      ['username a number', () => ({ username: 12345, password: PASSWORD, deviceKey })],
      ['password an array', () => ({ username: 'alice', password: [PASSWORD], deviceKey })],
      ['password a number', () => ({ username: 'alice', password: 12345678, deviceKey })],
      ['deviceKey an array', () => ({ username: 'alice', password: PASSWORD, deviceKey: [deviceKey] })],
      ['an extra field', () => ({ username: 'alice', password: PASSWORD, deviceKey, role: 'admin' })],
      ['missing deviceKey', () => ({ username: 'alice', password: PASSWORD })],
      ['missing password', () => ({ username: 'alice', deviceKey })],
      ['missing username', () => ({ password: PASSWORD, deviceKey })]
    ])('POST /v1/sessions with %s', async (_label, body) => {
      const verify = vi.spyOn(server.passwords, 'verify')
      try {
        const res = await json('/v1/sessions', body())
        expectError(res, 400, 'invalid_request')
        expect(verify).not.toHaveBeenCalled()
      } finally {
        verify.mockRestore()
      }
    })

    it('still accepts the well-formed request after all that', async () => {
      const res = await json('/v1/sessions', { username: 'alice', password: PASSWORD, deviceKey })
      expect(res.statusCode).toBe(201)
    })
  })

  describe('NUL characters → 400 invalid_request (PostgreSQL\'s text cannot hold one; SQLite answers alike)', () => {
    it.each([
      ['/v1/sessions', { username: 'al\u0000ice', password: PASSWORD }],
      ['/v1/accounts', { username: 'mall\u0000ory', password: 'a long enough password' }]
    ])('%s %j', async (url, body) => {
      expectError(await json(url, { ...body, ...(url === '/v1/sessions' ? { deviceKey } : {}) }), 400, 'invalid_request')
    })

    it('in a deeply nested body, and in a key', async () => {
      const deep = `${'['.repeat(5000)}"\\u0000"${']'.repeat(5000)}`
      expectError(await raw('/v1/accounts', `{"username":"mallory","password":"long enough pw","extra":${deep}}`), 400, 'invalid_request')
      expectError(await raw('/v1/accounts', '{"username":"mallory","password":"long enough pw","\\u0000":1}'), 400, 'invalid_request')
    })
  })

  describe('oversized and mistyped bodies', () => {
    it.each(['/v1/accounts', '/v1/sessions'])('%s: a body over 16 KiB → 413 body_too_large', async url => {
      const payload = JSON.stringify({ username: 'mallory', password: 'x'.repeat(MAX_BODY_BYTES) })
      expect(Buffer.byteLength(payload)).toBeGreaterThan(16 * 1024)
      expectError(await raw(url, payload), 413, 'body_too_large')
    })

    it('a body just under the limit is read (and then judged on its fields)', async () => {
      const payload = JSON.stringify({ username: 'mallory', password: PASSWORD, pad: 'x'.repeat(MAX_BODY_BYTES - 100) })
      expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(MAX_BODY_BYTES)
      expectError(await raw('/v1/accounts', payload), 400, 'invalid_request')
    })

    it.each<[string, string | undefined]>([
      ['text/plain', 'text/plain'],
      ['text/plain with charset', 'text/plain; charset=utf-8'],
      ['form-encoded', 'application/x-www-form-urlencoded'],
      ['multipart', 'multipart/form-data; boundary=x'],
      ['xml', 'application/xml'],
      ['octet-stream', 'application/octet-stream']
    ])('a %s body → 415 unsupported_media_type', async (_label, contentType) => {
      const body = JSON.stringify({ username: 'mallory', password: PASSWORD })
      expectError(await raw('/v1/accounts', body, contentType), 415, 'unsupported_media_type')
      expectError(await raw('/v1/sessions', JSON.stringify({ username: 'alice', password: PASSWORD, deviceKey }), contentType), 415, 'unsupported_media_type')
    })
  })

  describe('prototype poisoning → 400', () => {
    const payloads: Array<[string, string]> = [
      ['__proto__', `{"username":"mallory","password":"${PASSWORD}","__proto__":{"polluted":"yes"}}`],
      ['nested __proto__', `{"username":"mallory","password":"${PASSWORD}","x":{"__proto__":{"polluted":"yes"}}}`],
      ['constructor.prototype', `{"username":"mallory","password":"${PASSWORD}","constructor":{"prototype":{"polluted":"yes"}}}`],
      ['escaped __proto__', `{"username":"mallory","password":"${PASSWORD}","\\u005f_proto__":{"polluted":"yes"}}`]
    ]
    for (const url of ['/v1/accounts', '/v1/sessions']) {
      it.each(payloads)(`${url}: %s`, async (_label, payload) => {
        const res = await raw(url, payload)
        expect(res.statusCode).toBe(400)
        expect(['malformed_json', 'invalid_request']).toContain(errorCode(res))
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(Object.prototype).not.toHaveProperty('polluted')
      })
    }
  })

  describe('routes and methods', () => {
    it.each<[InjectOptions['method'], string]>([
      ['GET', '/nope'],
      ['POST', '/v1/account'],
      ['GET', '/v1/accounts'],
      ['PUT', '/v1/sessions'],
      ['GET', '/v2/info'],
      ['DELETE', '/v1/accounts']
    ])('%s %s → 404 not_found', async (method, url) => {
      const res = await server.app.inject({ method, url })
      expectError(res, 404, 'not_found')
    })

    it('does not echo a query string into the 404 message', async () => {
      const res = await server.app.inject({ method: 'GET', url: '/nope?token=secret-value' })
      expectError(res, 404, 'not_found')
      expect(res.body).not.toContain('secret-value')
    })
  })
})

describe('password guessing', () => {
  let server: TestLoginServer | undefined

  afterEach(async () => {
    vi.restoreAllMocks()
    await server?.close()
    server = undefined
  })

  it('30 wrong passwords in a row end in 429; the server stays healthy and other users log in', async () => {
    const limit = { limit: 5, windowSeconds: 300 }
    server = await createTestLoginServer({ rateLimits: { ...RELAXED_RATE_LIMITS, sessionsPerUsername: limit } })
    await signUp(server, 'alice')
    await signUp(server, 'bob')
    const rowsBefore = countAccounts(server)
    const verify = vi.spyOn(server.passwords, 'verify')

    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      const res = await server.app.inject({
        method: 'POST', url: '/v1/sessions', payload: { username: 'alice', password: `guess-${i}-${PASSWORD}`, deviceKey: newDevice(server.sodium).deviceKey }
      })
      statuses.push(res.statusCode)
      expect(errorCode(res)).toBe(res.statusCode === 401 ? 'invalid_credentials' : 'rate_limited')
    }
    expect(statuses).toEqual([...Array(limit.limit).fill(401), ...Array(30 - limit.limit).fill(429)])
    expect(verify).toHaveBeenCalledTimes(limit.limit)

    const health = await server.app.inject({ method: 'GET', url: '/healthz' })
    expect(health.statusCode).toBe(200)
    expect(health.json()).toMatchObject({ status: 'ok' })

    const bob = await server.app.inject({ method: 'POST', url: '/v1/sessions', payload: { username: 'bob', password: PASSWORD, deviceKey: newDevice(server.sodium).deviceKey } })
    expect(bob.statusCode).toBe(201)
    const alice = await server.app.inject({ method: 'POST', url: '/v1/sessions', payload: { username: 'alice', password: PASSWORD, deviceKey: newDevice(server.sodium).deviceKey } })
    expectError(alice, 429, 'rate_limited')
    expect(countAccounts(server)).toBe(rowsBefore)
  })
})

function countAccounts (server: TestLoginServer): number {
  const db = new Database(join(server.dataDir, 'login.sqlite'), { readonly: true })
  try {
    return (db.prepare('SELECT count(*) AS n FROM accounts').get() as { n: number }).n
  } finally {
    db.close()
  }
}
