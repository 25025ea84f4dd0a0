// POST /v1/sessions, POST /v1/certificates, DELETE /v1/sessions: tokens,
// certificates, the unknown-user decoy, device key checks, logout and expiry.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { verifyCertificate, type Certificate, type CertificateBody } from '../../common/certificate.js'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { SESSION_TTL_SECONDS } from '../../login-server/constants.js'
import { revocationKey } from '../../common/revocation.js'
import { PASSWORD, createTestLoginServer, newDevice, signUp, type TestLoginServer } from '../helpers/login-server.js'

let server: TestLoginServer | undefined

beforeEach(async () => {
  server = await createTestLoginServer()
})

afterEach(async () => {
  vi.restoreAllMocks()
  const s = server
  server = undefined
  await s?.close()
})

function current (): TestLoginServer {
  if (server === undefined) throw new Error('no test server')
  return server
}

const nowSeconds = (): number => Math.floor(current().now() / 1000)

async function createAccount (username: string, password = PASSWORD): Promise<void> {
  const res = await current().app.inject({ method: 'POST', url: '/v1/accounts', payload: { username, password } })
  expect(res.statusCode).toBe(201)
}

async function login (username: string, password: string, deviceKey = newDevice(current().sodium).deviceKey): Promise<LightMyRequestResponse> {
  return await current().app.inject({ method: 'POST', url: '/v1/sessions', payload: { username, password, deviceKey } })
}

async function renew (headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await current().app.inject({ method: 'POST', url: '/v1/certificates', headers })
}

function expectError (res: LightMyRequestResponse, status: number, code: string): void {
  expect({ status: res.statusCode, body: res.json() }).toEqual({ status, body: { error: { code, message: expect.any(String) } } })
}

/** Verifies against the server's own key and returns the decoded body. */
function checkCertificate (certificate: Certificate): CertificateBody {
  const check = verifyCertificate(current().sodium, certificate, { issuerKey: current().signingKey.publicKey, nowSeconds: nowSeconds() })
  if (!check.ok) throw new Error(`certificate rejected: ${check.reason}: ${check.message}`)
  return check.body
}

function decodeBody (certificate: Certificate): Record<string, unknown> {
  return JSON.parse(Buffer.from(certificate.body, 'base64url').toString('utf8')) as Record<string, unknown>
}

function withDb<T> (use: (db: Database.Database) => T): T {
  const db = new Database(join(current().dataDir, 'login.sqlite'), { readonly: true })
  try {
    return use(db)
  } finally {
    db.close()
  }
}

const sessionCount = (): number => withDb(db => (db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n)

describe('POST /v1/sessions', () => {
  it('answers 201 with a 43-character base64url token, a verifiable certificate and a supernode list', async () => {
    await createAccount('alice')
    const device = newDevice(current().sodium)
    const before = nowSeconds()
    const res = await login('alice', PASSWORD, device.deviceKey)
    const after = nowSeconds()
    expect(res.statusCode).toBe(201)
    const { token, certificate, supernodes } = res.json() as { token: string, certificate: Certificate, supernodes: unknown }

    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(fromBase64url(token)).toHaveLength(32)
    expect(Array.isArray(supernodes)).toBe(true)
    expect(supernodes).toEqual([])

    const info = (await current().app.inject({ method: 'GET', url: '/v1/info' })).json() as { publicKey: string, certificateTtlSeconds: number }
    expect(info.publicKey).toBe(toBase64url(current().signingKey.publicKey))
    expect(info.certificateTtlSeconds).toBeGreaterThan(0)

    const body = checkCertificate(certificate)
    expect(Object.keys(decodeBody(certificate)).sort()).toEqual(['deviceKey', 'expires', 'issued', 'serial', 'user', 'v'])
    expect(body).toEqual({ v: 1, user: 'alice', deviceKey: device.deviceKey, issued: expect.any(Number), expires: expect.any(Number), serial: expect.any(Number) })
    expect(body.issued).toBeGreaterThanOrEqual(before)
    expect(body.issued).toBeLessThanOrEqual(after)
    expect(body.expires - body.issued).toBe(info.certificateTtlSeconds)
    expect(Number.isSafeInteger(body.serial) && body.serial > 0).toBe(true)
  })

  it('issues certificates that fail under another key and when altered', async () => {
    await createAccount('alice')
    const { certificate } = (await login('alice', PASSWORD)).json() as { certificate: Certificate }
    const sodium = current().sodium
    const other = sodium.crypto_sign_keypair().publicKey
    expect(verifyCertificate(sodium, certificate, { issuerKey: other, nowSeconds: nowSeconds() })).toMatchObject({ ok: false, reason: 'bad_signature' })

    const forged = { ...decodeBody(certificate), user: 'mallory' }
    const forgedBody = Buffer.from(JSON.stringify(forged)).toString('base64url')
    expect(verifyCertificate(sodium, { ...certificate, body: forgedBody }, { issuerKey: current().signingKey.publicKey, nowSeconds: nowSeconds() }))
      .toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it('names the stored (lower-case) user in the certificate when logging in as "ALICE"', async () => {
    await createAccount('alice')
    const res = await login('ALICE', PASSWORD)
    expect(res.statusCode).toBe(201)
    expect(checkCertificate((res.json() as { certificate: Certificate }).certificate).user).toBe('alice')
  })

  it('gives strictly increasing serials across logins, users and devices', async () => {
    await createAccount('alice')
    await createAccount('bob')
    const serials: number[] = []
    for (const user of ['alice', 'bob', 'alice', 'alice', 'bob']) {
      const res = await login(user, PASSWORD)
      expect(res.statusCode).toBe(201)
      serials.push(checkCertificate((res.json() as { certificate: Certificate }).certificate).serial)
    }
    for (let i = 1; i < serials.length; i++) expect(serials[i]).toBeGreaterThan(serials[i - 1] as number)
  })

  it('hands out a different token on every login', async () => {
    await createAccount('alice')
    const tokens = new Set<string>()
    for (let i = 0; i < 5; i++) tokens.add(((await login('alice', PASSWORD)).json() as { token: string }).token)
    expect(tokens.size).toBe(5)
    expect(sessionCount()).toBe(5)
  })
})

describe('wrong password and unknown user', () => {
  it('answer the identical 401 invalid_credentials body, and create no session', async () => {
    await createAccount('alice')
    const wrong = await login('alice', 'not the password')
    const unknown = await login('nobody', 'not the password')
    const impossible = await login('no such user!', 'not the password')
    for (const res of [wrong, unknown, impossible]) {
      expectError(res, 401, 'invalid_credentials')
      expect(res.headers['content-type']).toBe(wrong.headers['content-type'])
    }
    expect(unknown.body).toBe(wrong.body)
    expect(impossible.body).toBe(wrong.body)
    expect(sessionCount()).toBe(0)
  })

  it('run the password hasher once either way (the unknown user is checked against a decoy hash)', async () => {
    await createAccount('alice')
    const results: boolean[] = []
    const spy = vi.spyOn(current().passwords, 'verify')
    const wrong = await login('alice', 'wrong password 1')
    expect(spy).toHaveBeenCalledTimes(1)
    expect(spy.mock.calls[0]?.[0]).toBe('wrong password 1')
    expect(spy.mock.calls[0]?.[1]).toMatch(/^\$argon2id\$/)

    const unknown = await login('nobody', 'wrong password 2')
    expect(spy).toHaveBeenCalledTimes(2)
    expect(spy.mock.calls[1]).toEqual(['wrong password 2', undefined, 'normal'])

    const impossible = await login('not valid!', 'wrong password 3')
    expect(spy).toHaveBeenCalledTimes(3)
    expect(spy.mock.calls[2]).toEqual(['wrong password 3', undefined, 'normal'])

    for (const result of spy.mock.results) results.push(await (result.value as Promise<boolean>))
    expect(results).toEqual([false, false, false])
    expect(unknown.body).toBe(wrong.body)
    expect(impossible.body).toBe(wrong.body)
  })
})

describe('device keys', () => {
  it('refuses keys that are not valid Ed25519 points, of the wrong length or not canonical base64url with 400', async () => {
    await createAccount('alice')
    const sodium = current().sodium
    const ff = new Uint8Array(32).fill(0xff)
    const zero = new Uint8Array(32)
    // An Ed25519 small-order point: y = 1 (the identity).
    const identity = new Uint8Array(32)
    identity[0] = 1
    for (const bytes of [ff, zero, identity]) expect(sodium.crypto_core_ed25519_is_valid_point(bytes)).toBe(false)

    const valid = newDevice(sodium).deviceKey
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(valid.at(-1) as string)
    const nonCanonical = valid.slice(0, -1) + alphabet[last ^ 1]
    expect(fromBase64url(nonCanonical)).toBeUndefined()

    const verify = vi.spyOn(current().passwords, 'verify')
    const bad = {
      allOnes: toBase64url(ff),
      zero: toBase64url(zero),
      identity: toBase64url(identity),
      short: toBase64url(newDevice(sodium).publicKey.slice(0, 31)),
      long: toBase64url(new Uint8Array([...newDevice(sodium).publicKey, 0])),
      empty: '',
      standardBase64: Buffer.from(ff).toString('base64'),
      padded: valid + '=',
      plusAndSlash: valid.slice(0, -2) + '+/',
      nonCanonical,
      secretKeyInstead: toBase64url(newDevice(sodium).secretKey)
    }
    for (const [label, deviceKey] of Object.entries(bad)) {
      const res = await login('alice', PASSWORD, deviceKey)
      expect({ label, status: res.statusCode, code: (res.json() as { error: { code: string } }).error.code })
        .toEqual({ label, status: 400, code: 'invalid_request' })
    }
    expect(verify).not.toHaveBeenCalled()
    expect(sessionCount()).toBe(0)
    expect((await login('alice', PASSWORD, valid)).statusCode).toBe(201)
  })
})

describe('POST /v1/certificates', () => {
  it('renews the certificate for the same device key with a higher serial', async () => {
    const alice = await signUp(current(), 'alice')
    const first = checkCertificate(alice.certificate)
    current().advance(3600)
    const res = await renew(alice.auth)
    expect(res.statusCode).toBe(201)
    const { certificate } = res.json() as { certificate: Certificate }
    const renewed = checkCertificate(certificate)
    expect(renewed.user).toBe('alice')
    expect(renewed.deviceKey).toBe(alice.device.deviceKey)
    expect(renewed.serial).toBeGreaterThan(first.serial)
    expect(renewed.issued).toBeGreaterThanOrEqual(first.issued + 3600)
    expect(renewed.expires - renewed.issued).toBe(first.expires - first.issued)
  })

  it('answers 401 unauthorized without a bearer token or with a bad one', async () => {
    const alice = await signUp(current(), 'alice')
    const randomToken = toBase64url(current().sodium.randombytes_buf(32))
    const headers: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${randomToken}` },
      { authorization: `Bearer ${alice.token.slice(0, -1)}` },
      { authorization: `Bearer ${alice.token}x` },
      { authorization: `bearer ${alice.token}` },
      { authorization: `Basic ${alice.token}` },
      { authorization: alice.token },
      { authorization: `Bearer  ${alice.token}` },
      { authorization: 'Bearer ' }
    ]
    for (const h of headers) expectError(await renew(h), 401, 'unauthorized')
    expect((await renew(alice.auth)).statusCode).toBe(201)
  })
})

describe('DELETE /v1/sessions', () => {
  it('logs out: 204, then the token is refused everywhere; the same user\'s other sessions live on', async () => {
    const alice = await signUp(current(), 'alice')
    const other = (await login('alice', PASSWORD)).json() as { token: string }
    expect((await current().app.inject({ method: 'GET', url: '/v1/contacts', headers: alice.auth })).statusCode).toBe(200)

    const res = await current().app.inject({ method: 'DELETE', url: '/v1/sessions', headers: alice.auth })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')

    expectError(await renew(alice.auth), 401, 'unauthorized')
    expectError(await current().app.inject({ method: 'GET', url: '/v1/contacts', headers: alice.auth }), 401, 'unauthorized')
    expectError(await current().app.inject({ method: 'DELETE', url: '/v1/sessions', headers: alice.auth }), 401, 'unauthorized')

    const otherAuth = { authorization: `Bearer ${other.token}` }
    expect((await renew(otherAuth)).statusCode).toBe(201)
    expect((await current().app.inject({ method: 'GET', url: '/v1/contacts', headers: otherAuth })).statusCode).toBe(200)
    expect(sessionCount()).toBe(1)
  })

  it('revokes the device\'s certificates up to the newest serial: GET /v1/revocations lists them under a hashed key until they expire', async () => {
    const alice = await signUp(current(), 'alice')
    const renewed = (await renew(alice.auth)).json() as { certificate: Certificate }
    const serialOf = (c: Certificate): number => (verifyCertificate(current().sodium, c, { issuerKey: current().signingKey.publicKey, nowSeconds: Math.floor(current().now() / 1000) }) as { body: CertificateBody }).body.serial
    const list = async (after = 0) => (await current().app.inject({ method: 'GET', url: `/v1/revocations?after=${after}` })).json() as { revocations: Array<{ id: number, key: string, serial: number, expires: number }>, more: boolean }
    expect((await list()).revocations).toEqual([])

    expect((await current().app.inject({ method: 'DELETE', url: '/v1/sessions', headers: alice.auth })).statusCode).toBe(204)
    const { revocations, more } = await list()
    expect(more).toBe(false)
    expect(revocations).toHaveLength(1)
    expect(revocations[0]).toMatchObject({ key: revocationKey(current().sodium, 'alice', alice.device.deviceKey), serial: serialOf(renewed.certificate) })
    expect(revocations[0]!.serial).toBeGreaterThan(serialOf(alice.certificate))
    expect(JSON.stringify(revocations)).not.toContain(alice.device.deviceKey)
    expect((await list(revocations[0]!.id)).revocations).toEqual([])

    // Listed until the voided certificates would be refused for age anyway (expiry plus the verifiers' skew).
    current().advance(revocations[0]!.expires - Math.floor(current().now() / 1000))
    expect((await list()).revocations).toEqual([])
  })

  it('answers 401 without a token', async () => {
    await signUp(current(), 'alice')
    expectError(await current().app.inject({ method: 'DELETE', url: '/v1/sessions' }), 401, 'unauthorized')
    expect(sessionCount()).toBe(1)
  })
})

describe('token storage', () => {
  it('keeps only a SHA-256 hash of the token: no row and no database file byte holds the token', async () => {
    const alice = await signUp(current(), 'alice')
    const bob = await signUp(current(), 'bob')
    await renew(alice.auth)
    const tokens = [alice.token, bob.token]

    const rows = withDb(db => {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>
      expect(tables.map(t => t.name)).toContain('sessions')
      return tables.flatMap(({ name }) => db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>)
    })
    expect(rows.length).toBeGreaterThan(0)
    for (const token of tokens) {
      const needles = [Buffer.from(token, 'utf8'), Buffer.from(token, 'base64url')]
      for (const row of rows) {
        for (const value of Object.values(row)) {
          if (typeof value === 'string') expect(value).not.toContain(token)
          if (value instanceof Uint8Array) for (const needle of needles) expect(Buffer.from(value).includes(needle)).toBe(false)
        }
      }
      for (const file of ['login.sqlite', 'login.sqlite-wal']) {
        const path = join(current().dataDir, file)
        if (!existsSync(path)) continue
        const bytes = readFileSync(path)
        for (const needle of needles) expect(bytes.includes(needle), file).toBe(false)
      }
    }

    // What is stored is the SHA-256 of the token string.
    const stored = withDb(db => db.prepare('SELECT token_hash, username FROM sessions ORDER BY username').all() as Array<{ token_hash: Buffer, username: string }>)
    expect(stored.map(row => row.username)).toEqual(['alice', 'bob'])
    expect(stored.map(row => Buffer.from(row.token_hash).toString('hex')))
      .toEqual(tokens.map(token => createHash('sha256').update(token, 'utf8').digest('hex')))
  })
})

describe('session expiry', () => {
  it('refuses the token once 30 days have passed', async () => {
    expect(SESSION_TTL_SECONDS).toBe(30 * 24 * 3600)
    const alice = await signUp(current(), 'alice')

    current().advance(SESSION_TTL_SECONDS - 60)
    const late = await renew(alice.auth)
    expect(late.statusCode).toBe(201)
    expect(checkCertificate((late.json() as { certificate: Certificate }).certificate).user).toBe('alice')
    expect((await current().app.inject({ method: 'GET', url: '/v1/contacts', headers: alice.auth })).statusCode).toBe(200)

    current().advance(120)
    expectError(await renew(alice.auth), 401, 'unauthorized')
    expectError(await current().app.inject({ method: 'GET', url: '/v1/contacts', headers: alice.auth }), 401, 'unauthorized')

    // The account itself still works: a fresh login gives a fresh session.
    const again = await login('alice', PASSWORD)
    expect(again.statusCode).toBe(201)
    expect((await renew({ authorization: `Bearer ${(again.json() as { token: string }).token}` })).statusCode).toBe(201)
  })
})
