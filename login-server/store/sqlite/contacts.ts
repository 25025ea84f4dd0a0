// Contact requests and the contact lists they make: a request accepted (or
// answered by a request the other way) makes both users contacts of each other.
import type Database from 'better-sqlite3'
import type { Contact, CreateRequestResult, LoginStore } from '../store.js'
import { toAccepted, toRequest, type RequestRow } from '../rows.js'

function prepareContactQueries (db: Database.Database) {
  return {
    getRequestBetween: db.prepare<[string, string], RequestRow>('SELECT * FROM contact_requests WHERE from_user = ? AND to_user = ? AND accepted_at IS NULL'),
    deleteAcceptedBetween: db.prepare('DELETE FROM contact_requests WHERE from_user = ? AND to_user = ? AND accepted_at IS NOT NULL'),
    insertRequest: db.prepare<[string, string, string, number, number], RequestRow>(
      'INSERT INTO contact_requests (from_user, to_user, message, created_at, hidden) VALUES (?, ?, ?, ?, ?) RETURNING *'),
    countOutgoing: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM contact_requests WHERE from_user = ? AND accepted_at IS NULL'),
    listIncoming: db.prepare<[string], RequestRow>('SELECT * FROM contact_requests WHERE to_user = ? AND hidden = 0 AND accepted_at IS NULL ORDER BY id'),
    listOutgoing: db.prepare<[string], RequestRow>('SELECT * FROM contact_requests WHERE from_user = ? AND accepted_at IS NULL ORDER BY id'),
    listAccepted: db.prepare<[string, string, number], RequestRow>(
      'SELECT * FROM contact_requests WHERE (from_user = ? OR to_user = ?) AND accepted_at >= ? ORDER BY accepted_at, id'),
    getIncomingRequest: db.prepare<[number, string], RequestRow>('SELECT * FROM contact_requests WHERE id = ? AND to_user = ? AND hidden = 0 AND accepted_at IS NULL'),
    deleteRequest: db.prepare('DELETE FROM contact_requests WHERE id = ?'),
    unhideRequest: db.prepare('UPDATE contact_requests SET hidden = 0 WHERE id = ?'),
    markAccepted: db.prepare('UPDATE contact_requests SET accepted_at = ? WHERE id = ?'),
    deleteOtherRequestsBetween: db.prepare('DELETE FROM contact_requests WHERE ((from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?)) AND id != ?'),
    deleteRequestsBetween: db.prepare('DELETE FROM contact_requests WHERE (from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?)'),
    insertContact: db.prepare('INSERT INTO contacts (owner, contact, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    isContact: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM contacts WHERE owner = ? AND contact = ?'),
    isBlocked: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM blocks WHERE owner = ? AND blocked = ?'),
    listContacts: db.prepare<[string], { contact: string, since: number }>('SELECT contact, since FROM contacts WHERE owner = ? ORDER BY contact'),
    deleteContact: db.prepare('DELETE FROM contacts WHERE (owner = ? AND contact = ?) OR (owner = ? AND contact = ?)')
  }
}

export type ContactMethods = Pick<LoginStore,
  'createContactRequest' | 'countOutgoingRequests' | 'listIncomingRequests' | 'listOutgoingRequests' | 'listAcceptedRequests' |
  'acceptContactRequest' | 'declineContactRequest' | 'areContacts' | 'listContacts' | 'removeContact'>

export function createContactMethods (db: Database.Database): ContactMethods {
  const q = prepareContactQueries(db)

  /** `accepted` is kept (as accepted) so both users see it; any other request between them goes. */
  const makeContacts = (accepted: RequestRow, now: number): void => {
    const { from_user: a, to_user: b } = accepted
    q.insertContact.run(a, b, now)
    q.insertContact.run(b, a, now)
    q.markAccepted.run(now, accepted.id)
    q.deleteOtherRequestsBetween.run(a, b, b, a, accepted.id)
  }

  const createContactRequest = db.transaction((from: string, to: string, message: string, now: number): CreateRequestResult => {
    if (q.isContact.get(from, to) !== undefined) return { kind: 'already_contacts' }
    const hidden = q.isBlocked.get(to, from) !== undefined
    const reverse = q.getRequestBetween.get(to, from)
    // Both asked: the second request is an acceptance (unless it is hidden,
    // i.e. `to` has blocked `from`, who must learn nothing from it; or the
    // reverse one is hidden, which `from` never saw and so cannot accept).
    if (reverse !== undefined && reverse.hidden === 0 && !hidden) {
      makeContacts(reverse, now)
      return { kind: 'accepted' }
    }
    // An accepted request left over from a contact since removed: this one replaces it.
    q.deleteAcceptedBetween.run(from, to)
    const existing = q.getRequestBetween.get(from, to)
    if (existing !== undefined) {
      // Sent while blocked, repeated after the unblock: it reaches `to` now.
      if (existing.hidden !== 0 && !hidden) q.unhideRequest.run(existing.id)
      return { kind: 'exists', request: toRequest(existing) }
    }
    return { kind: 'created', request: toRequest(q.insertRequest.get(from, to, message, now, hidden ? 1 : 0) as RequestRow) }
  })

  const acceptContactRequest = db.transaction((id: number, username: string, now: number): 'accepted' | 'not_found' => {
    const request = q.getIncomingRequest.get(id, username)
    if (request === undefined) return 'not_found'
    makeContacts(request, now)
    return 'accepted'
  })

  const removeContact = db.transaction((a: string, b: string): boolean => {
    const removed = q.deleteContact.run(a, b, b, a).changes > 0
    if (removed) q.deleteRequestsBetween.run(a, b, b, a)
    return removed
  })

  return {
    async createContactRequest (from, to, message, now) {
      return createContactRequest(from, to, message, now)
    },
    async countOutgoingRequests (from) {
      return (q.countOutgoing.get(from) as { n: number }).n
    },
    async listIncomingRequests (username) {
      return q.listIncoming.all(username).map(toRequest)
    },
    async listOutgoingRequests (username) {
      return q.listOutgoing.all(username).map(toRequest)
    },
    async listAcceptedRequests (username, since) {
      return q.listAccepted.all(username, username, since).map(toAccepted)
    },
    async acceptContactRequest (id, username, now) {
      return acceptContactRequest(id, username, now)
    },
    async declineContactRequest (id, username) {
      const request = q.getIncomingRequest.get(id, username)
      if (request === undefined) return 'not_found'
      q.deleteRequest.run(id)
      return 'declined'
    },
    async areContacts (a, b) {
      return q.isContact.get(a, b) !== undefined
    },
    async listContacts (username): Promise<Contact[]> {
      return q.listContacts.all(username).map(row => ({ username: row.contact, since: row.since }))
    },
    async removeContact (username, contact) {
      return removeContact(username, contact)
    }
  }
}
