// The store suite's contact requests, contacts and blocks.
import { describe, expect, it } from 'vitest'
import type { ContactRequest, CreateRequestResult, LoginStore } from '../../login-server/store/store.js'
import { createUsers, NOW, type StoreUnderTest } from './store-suite-common.js'

/** The request a result created or found; fails the test on any other result. */
export function requestOf (result: CreateRequestResult): ContactRequest {
  if (result.kind === 'accepted' || result.kind === 'already_contacts') throw new Error(`expected a pending request, got "${result.kind}"`)
  return result.request
}

/** Every pending request to or from `a` or `b`, as the lists and the counts show them. */
async function pendingState (store: LoginStore, a: string, b: string): Promise<unknown> {
  return {
    incoming: [...await store.listIncomingRequests(a), ...await store.listIncomingRequests(b)],
    outgoing: [...await store.listOutgoingRequests(a), ...await store.listOutgoingRequests(b)],
    counts: [await store.countOutgoingRequests(a), await store.countOutgoingRequests(b)]
  }
}
const NOTHING_PENDING = { incoming: [], outgoing: [], counts: [0, 0] }

export function contactTests ({ store }: StoreUnderTest): void {
  describe('contact requests', () => {
    it('a request is created once; asked again, it is the same request', async () => {
      await createUsers(store(), 'alice', 'bob')
      const created = await store().createContactRequest('alice', 'bob', 'hi', NOW)
      expect(created).toEqual({ kind: 'created', request: { id: expect.any(Number), from: 'alice', to: 'bob', message: 'hi', createdAt: NOW } })
      const request = requestOf(created)
      expect(await store().createContactRequest('alice', 'bob', 'hello again', NOW + 1)).toEqual({ kind: 'exists', request })
      expect(await store().listIncomingRequests('bob')).toEqual([request])
      expect(await store().listOutgoingRequests('alice')).toEqual([request])
      expect([await store().countOutgoingRequests('alice'), await store().countOutgoingRequests('bob')]).toEqual([1, 0])
      expect([await store().listIncomingRequests('alice'), await store().listOutgoingRequests('bob')]).toEqual([[], []])
    })

    it('a request the other way completes the pair: contacts both ways, the first request kept as accepted', async () => {
      await createUsers(store(), 'alice', 'bob')
      const request = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
      expect(await store().createContactRequest('bob', 'alice', 'hi too', NOW + 1)).toEqual({ kind: 'accepted' })
      expect([await store().areContacts('alice', 'bob'), await store().areContacts('bob', 'alice')]).toEqual([true, true])
      expect(await store().listContacts('alice')).toEqual([{ username: 'bob', since: NOW + 1 }])
      expect(await pendingState(store(), 'alice', 'bob')).toEqual(NOTHING_PENDING)
      for (const user of ['alice', 'bob']) expect(await store().listAcceptedRequests(user, NOW + 1)).toEqual([{ ...request, acceptedAt: NOW + 1 }])
      expect(await store().listAcceptedRequests('alice', NOW + 2)).toEqual([])
    })

    it('a hidden request is invisible to its addressee, who cannot answer it, and a reverse request does not complete it', async () => {
      await createUsers(store(), 'alice', 'bob')
      await store().block('alice', 'bob', NOW)
      const hidden = requestOf(await store().createContactRequest('bob', 'alice', 'hello?', NOW))
      expect(await store().listIncomingRequests('alice')).toEqual([])
      expect(await store().listOutgoingRequests('bob')).toEqual([hidden])
      expect(await store().acceptContactRequest(hidden.id, 'alice', NOW + 1)).toBe('not_found')
      expect(await store().declineContactRequest(hidden.id, 'alice')).toBe('not_found')
      expect((await store().createContactRequest('alice', 'bob', 'hi', NOW + 2)).kind).toBe('created')
      expect(await store().areContacts('alice', 'bob')).toBe(false)
    })

    it('decides with the write whether the two are contacts and whether the addressee blocked the sender', async () => {
      await createUsers(store(), 'alice', 'bob', 'carol')
      const request = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
      expect(await store().acceptContactRequest(request.id, 'bob', NOW + 1)).toBe('accepted')
      // Contacts already: nothing is written, either way round.
      expect(await store().createContactRequest('bob', 'alice', 'again', NOW + 2)).toEqual({ kind: 'already_contacts' })
      expect(await store().listOutgoingRequests('bob')).toEqual([])
      // carol, blocked by alice, asks: her request is kept hidden from alice.
      await store().block('alice', 'carol', NOW)
      expect((await store().createContactRequest('carol', 'alice', 'hey', NOW + 3)).kind).toBe('created')
      expect(await store().listIncomingRequests('alice')).toEqual([])
    })

    it('a hidden request does not complete a visible one the other way', async () => {
      await createUsers(store(), 'alice', 'bob')
      const visible = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
      await store().block('alice', 'bob', NOW)
      expect((await store().createContactRequest('bob', 'alice', 'hello?', NOW + 1)).kind).toBe('created')
      expect(await store().areContacts('alice', 'bob')).toBe(false)
      expect(await store().listIncomingRequests('bob')).toEqual([visible])
      expect(await store().listIncomingRequests('alice')).toEqual([])
    })

    it('only the addressee accepts; both become contacts; an answered request is gone', async () => {
      await createUsers(store(), 'alice', 'bob', 'carol')
      const request = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
      expect(await store().acceptContactRequest(request.id, 'alice', NOW + 1)).toBe('not_found')
      expect(await store().acceptContactRequest(request.id, 'carol', NOW + 1)).toBe('not_found')
      expect(await store().acceptContactRequest(request.id, 'bob', NOW + 2)).toBe('accepted')
      expect([await store().areContacts('alice', 'bob'), await store().areContacts('bob', 'alice')]).toEqual([true, true])
      expect(await store().areContacts('alice', 'carol')).toBe(false)
      expect(await pendingState(store(), 'alice', 'bob')).toEqual(NOTHING_PENDING)
      expect(await store().listAcceptedRequests('bob', 0)).toEqual([{ ...request, acceptedAt: NOW + 2 }])
      expect(await store().acceptContactRequest(request.id, 'bob', NOW + 3)).toBe('not_found')
      expect(await store().declineContactRequest(request.id, 'bob')).toBe('not_found')
    })

    it('only the addressee declines; a declined request is gone, and may be asked again', async () => {
      await createUsers(store(), 'alice', 'bob')
      const request = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
      expect(await store().declineContactRequest(request.id, 'alice')).toBe('not_found')
      expect(await store().declineContactRequest(request.id, 'bob')).toBe('declined')
      expect(await store().declineContactRequest(request.id, 'bob')).toBe('not_found')
      expect(await pendingState(store(), 'alice', 'bob')).toEqual(NOTHING_PENDING)
      expect(await store().areContacts('alice', 'bob')).toBe(false)
      expect((await store().createContactRequest('alice', 'bob', 'please?', NOW + 1)).kind).toBe('created')
    })

    it('countOutgoingRequests and the lists hold pending requests only', async () => {
      await createUsers(store(), 'alice', 'bob', 'carol')
      const toBob = requestOf(await store().createContactRequest('alice', 'bob', 'hi bob', NOW))
      const toCarol = requestOf(await store().createContactRequest('alice', 'carol', 'hi carol', NOW + 1))
      expect(await store().listOutgoingRequests('alice')).toEqual([toBob, toCarol])
      await store().acceptContactRequest(toCarol.id, 'carol', NOW + 2)
      expect(await store().countOutgoingRequests('alice')).toBe(1)
      expect(await store().listOutgoingRequests('alice')).toEqual([toBob])
      expect(await store().listIncomingRequests('carol')).toEqual([])
    })
  })
}

export function contactListTests ({ store }: StoreUnderTest): void {
  describe('contacts', () => {
    it('listContacts is sorted by name, each with the time it was made', async () => {
      const others = ['dave', 'bob', 'erin', 'carol']
      await createUsers(store(), 'alice', ...others)
      for (const [i, other] of others.entries()) {
        const request = requestOf(await store().createContactRequest(other, 'alice', '', NOW))
        await store().acceptContactRequest(request.id, 'alice', NOW + i)
      }
      const expected = others.map((username, i) => ({ username, since: NOW + i })).sort((a, b) => a.username < b.username ? -1 : 1)
      expect(await store().listContacts('alice')).toEqual(expected)
      expect(await store().listContacts('bob')).toEqual([{ username: 'alice', since: NOW + others.indexOf('bob') }])
    })

    it('removeContact removes it both ways with the accepted request, once; a new request afterwards is pending again', async () => {
      await createUsers(store(), 'alice', 'bob', 'carol')
      const request = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
      await store().acceptContactRequest(request.id, 'bob', NOW + 1)
      const withCarol = requestOf(await store().createContactRequest('carol', 'alice', 'hi', NOW))
      await store().acceptContactRequest(withCarol.id, 'alice', NOW + 1)

      expect(await store().removeContact('bob', 'alice')).toBe(true)
      expect(await store().removeContact('bob', 'alice')).toBe(false)
      expect([await store().areContacts('alice', 'bob'), await store().areContacts('bob', 'alice')]).toEqual([false, false])
      expect(await store().listContacts('alice')).toEqual([{ username: 'carol', since: NOW + 1 }])
      expect(await store().listAcceptedRequests('bob', 0)).toEqual([])
      expect(await store().listAcceptedRequests('alice', 0)).toEqual([{ ...withCarol, acceptedAt: NOW + 1 }])

      const again = await store().createContactRequest('alice', 'bob', 'hi again', NOW + 2)
      expect(again.kind).toBe('created')
      expect(await store().listIncomingRequests('bob')).toEqual([requestOf(again)])
    })
  })
}

export function blockTests ({ store }: StoreUnderTest): void {
  describe('blocks', () => {
    it('block drops the blocked user\'s pending requests to the owner, and nothing else', async () => {
      await createUsers(store(), 'alice', 'bob', 'carol')
      await store().createContactRequest('bob', 'alice', 'hi', NOW)
      const fromCarol = requestOf(await store().createContactRequest('carol', 'alice', 'hi', NOW))
      const toCarol = requestOf(await store().createContactRequest('bob', 'carol', 'hi', NOW))
      await store().block('alice', 'bob', NOW + 1)
      expect(await store().listIncomingRequests('alice')).toEqual([fromCarol])
      expect(await store().listOutgoingRequests('bob')).toEqual([toCarol])
      expect([await store().isBlocked('alice', 'bob'), await store().isBlocked('bob', 'alice')]).toEqual([true, false])
    })

    it('the owner\'s own request to the blocked user stays', async () => {
      await createUsers(store(), 'alice', 'bob')
      const toBob = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
      await store().block('alice', 'bob', NOW + 1)
      expect(await store().listOutgoingRequests('alice')).toEqual([toBob])
    })

    it('unblock lifts a block once', async () => {
      await createUsers(store(), 'alice', 'bob')
      await store().block('alice', 'bob', NOW)
      expect(await store().unblock('alice', 'bob')).toBe(true)
      expect(await store().isBlocked('alice', 'bob')).toBe(false)
      expect(await store().unblock('alice', 'bob')).toBe(false)
      expect(await store().listBlocks('alice')).toEqual([])
    })

    it('listBlocks is sorted, each blocked user once', async () => {
      const blocked = ['dave', 'bob', 'erin', 'carol']
      await createUsers(store(), 'alice', ...blocked)
      // Blocked in an order neither sorted nor reversed: only a sort gives the names sorted.
      for (const [i, user] of blocked.entries()) await store().block('alice', user, NOW + i)
      await store().block('alice', 'dave', NOW + blocked.length)
      expect(await store().listBlocks('alice')).toEqual([...blocked].sort())
      expect(await store().listBlocks('bob')).toEqual([])
    })
  })
}
