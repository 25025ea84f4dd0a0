// The contacts HTTP API as the contacts and blocks tests drive it: a fresh login
// server with alice, bob and carol signed up, and one helper per route.
import { expect } from 'vitest'
import { createTestLoginServer, signUp, type TestLoginServer } from '../helpers/login-server.js'

export interface RequestView { id: number, from: string, to: string, message: string, createdAt: number }
export interface AcceptedView extends RequestView { acceptedAt: number }
export interface RequestsBody { incoming: RequestView[], outgoing: RequestView[], accepted: AcceptedView[] }
export interface ContactsBody { contacts: Array<{ username: string, since: number }> }
export type Auth = Record<string, string>

export interface ContactsWorld { server: TestLoginServer, alice: Auth, bob: Auth, carol: Auth }

/** A login server with alice, bob and carol signed up and logged in. */
export async function startContactsWorld (): Promise<ContactsWorld> {
  const server = await createTestLoginServer()
  const alice = (await signUp(server, 'alice')).auth
  const bob = (await signUp(server, 'bob')).auth
  const carol = (await signUp(server, 'carol')).auth
  return { server, alice, bob, carol }
}

/** The route helpers; `world` is read at each call (the test's beforeEach replaces it). */
export function contactsApi (world: () => Pick<ContactsWorld, 'server' | 'alice'>) {
  async function sendRequest (auth: Auth, to: string, message?: string) {
    return await world().server.app.inject({
      method: 'POST', url: '/v1/contacts/requests', headers: auth, payload: message === undefined ? { to } : { to, message }
    })
  }

  async function requests (auth: Auth): Promise<RequestsBody> {
    const res = await world().server.app.inject({ method: 'GET', url: '/v1/contacts/requests', headers: auth })
    expect(res.statusCode).toBe(200)
    return res.json() as RequestsBody
  }

  async function contactNames (auth: Auth): Promise<string[]> {
    const res = await world().server.app.inject({ method: 'GET', url: '/v1/contacts', headers: auth })
    expect(res.statusCode).toBe(200)
    return (res.json() as ContactsBody).contacts.map(contact => contact.username)
  }

  async function answer (auth: Auth, id: number | string, verb: 'accept' | 'decline') {
    return await world().server.app.inject({ method: 'POST', url: `/v1/contacts/requests/${id}/${verb}`, headers: auth })
  }

  async function block (auth: Auth, username: string) {
    return await world().server.app.inject({ method: 'POST', url: '/v1/blocks', headers: auth, payload: { username } })
  }

  async function unblock (auth: Auth, username: string) {
    return await world().server.app.inject({ method: 'DELETE', url: `/v1/blocks/${username}`, headers: auth })
  }

  /** Sends alice → bob and returns the created request. */
  async function aliceAsksBob (message = 'hi bob'): Promise<RequestView> {
    const res = await sendRequest(world().alice, 'bob', message)
    expect(res.statusCode).toBe(201)
    return (res.json() as { request: RequestView }).request
  }

  return { sendRequest, requests, contactNames, answer, block, unblock, aliceAsksBob }
}
