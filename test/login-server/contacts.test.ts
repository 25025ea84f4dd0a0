// Contacts through the HTTP API: Skype's model of a request the addressee
// accepts or declines, and mutual contacts (blocks: blocks.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { TestLoginServer } from '../helpers/login-server.js'
import { contactsApi, startContactsWorld, type Auth, type ContactsBody, type RequestView } from './contacts-api.js'

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

const { sendRequest, requests, contactNames, answer, aliceAsksBob } = contactsApi(() => ({ server, alice }))

describe('contact requests', () => {
  it('creates a pending request that the sender sees outgoing and the addressee incoming', async () => {
    const before = Math.floor(server.now() / 1000)
    const res = await sendRequest(alice, 'bob', 'hi bob, it is alice')
    const after = Math.floor(server.now() / 1000)
    expect(res.statusCode).toBe(201)
    const body = res.json() as { status: string, request: RequestView }
    expect(body.status).toBe('pending')
    expect(body.request).toMatchObject({ from: 'alice', to: 'bob', message: 'hi bob, it is alice' })
    expect(body.request.id).toBeGreaterThan(0)
    // The request is stamped with the server clock, read between the two samples (a second may tick over).
    expect(body.request.createdAt).toBeGreaterThanOrEqual(before)
    expect(body.request.createdAt).toBeLessThanOrEqual(after)

    const forAlice = await requests(alice)
    expect(forAlice.outgoing).toEqual([body.request])
    expect(forAlice.incoming).toEqual([])
    const forBob = await requests(bob)
    expect(forBob.incoming).toEqual([body.request])
    expect(forBob.incoming[0]?.message).toBe('hi bob, it is alice')
    expect(forBob.outgoing).toEqual([])
    expect(await requests(carol)).toEqual({ incoming: [], outgoing: [], accepted: [] })
    // Pending is not a contact yet.
    expect(await contactNames(alice)).toEqual([])
    expect(await contactNames(bob)).toEqual([])
  })

  it('stores an omitted message as empty and accepts usernames in any case', async () => {
    const res = await sendRequest(alice, 'BoB')
    expect(res.statusCode).toBe(201)
    expect((res.json() as { request: RequestView }).request).toMatchObject({ from: 'alice', to: 'bob', message: '' })
  })

  it('accepting makes both users contacts of each other and moves the request to both sides\' accepted list', async () => {
    const request = await aliceAsksBob()
    const before = Math.floor(server.now() / 1000)
    const res = await answer(bob, request.id, 'accept')
    const after = Math.floor(server.now() / 1000)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'accepted' })

    expect(await contactNames(alice)).toEqual(['bob'])
    expect(await contactNames(bob)).toEqual(['alice'])
    expect(await contactNames(carol)).toEqual([])
    const since = ((await server.app.inject({ method: 'GET', url: '/v1/contacts', headers: alice })).json() as ContactsBody).contacts[0]?.since
    expect(since).toBeGreaterThanOrEqual(before)
    expect(since).toBeLessThanOrEqual(after)
    const accepted = { ...request, acceptedAt: since }
    expect(await requests(alice)).toEqual({ incoming: [], outgoing: [], accepted: [accepted] })
    expect(await requests(bob)).toEqual({ incoming: [], outgoing: [], accepted: [accepted] })
    expect(await requests(carol)).toEqual({ incoming: [], outgoing: [], accepted: [] })
    // No longer pending: answering it again finds nothing.
    expect((await answer(bob, request.id, 'accept')).statusCode).toBe(404)
    expect((await answer(bob, request.id, 'decline')).statusCode).toBe(404)
  })

  it('only the addressee may accept or decline: the sender and third users get 404', async () => {
    const request = await aliceAsksBob()
    for (const [who, auth] of [['alice', alice], ['carol', carol]] as const) {
      for (const verb of ['accept', 'decline'] as const) {
        const res = await answer(auth, request.id, verb)
        expect(res.statusCode, `${who} ${verb}`).toBe(404)
        expect((res.json() as { error: { code: string } }).error.code).toBe('not_found')
      }
    }
    // Nothing changed.
    expect(await contactNames(alice)).toEqual([])
    expect((await requests(bob)).incoming.map(r => r.id)).toEqual([request.id])
    expect((await requests(alice)).outgoing.map(r => r.id)).toEqual([request.id])
  })

  it('an unknown request id is 404', async () => {
    const request = await aliceAsksBob()
    expect((await answer(bob, request.id + 1000, 'accept')).statusCode).toBe(404)
    expect((await answer(bob, request.id + 1000, 'decline')).statusCode).toBe(404)
  })

  it('declining removes the request for both sides and makes no contact', async () => {
    const request = await aliceAsksBob()
    const res = await answer(bob, request.id, 'decline')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'declined' })
    expect(await requests(alice)).toEqual({ incoming: [], outgoing: [], accepted: [] })
    expect(await requests(bob)).toEqual({ incoming: [], outgoing: [], accepted: [] })
    expect(await contactNames(alice)).toEqual([])
    expect(await contactNames(bob)).toEqual([])
    expect((await answer(bob, request.id, 'accept')).statusCode).toBe(404)
    // A declined sender may ask again.
    expect((await sendRequest(alice, 'bob')).statusCode).toBe(201)
  })

  it('a duplicate request returns 200 with the same request and adds no second one', async () => {
    const first = await aliceAsksBob('first words')
    const again = await sendRequest(alice, 'bob', 'second words')
    expect(again.statusCode).toBe(200)
    expect(again.json()).toEqual({ status: 'pending', request: first })
    expect((await requests(alice)).outgoing).toEqual([first])
    expect((await requests(bob)).incoming).toEqual([first])
  })

  it('asking someone who already asked you completes the pair', async () => {
    const bobsRequest = (await sendRequest(bob, 'alice', 'bob here')).json() as { request: RequestView }
    expect(bobsRequest.request.from).toBe('bob')
    const res = await sendRequest(alice, 'bob', 'alice here')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'accepted' })
    expect(await contactNames(alice)).toEqual(['bob'])
    expect(await contactNames(bob)).toEqual(['alice'])
    // Bob's request is the one accepted (by alice asking back); both see it.
    const accepted = [{ ...bobsRequest.request, acceptedAt: expect.any(Number) }]
    expect(await requests(alice)).toEqual({ incoming: [], outgoing: [], accepted })
    expect(await requests(bob)).toEqual({ incoming: [], outgoing: [], accepted })
  })

  it('a request to yourself is 400', async () => {
    const res = await sendRequest(alice, 'alice')
    expect(res.statusCode).toBe(400)
    expect((res.json() as { error: { code: string } }).error.code).toBe('invalid_request')
    expect(await requests(alice)).toEqual({ incoming: [], outgoing: [], accepted: [] })
  })

  it('a request to an unknown user is 404; to an invalid username 400', async () => {
    const unknown = await sendRequest(alice, 'nobody')
    expect(unknown.statusCode).toBe(404)
    expect((unknown.json() as { error: { code: string } }).error.code).toBe('not_found')
    const invalid = await sendRequest(alice, 'no spaces allowed')
    expect(invalid.statusCode).toBe(400)
    expect((invalid.json() as { error: { code: string, message: string } }).error).toEqual({
      code: 'invalid_username',
      message: '"no spaces allowed" is not a valid username: usernames are 3–32 characters of a-z, 0-9, ".", "_" or "-"'
    })
    expect((await requests(alice)).outgoing).toEqual([])
  })

  it('a request to an existing contact is 409 already_contacts', async () => {
    const request = await aliceAsksBob()
    expect((await answer(bob, request.id, 'accept')).statusCode).toBe(200)
    for (const [from, to] of [[alice, 'bob'], [bob, 'alice']] as const) {
      const res = await sendRequest(from, to)
      expect(res.statusCode).toBe(409)
      expect((res.json() as { error: { code: string } }).error.code).toBe('already_contacts')
    }
    expect(await requests(alice)).toEqual({ incoming: [], outgoing: [], accepted: [{ ...request, acceptedAt: expect.any(Number) }] })
  })

  it('a message of 500 characters is accepted, 501 or control characters are 400', async () => {
    // 500 characters, each two UTF-16 code units: counted as characters, not units.
    const emoji = '\u{1F600}'.repeat(500)
    const ok = await sendRequest(alice, 'bob', emoji)
    expect(ok.statusCode).toBe(201)
    expect((ok.json() as { request: RequestView }).request.message).toBe(emoji)

    const long = await sendRequest(alice, 'carol', 'x'.repeat(501))
    expect(long.statusCode).toBe(400)
    // C0, DEL and C1 controls (U+009B is a terminal's 8-bit CSI) are refused.
    for (const control of ['ring\u0007ring', 'del\u007f', 'csi\u009b31m', 'nel\u0085']) {
      const res = await sendRequest(alice, 'carol', control)
      expect(res.statusCode, JSON.stringify(control)).toBe(400)
      expect((res.json() as { error: { code: string } }).error.code).toBe('invalid_request')
    }
    expect((await requests(carol)).incoming).toEqual([])
    // Line breaks and tabs are text, not controls.
    const multiline = await sendRequest(alice, 'carol', 'hello carol,\n\tit is alice')
    expect(multiline.statusCode).toBe(201)
  })

  it('an id that is not a positive safe integer is 400', async () => {
    await aliceAsksBob()
    for (const id of ['abc', '-1', '0', '1.5', '99999999999999999999', '9007199254740993']) {
      for (const verb of ['accept', 'decline'] as const) {
        const res = await answer(bob, id, verb)
        expect(res.statusCode, `${verb} ${id}`).toBe(400)
        expect((res.json() as { error: { code: string } }).error.code).toBe('invalid_request')
      }
    }
    expect((await requests(bob)).incoming).toHaveLength(1)
  })
})

describe('removing contacts', () => {
  it('DELETE /v1/contacts/{username} removes the contact both ways; again is 404', async () => {
    const request = await aliceAsksBob()
    expect((await answer(bob, request.id, 'accept')).statusCode).toBe(200)
    const removed = await server.app.inject({ method: 'DELETE', url: '/v1/contacts/bob', headers: alice })
    expect(removed.statusCode).toBe(204)
    expect(removed.body).toBe('')
    expect(await contactNames(alice)).toEqual([])
    expect(await contactNames(bob)).toEqual([])

    const again = await server.app.inject({ method: 'DELETE', url: '/v1/contacts/bob', headers: alice })
    expect(again.statusCode).toBe(404)
    const fromBob = await server.app.inject({ method: 'DELETE', url: '/v1/contacts/alice', headers: bob })
    expect(fromBob.statusCode).toBe(404)
    // No longer contacts: a new request is possible.
    expect((await sendRequest(bob, 'alice')).statusCode).toBe(201)
  })

  it('removing someone who is not a contact is 404 and leaves other contacts alone', async () => {
    const request = await aliceAsksBob()
    expect((await answer(bob, request.id, 'accept')).statusCode).toBe(200)
    const res = await server.app.inject({ method: 'DELETE', url: '/v1/contacts/carol', headers: alice })
    expect(res.statusCode).toBe(404)
    expect(await contactNames(alice)).toEqual(['bob'])
  })
})
