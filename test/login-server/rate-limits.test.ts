// Rate limits: accounts and sessions per network (/24, /64), failed logins per
// username (unknown devices) and per known device, contact requests per sender,
// and the fixed-window limiter itself under a fake clock.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { createMemoryRateLimiter } from '../../login-server/rate-limiter.js'
import { signLoginProof } from '../../common/login-proof.js'
import { toBase64url } from '../../common/base64url.js'
import type { RateLimits } from '../../login-server/constants.js'
import { PASSWORD, RELAXED_RATE_LIMITS, createTestLoginServer, newDevice, signUp, type TestDevice, type TestLoginServer } from '../helpers/login-server.js'

const servers: TestLoginServer[] = []

afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(servers.splice(0).map(async s => { await s.close() }))
})

/** A server with relaxed limits except the ones given. */
async function serverWith (limits: Partial<RateLimits>): Promise<TestLoginServer> {
  const server = await createTestLoginServer({ rateLimits: { ...RELAXED_RATE_LIMITS, ...limits } })
  servers.push(server)
  return server
}

async function createAccount (server: TestLoginServer, username: string, remoteAddress = '10.0.0.1'): Promise<LightMyRequestResponse> {
  return await server.app.inject({ method: 'POST', url: '/v1/accounts', remoteAddress, payload: { username, password: PASSWORD } })
}

async function login (server: TestLoginServer, username: string, password: string, remoteAddress = '10.0.0.1'): Promise<LightMyRequestResponse> {
  const { deviceKey } = newDevice(server.sodium)
  return await server.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress, payload: { username, password, deviceKey } })
}

/** A 429 rate_limited answer; returns its Retry-After seconds. */
function expectRateLimited (res: LightMyRequestResponse, windowSeconds: number): number {
  expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 429, body: { error: { code: 'rate_limited', message: expect.any(String) } } })
  const header = res.headers['retry-after']
  expect(header).toMatch(/^[1-9][0-9]*$/)
  const seconds = Number(header)
  expect(seconds).toBeGreaterThan(0)
  expect(seconds).toBeLessThanOrEqual(windowSeconds)
  return seconds
}

describe('accounts per IP', () => {
  const limit = { limit: 3, windowSeconds: 600 }

  it('answers 429 with Retry-After past the limit, stores nothing, and allows again after the window', async () => {
    const server = await serverWith({ accountsPerIp: limit })
    for (const name of ['user1', 'user2', 'user3']) expect((await createAccount(server, name)).statusCode).toBe(201)

    const refused = await createAccount(server, 'user4')
    const retryAfter = expectRateLimited(refused, limit.windowSeconds)
    expect(await server.store.getAccount('user4')).toBeUndefined()

    // Another address of the same /24 shares the window; another /24 has its own.
    expectRateLimited(await createAccount(server, 'other1', '10.0.0.2'), limit.windowSeconds)
    expectRateLimited(await createAccount(server, 'other1', '::ffff:10.0.0.3'), limit.windowSeconds)
    expect((await createAccount(server, 'other1', '10.0.1.1')).statusCode).toBe(201)

    // Still limited a little later, with less to wait.
    server.advance(100)
    const later = expectRateLimited(await createAccount(server, 'user4'), limit.windowSeconds)
    expect(later).toBeLessThan(retryAfter)

    server.advance(retryAfter)
    const res = await createAccount(server, 'user4')
    expect(res.statusCode).toBe(201)
    expect(await server.store.getAccount('user4')).toBeDefined()
  })

  it('counts attempts on taken names (they cost a hash) but not refused-as-invalid ones', async () => {
    const server = await serverWith({ accountsPerIp: limit })
    for (let i = 0; i < 5; i++) {
      const res = await server.app.inject({ method: 'POST', url: '/v1/accounts', remoteAddress: '10.0.0.1', payload: { username: 'x', password: PASSWORD } })
      expect(res.statusCode).toBe(400)
    }
    expect((await createAccount(server, 'taken')).statusCode).toBe(201)
    expect((await createAccount(server, 'taken')).statusCode).toBe(409)
    expect((await createAccount(server, 'taken')).statusCode).toBe(409)
    expectRateLimited(await createAccount(server, 'fresh'), limit.windowSeconds)
    expect(await server.store.getAccount('fresh')).toBeUndefined()
  })
})

describe('sessions per IP', () => {
  const limit = { limit: 3, windowSeconds: 60 }

  it('limits login attempts, right or wrong, per network (/24, /64)', async () => {
    const server = await serverWith({ sessionsPerIp: limit })
    expect((await createAccount(server, 'alice')).statusCode).toBe(201)
    expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)
    expect((await login(server, 'alice', 'wrong password')).statusCode).toBe(401)
    expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)

    const verify = vi.spyOn(server.passwords, 'verify')
    expectRateLimited(await login(server, 'alice', PASSWORD), limit.windowSeconds)
    expectRateLimited(await login(server, 'nobody', PASSWORD), limit.windowSeconds)
    expectRateLimited(await login(server, 'alice', PASSWORD, '10.0.0.200'), limit.windowSeconds)
    expect(verify).not.toHaveBeenCalled()

    expect((await login(server, 'alice', PASSWORD, '10.0.1.1')).statusCode).toBe(201)
    for (const ip of ['2001:db8::1', '2001:db8::2', '2001:db8::ffff:1']) expect((await login(server, 'alice', PASSWORD, ip)).statusCode).toBe(201)
    expectRateLimited(await login(server, 'alice', PASSWORD, '2001:db8:0:0:1::1'), limit.windowSeconds)
    expect((await login(server, 'alice', PASSWORD, '2001:db8:0:1::1')).statusCode).toBe(201)

    server.advance(limit.windowSeconds + 1)
    expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)
  })
})

describe('failed logins per username (unknown devices)', () => {
  const limit = { limit: 3, windowSeconds: 300 }

  it('after the limit of failures, refuses even the right password from unknown devices, from any address and in any case, until the window passes', async () => {
    const server = await serverWith({ sessionsPerUsername: limit })
    expect((await createAccount(server, 'alice')).statusCode).toBe(201)
    expect((await createAccount(server, 'bob')).statusCode).toBe(201)

    for (let i = 0; i < limit.limit; i++) expect((await login(server, 'alice', `wrong ${i}`, `10.0.1.${i}`)).statusCode).toBe(401)

    const verify = vi.spyOn(server.passwords, 'verify')
    expectRateLimited(await login(server, 'alice', PASSWORD), limit.windowSeconds)
    expectRateLimited(await login(server, 'alice', PASSWORD, '10.9.9.9'), limit.windowSeconds)
    expectRateLimited(await login(server, 'ALICE', PASSWORD, '10.9.9.8'), limit.windowSeconds)
    expectRateLimited(await login(server, 'alice', 'wrong again'), limit.windowSeconds)
    // A locked-out user costs no password hashing.
    expect(verify).not.toHaveBeenCalled()

    // Other users are not affected.
    expect((await login(server, 'bob', PASSWORD)).statusCode).toBe(201)

    server.advance(limit.windowSeconds - 10)
    expectRateLimited(await login(server, 'alice', PASSWORD), limit.windowSeconds)
    server.advance(20)
    expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)
  })

  it('limits unknown usernames the same way', async () => {
    const server = await serverWith({ sessionsPerUsername: limit })
    const answers: number[] = []
    for (let i = 0; i < limit.limit + 2; i++) answers.push((await login(server, 'nobody', `guess ${i}`)).statusCode)
    expect(answers).toEqual([401, 401, 401, 429, 429])
  })

  it('does not count successful logins', async () => {
    const server = await serverWith({ sessionsPerUsername: limit })
    expect((await createAccount(server, 'alice')).statusCode).toBe(201)
    for (let i = 0; i < 10; i++) expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)

    expect((await login(server, 'alice', 'wrong 1')).statusCode).toBe(401)
    expect((await login(server, 'alice', 'wrong 2')).statusCode).toBe(401)
    for (let i = 0; i < 10; i++) expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)
    expect((await login(server, 'alice', 'wrong 3')).statusCode).toBe(401)
    expectRateLimited(await login(server, 'alice', PASSWORD), limit.windowSeconds)
  })

  it('holds under concurrent guesses: no more password checks than the limit', async () => {
    const server = await serverWith({ sessionsPerUsername: limit })
    expect((await createAccount(server, 'alice')).statusCode).toBe(201)
    const verify = vi.spyOn(server.passwords, 'verify')

    const answers = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await login(server, 'alice', `guess ${i}`, `10.2.0.${i}`)).statusCode))
    expect(answers.filter(status => status === 401)).toHaveLength(limit.limit)
    expect(answers.filter(status => status === 429)).toHaveLength(12 - limit.limit)
    expect(verify).toHaveBeenCalledTimes(limit.limit)
    expectRateLimited(await login(server, 'alice', PASSWORD), limit.windowSeconds)
  })
})

/** A login from `device` with a proof of holding its key (as nodes send), signed for `server` at `timestamp`. */
async function loginWithProof (
  server: TestLoginServer, username: string, password: string, device: TestDevice,
  options: { remoteAddress?: string, timestamp?: number, serverKey?: string, signer?: TestDevice } = {}
): Promise<LightMyRequestResponse> {
  const claim = { server: options.serverKey ?? toBase64url(server.signingKey.publicKey), username, deviceKey: device.deviceKey }
  const proof = signLoginProof(server.sodium, (options.signer ?? device).secretKey, claim, options.timestamp ?? Math.floor(server.now() / 1000))
  return await server.app.inject({
    method: 'POST', url: '/v1/sessions', remoteAddress: options.remoteAddress ?? '10.0.0.1', payload: { username, password, deviceKey: device.deviceKey, proof }
  })
}

describe('known devices (device cookies)', () => {
  const limit = { limit: 3, windowSeconds: 300 }

  /** alice with a device that has logged in once (so it is known). */
  async function aliceWithKnownDevice (server: TestLoginServer): Promise<TestDevice> {
    expect((await createAccount(server, 'alice')).statusCode).toBe(201)
    const device = newDevice(server.sodium)
    expect((await loginWithProof(server, 'alice', PASSWORD, device)).statusCode).toBe(201)
    return device
  }

  it('a known device logs in with the right password while unknown devices are locked out by other people\'s guesses', async () => {
    const server = await serverWith({ sessionsPerUsername: limit })
    const device = await aliceWithKnownDevice(server)
    for (let i = 0; i < limit.limit + 2; i++) await login(server, 'alice', `guess ${i}`, `10.${i}.0.1`)
    expectRateLimited(await login(server, 'alice', PASSWORD, '10.9.9.9'), limit.windowSeconds)
    // Even a new device that proves its key is unknown until it has logged in.
    expectRateLimited(await loginWithProof(server, 'alice', PASSWORD, newDevice(server.sodium), { remoteAddress: '10.9.9.9' }), limit.windowSeconds)
    for (let i = 0; i < 5; i++) expect((await loginWithProof(server, 'alice', PASSWORD, device, { remoteAddress: `10.8.${i}.1` })).statusCode).toBe(201)
  })

  it('a known device is not held back by its network\'s limit', async () => {
    const server = await serverWith({ sessionsPerIp: limit })
    const device = await aliceWithKnownDevice(server)
    for (let i = 0; i < limit.limit; i++) await login(server, 'mallory', `guess ${i}`, '10.0.0.99')
    expectRateLimited(await login(server, 'alice', PASSWORD, '10.0.0.1'), limit.windowSeconds)
    expect((await loginWithProof(server, 'alice', PASSWORD, device, { remoteAddress: '10.0.0.1' })).statusCode).toBe(201)
  })

  it('a known device has its own failure limit: wrong passwords from it are limited, and do not lock out the user\'s other known devices', async () => {
    const server = await serverWith({ sessionsPerKnownDevice: limit })
    const device = await aliceWithKnownDevice(server)
    const other = newDevice(server.sodium)
    expect((await loginWithProof(server, 'alice', PASSWORD, other)).statusCode).toBe(201)

    for (let i = 0; i < limit.limit; i++) expect((await loginWithProof(server, 'alice', `wrong ${i}`, device)).statusCode).toBe(401)
    expectRateLimited(await loginWithProof(server, 'alice', PASSWORD, device), limit.windowSeconds)
    expect((await loginWithProof(server, 'alice', PASSWORD, other)).statusCode).toBe(201)
    server.advance(limit.windowSeconds + 1)
    expect((await loginWithProof(server, 'alice', PASSWORD, device)).statusCode).toBe(201)
  })

  it('a device key alone (no proof, or a proof that is forged, stale, or for another server or user) counts as an unknown device', async () => {
    const server = await serverWith({ sessionsPerUsername: limit })
    const device = await aliceWithKnownDevice(server)
    for (let i = 0; i < limit.limit; i++) await login(server, 'alice', `guess ${i}`, `10.${i}.0.1`)

    const now = Math.floor(server.now() / 1000)
    const plain = await server.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress: '10.0.0.1', payload: { username: 'alice', password: PASSWORD, deviceKey: device.deviceKey } })
    expectRateLimited(plain, limit.windowSeconds)
    expectRateLimited(await loginWithProof(server, 'alice', PASSWORD, device, { signer: newDevice(server.sodium) }), limit.windowSeconds)
    expectRateLimited(await loginWithProof(server, 'alice', PASSWORD, device, { timestamp: now - 3600 }), limit.windowSeconds)
    expectRateLimited(await loginWithProof(server, 'alice', PASSWORD, device, { serverKey: newDevice(server.sodium).deviceKey }), limit.windowSeconds)
    // Signed for "bob" but sent for "alice": the proof names the user as typed.
    const forBob = signLoginProof(server.sodium, device.secretKey, { server: toBase64url(server.signingKey.publicKey), username: 'bob', deviceKey: device.deviceKey }, now)
    expectRateLimited(await server.app.inject({
      method: 'POST', url: '/v1/sessions', remoteAddress: '10.0.0.1', payload: { username: 'alice', password: PASSWORD, deviceKey: device.deviceKey, proof: forBob }
    }), limit.windowSeconds)
    expect((await loginWithProof(server, 'alice', PASSWORD, device)).statusCode).toBe(201)
  })

  it('a device known for one user is unknown for another', async () => {
    const server = await serverWith({ sessionsPerUsername: limit })
    const device = await aliceWithKnownDevice(server)
    expect((await createAccount(server, 'bob')).statusCode).toBe(201)
    for (let i = 0; i < limit.limit; i++) await login(server, 'bob', `guess ${i}`, `10.${i}.0.1`)
    expectRateLimited(await loginWithProof(server, 'bob', PASSWORD, device), limit.windowSeconds)
  })
})

describe('contact requests per sender', () => {
  const limit = { limit: 3, windowSeconds: 3600 }

  it('answers 429 with Retry-After past the limit, counting every request, and allows again after the window', async () => {
    const server = await serverWith({ contactRequestsPerSender: limit })
    const alice = await signUp(server, 'alice')
    for (const name of ['bob', 'carol', 'dave', 'erin']) await signUp(server, name)
    const ask = async (from: typeof alice, to: string): Promise<LightMyRequestResponse> =>
      await server.app.inject({ method: 'POST', url: '/v1/contacts/requests', headers: from.auth, payload: { to } })

    expect((await ask(alice, 'bob')).statusCode).toBe(201)
    expect((await ask(alice, 'nobody')).statusCode).toBe(404)
    expect((await ask(alice, 'bob')).statusCode).toBe(200)
    expectRateLimited(await ask(alice, 'carol'), limit.windowSeconds)
    expect(await server.store.listIncomingRequests('carol')).toEqual([])
    // Per sender: bob still may ask.
    const bob = await signUp(server, 'bobby')
    expect((await ask(bob, 'carol')).statusCode).toBe(201)

    server.advance(limit.windowSeconds)
    expect((await ask(alice, 'carol')).statusCode).toBe(201)
  })
})

describe('createMemoryRateLimiter (fake time)', () => {
  it('allows `limit` hits per window and then reports the seconds to the window end', () => {
    const limiter = createMemoryRateLimiter({ limit: 3, windowSeconds: 10 })
    expect([limiter.hit('k', 100), limiter.hit('k', 101), limiter.hit('k', 102)]).toEqual([0, 0, 0])
    expect(limiter.hit('k', 103)).toBe(7)
    expect(limiter.hit('k', 109)).toBe(1)
    // A new window starts at the first hit after the old one ends.
    expect(limiter.hit('k', 110)).toBe(0)
    expect(limiter.hit('k', 111)).toBe(0)
    expect(limiter.hit('k', 112)).toBe(0)
    expect(limiter.hit('k', 113)).toBe(7)
  })

  it('keeps keys apart', () => {
    const limiter = createMemoryRateLimiter({ limit: 1, windowSeconds: 60 })
    expect(limiter.hit('a', 0)).toBe(0)
    expect(limiter.hit('a', 0)).toBe(60)
    expect(limiter.hit('b', 0)).toBe(0)
    expect(limiter.retryAfterSeconds('c', 0)).toBe(0)
  })

  it('retryAfterSeconds peeks: positive exactly when the next hit would be refused, and counts nothing', () => {
    const limiter = createMemoryRateLimiter({ limit: 2, windowSeconds: 30 })
    expect(limiter.retryAfterSeconds('k', 1000)).toBe(0)
    limiter.hit('k', 1000)
    for (let i = 0; i < 5; i++) expect(limiter.retryAfterSeconds('k', 1000)).toBe(0)
    limiter.hit('k', 1000)
    expect(limiter.retryAfterSeconds('k', 1005)).toBe(25)
    expect(limiter.hit('k', 1005)).toBe(25)
    expect(limiter.retryAfterSeconds('k', 1029)).toBe(1)
    expect(limiter.retryAfterSeconds('k', 1030)).toBe(0)
    expect(limiter.hit('k', 1030)).toBe(0)
  })

  it('forgive takes back one hit of the current window only', () => {
    const limiter = createMemoryRateLimiter({ limit: 2, windowSeconds: 30 })
    limiter.hit('k', 0)
    limiter.hit('k', 0)
    limiter.forgive('k', 1)
    expect(limiter.retryAfterSeconds('k', 1)).toBe(0)
    expect(limiter.hit('k', 1)).toBe(0)
    expect(limiter.hit('k', 1)).toBe(29)

    // Forgiving never goes below zero or reaches into a later window.
    limiter.forgive('fresh', 5)
    limiter.forgive('fresh', 5)
    expect(limiter.hit('fresh', 5)).toBe(0)
    expect(limiter.hit('fresh', 5)).toBe(0)
    expect(limiter.hit('fresh', 5)).toBe(30)
    limiter.hit('late', 100)
    limiter.hit('late', 100)
    limiter.forgive('late', 50)
    expect(limiter.hit('late', 100)).toBe(30)
  })

  it('never answers less than 1 second while limited', () => {
    const limiter = createMemoryRateLimiter({ limit: 1, windowSeconds: 1 })
    expect(limiter.hit('k', 7)).toBe(0)
    expect(limiter.hit('k', 7)).toBe(1)
    expect(limiter.hit('k', 8)).toBe(0)
  })

  it('stays correct with many keys', () => {
    const limiter = createMemoryRateLimiter({ limit: 1, windowSeconds: 10 })
    for (let i = 0; i < 1000; i++) expect(limiter.hit(`ip-${i}`, 0)).toBe(0)
    for (let i = 0; i < 1000; i++) expect(limiter.hit(`ip-${i}`, 5)).toBe(5)
    for (let i = 0; i < 1000; i++) expect(limiter.hit(`ip-${i}`, 10)).toBe(0)
  })
})
