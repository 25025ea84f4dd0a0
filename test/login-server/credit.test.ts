// The credit ledger and the PSTN gateway's questions to the login server: service accounts and
// their token, the balance, authorizing a call by the longest matching prefix, and a charge per
// started minute recorded once per call id. Real SQLite file, fastify inject().
import Database from 'better-sqlite3'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { hashToken, newToken } from '../../login-server/tokens.js'
import { costOf, rateFor } from '../../login-server/rates.js'
import { createTestLoginServer, newDevice, signUp, type TestLoginServer } from '../helpers/login-server.js'

let server: TestLoginServer
let serviceAuth: { authorization: string }

beforeEach(async () => {
  server = await createTestLoginServer()
  const token = newToken()
  expect(await server.store.createService('pstn', hashToken(token), 1)).toBe('created')
  serviceAuth = { authorization: `Bearer ${token}` }
})

afterEach(async () => { await server.close() })

const now = (): number => Math.floor(server.now() / 1000)
const CALL = 'call-0123456789abcdef'

function expectError (res: LightMyRequestResponse, status: number, code: string, message?: RegExp): void {
  expect({ status: res.statusCode, body: res.json() }).toEqual({ status, body: { error: { code, message: message === undefined ? expect.any(String) : expect.stringMatching(message) } } })
}

const authorize = async (body: object, headers = serviceAuth): Promise<LightMyRequestResponse> =>
  await server.app.inject({ method: 'POST', url: '/v1/pstn/authorizations', headers, payload: body })
const charge = async (body: object, headers = serviceAuth): Promise<LightMyRequestResponse> =>
  await server.app.inject({ method: 'POST', url: '/v1/pstn/charges', headers, payload: body })

/** Ledger rows straight from the file, through a second connection. */
function ledgerRows (): Array<{ username: string, amount: number, kind: string, call_id: string | null }> {
  const db = new Database(join(server.dataDir, 'login.sqlite'), { readonly: true })
  try {
    return db.prepare('SELECT username, amount, kind, call_id FROM credit_entries ORDER BY id').all() as Array<{ username: string, amount: number, kind: string, call_id: string | null }>
  } finally { db.close() }
}

describe('rates', () => {
  it('takes the longest matching prefix and charges per started minute', () => {
    expect(rateFor('+447700900123')).toEqual({ prefix: '+447', perMinute: 10 })
    expect(rateFor('+442079460123')).toEqual({ prefix: '+44', perMinute: 2 })
    expect(rateFor('+81312345678')).toEqual({ prefix: '+', perMinute: 20 })
    const rate = { prefix: '+44', perMinute: 2 }
    expect([0, 1, 60, 61, 120, 121].map(s => costOf(s, rate))).toEqual([0, 2, 2, 4, 4, 6])
  })
})

describe('service accounts', () => {
  it('log in with their token (no password), get a certificate for their own name, and cannot be signed up for', async () => {
    const device = newDevice(server.sodium)
    const res = await server.app.inject({ method: 'POST', url: '/v1/services/sessions', headers: serviceAuth, payload: { deviceKey: device.deviceKey } })
    expect(res.statusCode).toBe(201)
    const body = res.json() as { token: string, certificate: { body: string } }
    expect(JSON.parse(Buffer.from(body.certificate.body, 'base64url').toString()).user).toBe('pstn')
    // The session works like a user's: a certificate renewal with it.
    const renewed = await server.app.inject({ method: 'POST', url: '/v1/certificates', headers: { authorization: `Bearer ${body.token}` } })
    expect(renewed.statusCode).toBe(201)
    // No password opens the account.
    const withPassword = await server.app.inject({ method: 'POST', url: '/v1/sessions', payload: { username: 'pstn', password: '!service', deviceKey: device.deviceKey } })
    expectError(withPassword, 401, 'invalid_credentials')
    for (const username of ['pstn', 'echo', 'ECHO']) {
      const signUpRes = await server.app.inject({ method: 'POST', url: '/v1/accounts', payload: { username, password: 'correct horse battery' } })
      expectError(signUpRes, 409, 'username_taken', /reserved/)
    }
    expect(await server.store.createService('pstn', hashToken(newToken()), 2)).toBe('taken')
  })

  it('refuse a wrong or missing service token, and a user\'s session token', async () => {
    const alice = await signUp(server, 'alice')
    const body = { callId: CALL, username: 'alice', number: '+442079460123' }
    expectError(await authorize(body, { authorization: `Bearer ${newToken()}` }), 401, 'unauthorized', /service token/)
    expectError(await authorize(body, alice.auth), 401, 'unauthorized')
    expectError(await server.app.inject({ method: 'POST', url: '/v1/pstn/charges', payload: { ...body, billsec: 60 } }), 401, 'unauthorized')
    expect(ledgerRows()).toEqual([])
  })
})

describe('credit', () => {
  it('a user sees their own balance: the sum of their ledger', async () => {
    const alice = await signUp(server, 'alice')
    const balance = async (): Promise<unknown> => (await server.app.inject({ method: 'GET', url: '/v1/credit', headers: alice.auth })).json()
    expect(await balance()).toEqual({ balance: 0, currency: 'EUR' })
    await server.store.addCredit('alice', 500, 'test', now())
    await server.store.addCredit('alice', 25, 'test', now())
    expect(await balance()).toEqual({ balance: 525, currency: 'EUR' })
    expectError(await server.app.inject({ method: 'GET', url: '/v1/credit' }), 401, 'unauthorized')
    expect(await server.store.addCredit('nobody', 5, 'test', now())).toBe('no_account')
  })

  it('authorizes a call the free credit pays a minute of, for as many whole minutes as it pays, holding that credit', async () => {
    await signUp(server, 'alice')
    await server.store.addCredit('alice', 25, 'test', now())
    const ok = await authorize({ callId: CALL, username: 'alice', number: '+447700900123' })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ ratePerMinute: 10, prefix: '+447', balance: 25, currency: 'EUR', maxSeconds: 120 })
    // Asked again for the same call (another gateway, a retry): the same answer, nothing more held.
    expect((await authorize({ callId: CALL, username: 'alice', number: '+447700900123' })).json()).toMatchObject({ maxSeconds: 120 })
    // A second call at the same time: 20 of the 25 are held by the first.
    expectError(await authorize({ callId: 'call-ffffffffffffffff', username: 'alice', number: '+81312345678' }), 402, 'payment_required', /alice has 0\.05 EUR free/)
    expect((await authorize({ callId: 'call-gggggggggggggggg', username: 'alice', number: '+442079460123' })).json()).toMatchObject({ ratePerMinute: 2, maxSeconds: 120 })
    // The first call charged: its hold goes, what it did not spend is free again.
    expect((await charge({ callId: CALL, username: 'alice', number: '+447700900123', billsec: 30 })).statusCode).toBe(201)
    expect((await authorize({ callId: 'call-hhhhhhhhhhhhhhhh', username: 'alice', number: '+447700900123' })).json()).toMatchObject({ maxSeconds: 60 })
  })

  it('does not let concurrent calls spend the same credit twice', async () => {
    await signUp(server, 'alice')
    await server.store.addCredit('alice', 2, 'test', now())
    const answers = await Promise.all(Array.from({ length: 10 }, async (_, i) =>
      await authorize({ callId: `call-concurrent-${String(i).padStart(4, '0')}`, username: 'alice', number: '+442079460123' })))
    expect(answers.map(a => a.statusCode).sort()).toEqual([200, ...Array(9).fill(402)])
  })

  it('refuses a call id used before, for another user or number, or once charged', async () => {
    await signUp(server, 'alice')
    await signUp(server, 'bob')
    for (const user of ['alice', 'bob']) await server.store.addCredit(user, 100, 'test', now())
    expect((await authorize({ callId: CALL, username: 'alice', number: '+442079460123' })).statusCode).toBe(200)
    expectError(await authorize({ callId: CALL, username: 'bob', number: '+442079460123' }), 400, 'invalid_request', /a call id is authorized once/)
    expectError(await authorize({ callId: CALL, username: 'alice', number: '+442079460999' }), 400, 'invalid_request', /a call id is authorized once/)
    expect((await charge({ callId: CALL, username: 'alice', number: '+442079460123', billsec: 5 })).statusCode).toBe(201)
    expectError(await authorize({ callId: CALL, username: 'alice', number: '+442079460123' }), 400, 'invalid_request', /a call id is authorized once/)
  })

  it('an authorization never charged stops holding credit an hour after its call could have ended', async () => {
    await signUp(server, 'alice')
    await server.store.addCredit('alice', 2, 'test', now())
    expect((await authorize({ callId: CALL, username: 'alice', number: '+442079460123' })).statusCode).toBe(200)
    expect((await authorize({ callId: 'call-iiiiiiiiiiiiiiii', username: 'alice', number: '+442079460123' })).statusCode).toBe(402)
    server.advance(60 + 3600 + 1)
    expect((await authorize({ callId: 'call-iiiiiiiiiiiiiiii', username: 'alice', number: '+442079460123' })).statusCode).toBe(200)
  })

  it('refuses no credit, bad numbers and unknown users before anything is dialed', async () => {
    await signUp(server, 'bob')
    expectError(await authorize({ callId: CALL, username: 'bob', number: '+442079460123' }), 402, 'payment_required', /0\.02 EUR a minute and bob has 0\.00 EUR free/)
    for (const number of ['+', '+12', '+44abc2079460', '+4420794601234567', '442079460123', '+0442079460123']) {
      expectError(await authorize({ callId: CALL, username: 'bob', number }), 400, 'invalid_request', /not a valid phone number/)
    }
    expectError(await authorize({ callId: CALL, username: 'nobody', number: '+442079460123' }), 404, 'not_found')
  })

  it('charges per started minute of connected time, to the cent, over several calls; a call that never connected costs nothing', async () => {
    await signUp(server, 'alice')
    await server.store.addCredit('alice', 1000, 'test', now())
    const calls = [
      { callId: 'call-aaaaaaaaaaaaaaaa', number: '+442079460123', billsec: 61 }, // 2 min × 2
      { callId: 'call-bbbbbbbbbbbbbbbb', number: '+447700900123', billsec: 60 }, // 1 min × 10
      { callId: 'call-cccccccccccccccc', number: '+81312345678', billsec: 1 }, // 1 min × 20
      { callId: 'call-dddddddddddddddd', number: '+447700900123', billsec: 0 } // never answered
    ]
    const costs: number[] = []
    for (const c of calls) {
      expect((await authorize({ callId: c.callId, username: 'alice', number: c.number })).statusCode).toBe(200)
      const res = await charge({ ...c, username: 'alice' })
      expect(res.statusCode).toBe(201)
      costs.push((res.json() as { cost: number }).cost)
    }
    expect(costs).toEqual([4, 10, 20, 0])
    expect(await server.store.getBalance('alice')).toBe(1000 - 34)
    expect(ledgerRows().map(r => r.amount)).toEqual([1000, -4, -10, -20, 0])
  })

  it('records a charge once per call id, however often it is sent, and refuses the id for another user', async () => {
    await signUp(server, 'alice')
    await signUp(server, 'bob')
    await server.store.addCredit('alice', 100, 'test', now())
    const body = { callId: CALL, username: 'alice', number: '+442079460123', billsec: 125 }
    expectError(await charge(body), 400, 'invalid_request', /was not authorized/)
    expect((await authorize({ callId: CALL, username: 'alice', number: '+442079460123' })).statusCode).toBe(200)
    const first = await charge(body)
    expect({ status: first.statusCode, body: first.json() }).toEqual({ status: 201, body: { cost: 6, balance: 94, currency: 'EUR', duplicate: false } })
    // The gateway restarted and sends it again, even with other seconds: the first charge stands.
    const again = await charge({ ...body, billsec: 600 })
    expect({ status: again.statusCode, body: again.json() }).toEqual({ status: 200, body: { cost: 6, balance: 94, currency: 'EUR', duplicate: true } })
    const parallel = await Promise.all(Array.from({ length: 10 }, async () => await charge(body)))
    expect(parallel.map(r => r.statusCode)).toEqual(Array(10).fill(200))
    expectError(await charge({ ...body, username: 'bob' }), 400, 'invalid_request', /was not authorized for bob/)
    expect(ledgerRows()).toEqual([
      { username: 'alice', amount: 100, kind: 'credit', call_id: null },
      { username: 'alice', amount: -6, kind: 'charge', call_id: CALL }
    ])
  })

  it('refuses impossible charges', async () => {
    await signUp(server, 'alice')
    for (const billsec of [-1, 1.5, 86_401, '60']) {
      expectError(await charge({ callId: CALL, username: 'alice', number: '+442079460123', billsec }), 400, 'invalid_request')
    }
    expectError(await charge({ callId: 'short', username: 'alice', number: '+442079460123', billsec: 1 }), 400, 'invalid_request')
    expect(ledgerRows()).toEqual([])
  })
})

describe('reaching services and, for a service, users', () => {
  it('tells every user how to reach each service, and only a service how to reach a user', async () => {
    const alice = await signUp(server, 'alice')
    const listed = await server.app.inject({ method: 'GET', url: '/v1/services', headers: alice.auth })
    expect(listed.statusCode).toBe(200)
    const { services } = listed.json() as { services: Array<{ username: string, lookupKey: string, sealKey: string }> }
    expect(services.map(s => s.username)).toEqual(['pstn'])
    expect(services[0]?.lookupKey).toMatch(/^[0-9a-f]{64}$/)
    expectError(await server.app.inject({ method: 'GET', url: '/v1/services' }), 401, 'unauthorized')

    const reach = await server.app.inject({ method: 'GET', url: '/v1/services/reach/Alice', headers: serviceAuth })
    expect(reach.statusCode).toBe(200)
    const alicesReach = reach.json() as { username: string, lookupKey: string, sealKey: string }
    expect(alicesReach.username).toBe('alice')
    // The same capability alice's contacts get from the login server.
    await signUp(server, 'bob')
    await server.app.inject({ method: 'POST', url: '/v1/contacts/requests', headers: alice.auth, payload: { to: 'bob' } })
    const bob = await server.app.inject({ method: 'POST', url: '/v1/sessions', payload: { username: 'bob', password: 'correct horse battery', deviceKey: newDevice(server.sodium).deviceKey } })
    const bobAuth = { authorization: `Bearer ${(bob.json() as { token: string }).token}` }
    const requests = (await server.app.inject({ method: 'GET', url: '/v1/contacts/requests', headers: bobAuth })).json() as { incoming: Array<{ id: number }> }
    await server.app.inject({ method: 'POST', url: `/v1/contacts/requests/${requests.incoming[0]?.id}/accept`, headers: bobAuth })
    const bobsContacts = (await server.app.inject({ method: 'GET', url: '/v1/contacts', headers: bobAuth })).json() as { contacts: Array<{ username: string, lookupKey: string, sealKey: string }> }
    expect(bobsContacts.contacts.find(c => c.username === 'alice')).toMatchObject({ lookupKey: alicesReach.lookupKey, sealKey: alicesReach.sealKey })

    expectError(await server.app.inject({ method: 'GET', url: '/v1/services/reach/alice', headers: alice.auth }), 401, 'unauthorized')
    expectError(await server.app.inject({ method: 'GET', url: '/v1/services/reach/nobody', headers: serviceAuth }), 404, 'not_found')
  })
})

describe('call records (voxmesh calls --history)', () => {
  const record = (over: object = {}): object => ({
    callId: CALL, username: 'alice', direction: 'outbound', number: '+442079460123', startedAt: 1_000_000, answeredAt: 1_002_000, endedAt: 1_063_500,
    billsec: 61, disposition: 'ANSWERED', reason: 'hangup', ...over
  })
  const report = async (body: object, headers = serviceAuth): Promise<LightMyRequestResponse> =>
    await server.app.inject({ method: 'POST', url: '/v1/pstn/records', headers, payload: body })

  it('keeps what the gateway reports once, and shows each user theirs, newest first, with the cost the ledger charged', async () => {
    const alice = await signUp(server, 'alice')
    const bob = await signUp(server, 'bob')
    await server.store.addCredit('alice', 100, 'test', now())
    expect((await authorize({ callId: CALL, username: 'alice', number: '+442079460123' })).statusCode).toBe(200)
    expect((await charge({ callId: CALL, username: 'alice', number: '+442079460123', billsec: 61 })).statusCode).toBe(201)
    expect((await report(record())).statusCode).toBe(201)
    // Reported again after a restart, even differently: the first stands.
    const again = await report(record({ billsec: 5 }))
    expect({ status: again.statusCode, body: again.json() }).toEqual({ status: 200, body: { status: 'exists' } })
    expect((await report(record({ callId: 'call-eeeeeeeeeeeeeeee', number: 'echo', startedAt: 2_000_000, answeredAt: undefined, endedAt: 2_001_000, billsec: 0, disposition: 'BUSY', reason: 'busy' }))).statusCode).toBe(201)
    const history = await server.app.inject({ method: 'GET', url: '/v1/calls/history', headers: alice.auth })
    expect(history.json()).toEqual({
      currency: 'EUR',
      calls: [
        { callId: 'call-eeeeeeeeeeeeeeee', direction: 'outbound', number: 'echo', startedAt: 2_000_000, endedAt: 2_001_000, billsec: 0, cost: 0, disposition: 'BUSY', reason: 'busy' },
        { callId: CALL, direction: 'outbound', number: '+442079460123', startedAt: 1_000_000, answeredAt: 1_002_000, endedAt: 1_063_500, billsec: 61, cost: 4, disposition: 'ANSWERED', reason: 'hangup' }
      ]
    })
    expect((await server.app.inject({ method: 'GET', url: '/v1/calls/history?limit=1', headers: alice.auth })).json().calls).toHaveLength(1)
    expect((await server.app.inject({ method: 'GET', url: '/v1/calls/history', headers: bob.auth })).json()).toEqual({ currency: 'EUR', calls: [] })
  })

  it('refuses records from anyone but a service, for nobody, with times out of order or fields out of bounds', async () => {
    const alice = await signUp(server, 'alice')
    expectError(await report(record(), alice.auth), 401, 'unauthorized')
    expectError(await report(record({ username: 'nobody' })), 404, 'not_found')
    expectError(await report(record({ answeredAt: 999 })), 400, 'invalid_request', /out of order/)
    for (const bad of [{ number: '+12' }, { billsec: 86_401 }, { disposition: 'WHATEVER' }, { reason: 'x'.repeat(33) }, { extra: 1 }, { callerNumber: 'bob' }]) {
      expectError(await report(record(bad)), 400, 'invalid_request')
    }
    expectError(await server.app.inject({ method: 'GET', url: '/v1/calls/history?limit=0', headers: alice.auth }), 400, 'invalid_request')
    expect((await server.app.inject({ method: 'GET', url: '/v1/calls/history', headers: alice.auth })).json().calls).toEqual([])
  })
})
