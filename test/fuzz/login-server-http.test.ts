// Fuzz: the login server's HTTP API (login-server/routes), every route with bodies from its own
// schema (common/login-api.ts), valid and mutated, through fastify's inject(): a 2xx, or a 4xx
// with the API's error shape; never a 5xx or a hang.
import { afterAll, beforeAll, describe } from 'vitest'
import {
  AuthorizeCallRequest, BlockInput, ChargeCallRequest, ContactRequestInput, CreateAccountRequest, CreateSessionRequest, PstnCallRecordInput, ServiceSessionRequest, SupernodeHeartbeat
} from '../../common/login-api.js'
import { hashToken, newToken } from '../../login-server/tokens.js'
import type { InjectOptions } from 'fastify'
import { createTestLoginServer, newDevice, PASSWORD, signUp, type TestLoginServer } from '../helpers/login-server.js'
import { httpTarget, type Route } from './kit/http.js'
import { fuzzSuite } from './kit/suite.js'

const USERS = ['alice', 'bob', 'carol', 'nobody']
const IDS = ['1', '2', '3', '4', '5']

const ROUTES: Route[] = [
  { method: 'POST', url: '/v1/accounts', body: CreateAccountRequest },
  { method: 'POST', url: '/v1/sessions', body: CreateSessionRequest },
  { method: 'POST', url: '/v1/certificates' },
  { method: 'DELETE', url: '/v1/sessions' },
  { method: 'GET', url: '/v1/revocations' },
  { method: 'POST', url: '/v1/contacts/requests', body: ContactRequestInput },
  { method: 'GET', url: '/v1/contacts/requests' },
  { method: 'POST', url: '/v1/contacts/requests/:id/accept', params: IDS },
  { method: 'POST', url: '/v1/contacts/requests/:id/decline', params: IDS },
  { method: 'GET', url: '/v1/contacts' },
  { method: 'DELETE', url: '/v1/contacts/:username', params: USERS },
  { method: 'POST', url: '/v1/blocks', body: BlockInput },
  { method: 'GET', url: '/v1/blocks' },
  { method: 'DELETE', url: '/v1/blocks/:username', params: USERS },
  { method: 'POST', url: '/v1/supernodes', body: SupernodeHeartbeat },
  { method: 'GET', url: '/v1/supernodes' },
  { method: 'GET', url: '/v1/info' },
  { method: 'GET', url: '/healthz' },
  { method: 'GET', url: '/v1/credit' },
  { method: 'GET', url: '/v1/calls/history' },
  { method: 'GET', url: '/v1/services' }
]

/** What only a service (the PSTN gateway) may ask, fuzzed with a service token. */
const SERVICE_ROUTES: Route[] = [
  { method: 'POST', url: '/v1/services/sessions', body: ServiceSessionRequest },
  { method: 'GET', url: '/v1/services/reach/:username', params: USERS },
  { method: 'POST', url: '/v1/pstn/authorizations', body: AuthorizeCallRequest },
  { method: 'POST', url: '/v1/pstn/charges', body: ChargeCallRequest },
  { method: 'POST', url: '/v1/pstn/records', body: PstnCallRecordInput }
]

describe('fuzz: the login server\'s HTTP API', () => {
  let server: TestLoginServer
  let token = ''
  beforeAll(async () => {
    server = await createTestLoginServer({ dialbackTimeoutMs: 200 })
    token = (await signUp(server, 'alice')).token
    await signUp(server, 'bob')
  })
  afterAll(async () => { await server.close() })

  /** Sends a request; a logout that went through is followed by a new login, so the token stays usable. */
  const inject = async (options: InjectOptions) => {
    const res = await server.app.inject(options)
    if (options.method === 'DELETE' && String(options.url).startsWith('/v1/sessions') && res.statusCode < 300) {
      const login = await server.app.inject({ method: 'POST', url: '/v1/sessions', payload: { username: 'alice', password: PASSWORD, deviceKey: newDevice(server.sodium).deviceKey } })
      token = (login.json() as { token: string }).token
    }
    return res
  }

  fuzzSuite(httpTarget('login-server-http', ROUTES, () => token, inject), { slice: 800, msPerInput: 20 })
})

describe('fuzz: the login server\'s routes for services', () => {
  let server: TestLoginServer
  const serviceToken = newToken()
  beforeAll(async () => {
    server = await createTestLoginServer({ dialbackTimeoutMs: 200 })
    await server.store.createService('pstn', hashToken(serviceToken), 1)
    for (const user of ['alice', 'bob']) await signUp(server, user)
    await server.store.addCredit('alice', 1_000_000, 'fuzz', 1)
  })
  afterAll(async () => { await server.close() })

  fuzzSuite(httpTarget('login-server-service-http', SERVICE_ROUTES, () => serviceToken, async options => await server.app.inject(options)), { slice: 800, msPerInput: 20 })
})
