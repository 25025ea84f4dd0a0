// Contact requests and the contact lists they make: a request accepted (or answered by a
// request the other way) makes both users contacts of each other. Everything that writes
// between two users holds their pair's lock: two instances taking a request each way at
// once make one contact pair, not two pending requests.
import type { CreateRequestResult } from '../store.js'
import { toAccepted, toRequest, type RequestRow } from '../rows.js'
import type { ContactMethods } from '../sqlite/contacts.js'
import type { PostgresDatabase, Queryable } from './database.js'

/** The advisory lock of everything between users `a` and `b` (either order). */
export const pairLock = (a: string, b: string): string => `pair:${[a, b].sort().join(' ')}`

const pendingBetween = async (client: Queryable, from: string, to: string): Promise<RequestRow | undefined> =>
  (await client.query<RequestRow>('SELECT * FROM contact_requests WHERE from_user = $1 AND to_user = $2 AND accepted_at IS NULL', [from, to])).rows[0]

/** `accepted` is kept (as accepted) so both users see it; any other request between them goes. */
async function makeContacts (client: Queryable, accepted: RequestRow, now: number): Promise<void> {
  const { from_user: a, to_user: b } = accepted
  await client.query('INSERT INTO contacts (owner, contact, since) VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING', [a, b, now])
  await client.query('UPDATE contact_requests SET accepted_at = $1 WHERE id = $2', [now, accepted.id])
  await client.query('DELETE FROM contact_requests WHERE ((from_user = $1 AND to_user = $2) OR (from_user = $2 AND to_user = $1)) AND id != $3', [a, b, accepted.id])
}

export function createContactMethods ({ pool, transaction }: PostgresDatabase): ContactMethods {
  const incoming = async (client: Queryable, id: number, username: string): Promise<RequestRow | undefined> =>
    (await client.query<RequestRow>('SELECT * FROM contact_requests WHERE id = $1 AND to_user = $2 AND NOT hidden AND accepted_at IS NULL', [id, username])).rows[0]

  return {
    async createContactRequest (from, to, message, now) {
      return await transaction([pairLock(from, to)], async (client): Promise<CreateRequestResult> => {
        if ((await client.query('SELECT 1 FROM contacts WHERE owner = $1 AND contact = $2', [from, to])).rowCount === 1) return { kind: 'already_contacts' }
        // block() takes the same pair lock: a block made now is either seen here or made after this request.
        const hidden = (await client.query('SELECT 1 FROM blocks WHERE owner = $1 AND blocked = $2', [to, from])).rowCount === 1
        const reverse = await pendingBetween(client, to, from)
        // Both asked: the second request is an acceptance (unless it is hidden, i.e. `to` has
        // blocked `from`, who must learn nothing from it; or the reverse one is hidden, which
        // `from` never saw and so cannot accept).
        if (reverse !== undefined && !reverse.hidden && !hidden) {
          await makeContacts(client, reverse, now)
          return { kind: 'accepted' }
        }
        // An accepted request left over from a contact since removed: this one replaces it.
        await client.query('DELETE FROM contact_requests WHERE from_user = $1 AND to_user = $2 AND accepted_at IS NOT NULL', [from, to])
        const existing = await pendingBetween(client, from, to)
        if (existing !== undefined) {
          // Sent while blocked, repeated after the unblock: it reaches `to` now.
          if (existing.hidden && !hidden) await client.query('UPDATE contact_requests SET hidden = false WHERE id = $1', [existing.id])
          return { kind: 'exists', request: toRequest(existing) }
        }
        const created = (await client.query<RequestRow>('INSERT INTO contact_requests (from_user, to_user, message, created_at, hidden) VALUES ($1, $2, $3, $4, $5) RETURNING *',
          [from, to, message, now, hidden])).rows[0] as RequestRow
        return { kind: 'created', request: toRequest(created) }
      })
    },
    async countOutgoingRequests (from) {
      return (await pool.query<{ n: number }>('SELECT count(*) AS n FROM contact_requests WHERE from_user = $1 AND accepted_at IS NULL', [from])).rows[0]?.n ?? 0
    },
    async listIncomingRequests (username) {
      return (await pool.query<RequestRow>('SELECT * FROM contact_requests WHERE to_user = $1 AND NOT hidden AND accepted_at IS NULL ORDER BY id', [username])).rows.map(toRequest)
    },
    async listOutgoingRequests (username) {
      return (await pool.query<RequestRow>('SELECT * FROM contact_requests WHERE from_user = $1 AND accepted_at IS NULL ORDER BY id', [username])).rows.map(toRequest)
    },
    async listAcceptedRequests (username, since) {
      return (await pool.query<RequestRow>('SELECT * FROM contact_requests WHERE (from_user = $1 OR to_user = $1) AND accepted_at >= $2 ORDER BY accepted_at, id',
        [username, since])).rows.map(toAccepted)
    },
    async acceptContactRequest (id, username, now) {
      const request = await incoming(pool, id, username)
      if (request === undefined) return 'not_found'
      return await transaction([pairLock(request.from_user, request.to_user)], async client => {
        // Read again under the lock: another instance may have answered it meanwhile.
        const current = await incoming(client, id, username)
        if (current === undefined) return 'not_found'
        await makeContacts(client, current, now)
        return 'accepted'
      })
    },
    async declineContactRequest (id, username) {
      const request = await incoming(pool, id, username)
      if (request === undefined) return 'not_found'
      // Under the pair's lock, as an acceptance is: otherwise an acceptance that read the request
      // as pending would make the contacts while this deletes the request it marks accepted.
      return await transaction([pairLock(request.from_user, request.to_user)], async client => {
        const result = await client.query('DELETE FROM contact_requests WHERE id = $1 AND to_user = $2 AND NOT hidden AND accepted_at IS NULL', [id, username])
        return result.rowCount === 1 ? 'declined' : 'not_found'
      })
    },
    async areContacts (a, b) {
      return (await pool.query('SELECT 1 FROM contacts WHERE owner = $1 AND contact = $2', [a, b])).rowCount === 1
    },
    async listContacts (username) {
      return (await pool.query<{ contact: string, since: number }>('SELECT contact, since FROM contacts WHERE owner = $1 ORDER BY contact COLLATE "C"', [username]))
        .rows.map(row => ({ username: row.contact, since: row.since }))
    },
    async removeContact (a, b) {
      return await transaction([pairLock(a, b)], async client => {
        const removed = ((await client.query('DELETE FROM contacts WHERE (owner = $1 AND contact = $2) OR (owner = $2 AND contact = $1)', [a, b])).rowCount ?? 0) > 0
        if (removed) await client.query('DELETE FROM contact_requests WHERE (from_user = $1 AND to_user = $2) OR (from_user = $2 AND to_user = $1)', [a, b])
        return removed
      })
    }
  }
}
