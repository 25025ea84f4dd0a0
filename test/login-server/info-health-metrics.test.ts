// The unauthenticated operational routes: /v1/info, /healthz and /metrics.
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTestLoginServer, newDevice, signUp, type TestLoginServer } from '../helpers/login-server.js'
import { toBase64url } from '../../common/base64url.js'
import { DEFAULT_CERTIFICATE_TTL_SECONDS } from '../../login-server/constants.js'

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

let server: TestLoginServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

/** The value of one sample in Prometheus text format, or undefined when absent. */
function sample (text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(m => [m[1], m[2]]))
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found[k] === v)) {
      return Number(match[3])
    }
  }
  return undefined
}

describe('GET /v1/info', () => {
  it('tells the signing key, the version and the certificate TTL', async () => {
    server = await createTestLoginServer()
    const res = await server.app.inject({ method: 'GET', url: '/v1/info' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.json()).toEqual({
      publicKey: toBase64url(server.signingKey.publicKey),
      version: packageVersion,
      certificateTtlSeconds: DEFAULT_CERTIFICATE_TTL_SECONDS
    })
  })

  it('reports a configured certificate TTL', async () => {
    server = await createTestLoginServer({ certificateTtlSeconds: 600 })
    const res = await server.app.inject({ method: 'GET', url: '/v1/info' })
    expect((res.json() as { certificateTtlSeconds: number }).certificateTtlSeconds).toBe(600)
  })
})

describe('GET /healthz', () => {
  it('is ok with the number of live supernodes, and needs no token', async () => {
    server = await createTestLoginServer()
    const res = await server.app.inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok', liveSupernodes: 0 })
  })

  it('is 500 when the store is broken', async () => {
    server = await createTestLoginServer()
    await server.store.close()
    const res = await server.app.inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } })
  })
})

describe('GET /metrics', () => {
  beforeEach(async () => {
    server = await createTestLoginServer()
  })

  it('is Prometheus text with request and login counters', async () => {
    const s = server as TestLoginServer
    await signUp(s, 'alice')
    for (let i = 0; i < 2; i++) {
      const failed = await s.app.inject({
        method: 'POST', url: '/v1/sessions', payload: { username: 'alice', password: 'wrong password!', deviceKey: newDevice(s.sodium).deviceKey }
      })
      expect(failed.statusCode).toBe(401)
    }
    expect((await s.app.inject({ method: 'GET', url: '/v1/info' })).statusCode).toBe(200)

    const res = await s.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    const text = res.body
    expect(text).toContain('# TYPE voxmesh_login_http_requests_total counter')
    expect(text).toContain('# TYPE voxmesh_login_sessions_total counter')
    expect(sample(text, 'voxmesh_login_sessions_total', { result: 'failure' })).toBe(2)
    expect(sample(text, 'voxmesh_login_sessions_total', { result: 'success' })).toBe(1)
    expect(sample(text, 'voxmesh_login_http_requests_total', { route: '/v1/sessions', method: 'POST', status: '401' })).toBe(2)
    expect(sample(text, 'voxmesh_login_http_requests_total', { route: '/v1/sessions', method: 'POST', status: '201' })).toBe(1)
    expect(sample(text, 'voxmesh_login_http_requests_total', { route: '/v1/accounts', method: 'POST', status: '201' })).toBe(1)
    expect(sample(text, 'voxmesh_login_http_requests_total', { route: '/v1/info', method: 'GET', status: '200' })).toBe(1)
    expect(sample(text, 'voxmesh_login_accounts_created_total', {})).toBe(1)
    expect(sample(text, 'voxmesh_login_certificates_issued_total', {})).toBe(1)
    expect(sample(text, 'voxmesh_login_live_supernodes', {})).toBe(0)
  })

  it('counts unmatched routes without one label per URL', async () => {
    const s = server as TestLoginServer
    expect((await s.app.inject({ method: 'GET', url: '/no/such/route/1' })).statusCode).toBe(404)
    expect((await s.app.inject({ method: 'GET', url: '/no/such/route/2' })).statusCode).toBe(404)
    const text = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(text).not.toContain('/no/such/route')
    expect(sample(text, 'voxmesh_login_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).toBe(2)
  })

  it('two servers in one process keep separate counters', async () => {
    const s = server as TestLoginServer
    const other = await createTestLoginServer()
    try {
      expect((await other.app.inject({ method: 'GET', url: '/v1/info' })).statusCode).toBe(200)
      const text = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
      expect(sample(text, 'voxmesh_login_http_requests_total', { route: '/v1/info', method: 'GET', status: '200' })).toBeUndefined()
    } finally {
      await other.close()
    }
  })
})
