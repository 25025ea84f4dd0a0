// Rate limits: accounts per IP, sessions per IP, failed logins per username,
// and the fixed-window limiter itself under a fake clock.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { createRateLimiter } from '../../login-server/rate-limiter.js'
import type { RateLimits } from '../../login-server/constants.js'
import { PASSWORD, RELAXED_RATE_LIMITS, createTestLoginServer, newDevice, type TestLoginServer } from '../helpers/login-server.js'

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

    // Another address has its own window.
    expect((await createAccount(server, 'other1', '10.0.0.2')).statusCode).toBe(201)

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

  it('limits login attempts, right or wrong, per address', async () => {
    const server = await serverWith({ sessionsPerIp: limit })
    expect((await createAccount(server, 'alice')).statusCode).toBe(201)
    expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)
    expect((await login(server, 'alice', 'wrong password')).statusCode).toBe(401)
    expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)

    const verify = vi.spyOn(server.passwords, 'verify')
    expectRateLimited(await login(server, 'alice', PASSWORD), limit.windowSeconds)
    expectRateLimited(await login(server, 'nobody', PASSWORD), limit.windowSeconds)
    expect(verify).not.toHaveBeenCalled()

    expect((await login(server, 'alice', PASSWORD, '10.0.0.2')).statusCode).toBe(201)
    expect((await login(server, 'alice', PASSWORD, '2001:db8::1')).statusCode).toBe(201)

    server.advance(limit.windowSeconds + 1)
    expect((await login(server, 'alice', PASSWORD)).statusCode).toBe(201)
  })
})

describe('failed logins per username', () => {
  const limit = { limit: 3, windowSeconds: 300 }

  it('after the limit of failures, refuses even the right password, from any address and in any case, until the window passes', async () => {
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

describe('createRateLimiter (fake time)', () => {
  it('allows `limit` hits per window and then reports the seconds to the window end', () => {
    const limiter = createRateLimiter({ limit: 3, windowSeconds: 10 })
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
    const limiter = createRateLimiter({ limit: 1, windowSeconds: 60 })
    expect(limiter.hit('a', 0)).toBe(0)
    expect(limiter.hit('a', 0)).toBe(60)
    expect(limiter.hit('b', 0)).toBe(0)
    expect(limiter.retryAfter('c', 0)).toBe(0)
  })

  it('retryAfter peeks: positive exactly when the next hit would be refused, and counts nothing', () => {
    const limiter = createRateLimiter({ limit: 2, windowSeconds: 30 })
    expect(limiter.retryAfter('k', 1000)).toBe(0)
    limiter.hit('k', 1000)
    for (let i = 0; i < 5; i++) expect(limiter.retryAfter('k', 1000)).toBe(0)
    limiter.hit('k', 1000)
    expect(limiter.retryAfter('k', 1005)).toBe(25)
    expect(limiter.hit('k', 1005)).toBe(25)
    expect(limiter.retryAfter('k', 1029)).toBe(1)
    expect(limiter.retryAfter('k', 1030)).toBe(0)
    expect(limiter.hit('k', 1030)).toBe(0)
  })

  it('forgive takes back one hit of the current window only', () => {
    const limiter = createRateLimiter({ limit: 2, windowSeconds: 30 })
    limiter.hit('k', 0)
    limiter.hit('k', 0)
    limiter.forgive('k', 1)
    expect(limiter.retryAfter('k', 1)).toBe(0)
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
    const limiter = createRateLimiter({ limit: 1, windowSeconds: 1 })
    expect(limiter.hit('k', 7)).toBe(0)
    expect(limiter.hit('k', 7)).toBe(1)
    expect(limiter.hit('k', 8)).toBe(0)
  })

  it('stays correct with many keys', () => {
    const limiter = createRateLimiter({ limit: 1, windowSeconds: 10 })
    for (let i = 0; i < 1000; i++) expect(limiter.hit(`ip-${i}`, 0)).toBe(0)
    for (let i = 0; i < 1000; i++) expect(limiter.hit(`ip-${i}`, 5)).toBe(5)
    for (let i = 0; i < 1000; i++) expect(limiter.hit(`ip-${i}`, 10)).toBe(0)
  })
})
