// A refused login (wrong password, rate limited, busy) is one warning line and a
// counted metric, never a stack trace; an unexpected error still logs its stack.
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../login-server/errors.js'
import { PASSWORD, RELAXED_RATE_LIMITS, createTestLoginServer, newDevice, type TestLoginServer } from '../helpers/login-server.js'

let server: TestLoginServer | undefined

afterEach(async () => {
  vi.restoreAllMocks()
  await server?.close()
  server = undefined
})

interface LogLine { level: number, msg: string, code?: string, status?: number, err?: { stack?: string } }

async function serverWithLog (): Promise<{ server: TestLoginServer, lines: LogLine[] }> {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  server = await createTestLoginServer({
    logger: { level: 'info', stream },
    rateLimits: { ...RELAXED_RATE_LIMITS, sessionsPerUsername: { limit: 1, windowSeconds: 300 } }
  })
  return { server, lines }
}

const login = async (s: TestLoginServer, username: string, password: string) =>
  await s.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress: '10.0.0.1', payload: { username, password, deviceKey: newDevice(s.sodium).deviceKey } })

/** The value of voxmesh_login_rejected_logins_total for reason, unknown devices. */
async function rejected (s: TestLoginServer, reason: string): Promise<number> {
  const text = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
  return Number(new RegExp(`^voxmesh_login_rejected_logins_total\\{reason="${reason}",device="unknown"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

describe('refused logins', () => {
  it('each is one warning line with its code and no stack, and is counted by reason', async () => {
    const { server: s, lines } = await serverWithLog()
    await s.app.inject({ method: 'POST', url: '/v1/accounts', payload: { username: 'alice', password: PASSWORD } })
    lines.splice(0)

    expect((await login(s, 'alice', 'wrong password')).statusCode).toBe(401)
    expect((await login(s, 'alice', 'wrong again')).statusCode).toBe(429)
    vi.spyOn(s.passwords, 'verify').mockRejectedValue(new ApiError('busy', 'the server is busy checking passwords; try again shortly', 1))
    expect((await login(s, 'bob', PASSWORD)).statusCode).toBe(503)

    const sessionLines = lines.filter(line => line.msg !== 'request' || line.status !== 200)
    expect(sessionLines.map(line => [line.level, line.code, line.status])).toEqual([
      [40, 'invalid_credentials', 401],
      [40, 'rate_limited', 429],
      [40, 'busy', 503]
    ])
    expect(sessionLines.every(line => line.msg.startsWith('request refused: ') && line.err === undefined)).toBe(true)
    expect(await rejected(s, 'wrong_password')).toBe(1)
    expect(await rejected(s, 'rate_limited')).toBe(1)
    expect(await rejected(s, 'busy')).toBe(1)
  })

  it('an unexpected error is logged at error level with its stack', async () => {
    const { server: s, lines } = await serverWithLog()
    vi.spyOn(s.store, 'getAccount').mockRejectedValue(new Error('disk on fire'))
    expect((await login(s, 'alice', PASSWORD)).statusCode).toBe(500)
    const failure = lines.find(line => line.level === 50)
    expect(failure?.msg).toBe('request failed')
    expect(failure?.err?.stack).toContain('disk on fire')
  })
})
