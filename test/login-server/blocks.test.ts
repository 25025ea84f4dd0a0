// Blocks through the HTTP API: a blocked user's requests vanish without telling
// them; and every contacts and blocks route wants a valid bearer token.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { TestLoginServer } from '../helpers/login-server.js'
import { contactsApi, startContactsWorld, type Auth, type RequestView } from './contacts-api.js'

let server: TestLoginServer
let alice: Auth
let bob: Auth
let carol: Auth

beforeEach(async () => {
  ({ server, alice, bob, carol } = await startContactsWorld())
})

afterEach(async () => {
  await server?.close()
})

const { sendRequest, requests, contactNames, answer, block, unblock, aliceAsksBob } = contactsApi(() => ({ server, alice }))

describe('blocks', () => {
  it('blocking is 204 and listed; unblocking is 204, then 404', async () => {
    const res = await block(alice, 'bob')
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    // Blocking again is harmless.
    expect((await block(alice, 'bob')).statusCode).toBe(204)
    const listed = await server.app.inject({ method: 'GET', url: '/v1/blocks', headers: alice })
    expect(listed.statusCode).toBe(200)
    expect(listed.json()).toEqual({ blocked: ['bob'] })
    // Blocks are one-sided.
    expect((await server.app.inject({ method: 'GET', url: '/v1/blocks', headers: bob })).json()).toEqual({ blocked: [] })

    expect((await unblock(alice, 'bob')).statusCode).toBe(204)
    expect((await server.app.inject({ method: 'GET', url: '/v1/blocks', headers: alice })).json()).toEqual({ blocked: [] })
    const again = await unblock(alice, 'bob')
    expect(again.statusCode).toBe(404)
    expect((again.json() as { error: { code: string } }).error.code).toBe('not_found')
  })

  it('blocking yourself is 400, an unknown user 404', async () => {
    const self = await block(alice, 'alice')
    expect(self.statusCode).toBe(400)
    expect((self.json() as { error: { code: string } }).error.code).toBe('invalid_request')
    expect((await block(alice, 'nobody')).statusCode).toBe(404)
    expect((await server.app.inject({ method: 'GET', url: '/v1/blocks', headers: alice })).json()).toEqual({ blocked: [] })
  })

  it('a pending request from the blocked user vanishes from the blocker\'s incoming list', async () => {
    const fromBob = (await sendRequest(bob, 'alice', 'bob asks')).json() as { request: RequestView }
    const fromCarol = (await sendRequest(carol, 'alice', 'carol asks')).json() as { request: RequestView }
    expect((await requests(alice)).incoming.map(r => r.from)).toEqual(['bob', 'carol'])

    expect((await block(alice, 'bob')).statusCode).toBe(204)
    expect((await requests(alice)).incoming).toEqual([fromCarol.request])
    expect((await answer(alice, fromBob.request.id, 'accept')).statusCode).toBe(404)
    expect(await contactNames(alice)).toEqual([])
  })

  it('a blocked user\'s new request looks pending to them but never reaches the blocker', async () => {
    expect((await block(alice, 'bob')).statusCode).toBe(204)
    const res = await sendRequest(bob, 'alice', 'let me in')
    // Exactly what an ordinary request answers: the sender learns nothing.
    expect(res.statusCode).toBe(201)
    const body = res.json() as { status: string, request: RequestView }
    expect(body.status).toBe('pending')
    expect(body.request).toMatchObject({ from: 'bob', to: 'alice', message: 'let me in' })
    expect(Object.keys(body.request).sort()).toEqual(['createdAt', 'from', 'id', 'message', 'to'])
    expect((await requests(bob)).outgoing).toEqual([body.request])

    expect((await requests(alice)).incoming).toEqual([])
    for (const verb of ['accept', 'decline'] as const) {
      expect((await answer(alice, body.request.id, verb)).statusCode).toBe(404)
    }
    expect(await contactNames(alice)).toEqual([])
    expect(await contactNames(bob)).toEqual([])
    // Asking again is still an ordinary duplicate for bob.
    const again = await sendRequest(bob, 'alice', 'please')
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual({ status: 'pending', request: body.request })
  })

  it('a blocked user\'s request does not complete a pending request from the blocker', async () => {
    const fromAlice = await aliceAsksBob('alice asks first')
    expect((await block(alice, 'bob')).statusCode).toBe(204)
    const res = await sendRequest(bob, 'alice', 'bob asks back')
    expect(res.statusCode).toBe(201)
    expect((res.json() as { status: string }).status).toBe('pending')
    expect(await contactNames(alice)).toEqual([])
    expect(await contactNames(bob)).toEqual([])
    // Alice's own request is still out there; bob's never reaches her.
    expect((await requests(alice)).outgoing).toEqual([fromAlice])
    expect((await requests(alice)).incoming).toEqual([])
  })

  it('a hidden request cannot be accepted by the blocker asking the blocked user either', async () => {
    expect((await block(alice, 'bob')).statusCode).toBe(204)
    const hidden = (await sendRequest(bob, 'alice', 'hidden')).json() as { request: RequestView }
    // Alice asks bob without knowing bob asked her: an ordinary new request,
    // not a completion that would reveal bob's hidden one.
    const res = await sendRequest(alice, 'bob', 'alice asks')
    expect(res.statusCode).toBe(201)
    expect((res.json() as { status: string }).status).toBe('pending')
    expect(await contactNames(alice)).toEqual([])
    expect((await requests(alice)).incoming).toEqual([])
    expect((await requests(bob)).outgoing).toEqual([hidden.request])
    // Bob decides: accepting alice's request makes them contacts.
    const aliceRequest = (await requests(bob)).incoming[0] as RequestView
    expect(aliceRequest.from).toBe('alice')
    expect((await answer(bob, aliceRequest.id, 'accept')).statusCode).toBe(200)
    expect(await contactNames(alice)).toEqual(['bob'])
    // Bob's hidden request is gone; alice's accepted one is listed.
    expect(await requests(bob)).toEqual({ incoming: [], outgoing: [], accepted: [{ ...aliceRequest, acceptedAt: expect.any(Number) }] })
  })

  it('after unblocking, the formerly blocked user can reach the addressee again', async () => {
    expect((await block(alice, 'bob')).statusCode).toBe(204)
    expect((await sendRequest(bob, 'alice', 'while blocked')).statusCode).toBe(201)
    expect((await unblock(alice, 'bob')).statusCode).toBe(204)
    expect((await requests(alice)).incoming).toEqual([])

    const res = await sendRequest(bob, 'alice', 'after unblock')
    expect([200, 201]).toContain(res.statusCode)
    expect((res.json() as { status: string }).status).toBe('pending')
    const incoming = (await requests(alice)).incoming
    expect(incoming.map(r => r.from)).toEqual(['bob'])
    expect((await answer(alice, (incoming[0] as RequestView).id, 'accept')).statusCode).toBe(200)
    expect(await contactNames(alice)).toEqual(['bob'])
    expect(await contactNames(bob)).toEqual(['alice'])
  })

  it('a block does not hide requests from other users', async () => {
    expect((await block(alice, 'bob')).statusCode).toBe(204)
    const res = await sendRequest(carol, 'alice')
    expect(res.statusCode).toBe(201)
    expect((await requests(alice)).incoming.map(r => r.from)).toEqual(['carol'])
  })
})

describe('authentication', () => {
  const routes: Array<{ method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object }> = [
    { method: 'POST', url: '/v1/contacts/requests', payload: { to: 'bob' } },
    { method: 'GET', url: '/v1/contacts/requests' },
    { method: 'POST', url: '/v1/contacts/requests/1/accept' },
    { method: 'POST', url: '/v1/contacts/requests/1/decline' },
    { method: 'GET', url: '/v1/contacts' },
    { method: 'DELETE', url: '/v1/contacts/bob' },
    { method: 'POST', url: '/v1/blocks', payload: { username: 'bob' } },
    { method: 'GET', url: '/v1/blocks' },
    { method: 'DELETE', url: '/v1/blocks/bob' }
  ]

  it.each(routes)('$method $url without a valid bearer token is 401', async route => {
    for (const headers of [{}, { authorization: 'Bearer ' + 'A'.repeat(43) }, { authorization: 'Basic YWxpY2U6cHc=' }]) {
      const res = await server.app.inject({ method: route.method, url: route.url, headers, ...(route.payload === undefined ? {} : { payload: route.payload }) })
      expect(res.statusCode, JSON.stringify(headers)).toBe(401)
      expect((res.json() as { error: { code: string } }).error.code).toBe('unauthorized')
    }
  })

  it('a logged-out token is refused', async () => {
    expect((await server.app.inject({ method: 'DELETE', url: '/v1/sessions', headers: carol })).statusCode).toBe(204)
    const res = await server.app.inject({ method: 'GET', url: '/v1/contacts', headers: carol })
    expect(res.statusCode).toBe(401)
  })
})
