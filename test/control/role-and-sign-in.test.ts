// PUT /v1/role (the page's "run as supernode", `voxmesh role`) and POST /v1/sign-in (the page's
// sign-in to a node started without a password), through inject(): what they take and refuse.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildControlApp, type ControlApp } from '../../node/control/app.js'
import { UserError } from '../../common/user-error.js'
import { FakeNodeApi } from './fake-node-api.js'
import { AUTH, TOKEN } from './helpers.js'

let api: FakeNodeApi
let app: ControlApp

beforeEach(() => {
  api = new FakeNodeApi('alice')
  app = buildControlApp(api, TOKEN)
})
afterEach(async () => {
  await app.close()
  await api.close()
})

describe('PUT /v1/role', () => {
  it('passes supernode, host and auto to the node and answers the role it has', async () => {
    for (const role of ['supernode', 'host', 'auto']) {
      const res = await app.inject({ method: 'PUT', url: '/v1/role', headers: AUTH, payload: { role } })
      expect(res.statusCode, role).toBe(200)
      expect(res.json()).toEqual({ role: role === 'supernode' ? 'supernode' : 'host', mode: role })
    }
    expect(api.invocations.filter(call => call.startsWith('setRole'))).toEqual(['setRole supernode', 'setRole host', 'setRole auto'])
  })

  it('refuses another role, a missing one, extra fields and a missing token before the node sees them', async () => {
    for (const payload of [{ role: 'boss' }, {}, { role: 'host', now: true }, { role: 1 }]) {
      const res = await app.inject({ method: 'PUT', url: '/v1/role', headers: AUTH, payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
    }
    expect((await app.inject({ method: 'PUT', url: '/v1/role', payload: { role: 'host' } })).statusCode).toBe(401)
    expect(api.invocations.filter(call => call.startsWith('setRole'))).toEqual([])
  })

  it('says why the node cannot serve, with its code', async () => {
    api.failNext = new UserError('this node cannot serve as a supernode: it has no address others can reach', 'cannot_serve')
    const res = await app.inject({ method: 'PUT', url: '/v1/role', headers: AUTH, payload: { role: 'supernode' } })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toEqual({ code: 'cannot_serve', message: 'this node cannot serve as a supernode: it has no address others can reach' })
  })
})

describe('POST /v1/sign-in', () => {
  it('gives the password to the node and answers its status', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/sign-in', headers: AUTH, payload: { password: 'correct horse' } })
    expect(res.statusCode).toBe(200)
    expect(res.json().user).toBe('alice')
    expect(api.invocations).toContain('signIn 13 characters')
  })

  it('refuses an empty password, one over 1024 characters and extra fields', async () => {
    for (const payload of [{ password: '' }, { password: 'x'.repeat(1025) }, { password: 'x', user: 'bob' }, {}]) {
      const res = await app.inject({ method: 'POST', url: '/v1/sign-in', headers: AUTH, payload })
      expect(res.statusCode).toBe(400)
    }
    expect(api.invocations.filter(call => call.startsWith('signIn'))).toEqual([])
  })

  it('passes on the login server\'s refusal as a sentence', async () => {
    api.failNext = new UserError('login refused: wrong username or password for "alice"')
    const res = await app.inject({ method: 'POST', url: '/v1/sign-in', headers: AUTH, payload: { password: 'wrong' } })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.message).toBe('login refused: wrong username or password for "alice"')
  })
})
