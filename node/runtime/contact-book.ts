// The user's contacts: the login server is the authority (requests, accepts,
// blocks); the overlay carries the news at once (contact-request and
// contact-accepted envelopes) and the audience of our presence.
import { UserError } from '../../common/user-error.js'
import { normalizeUsername } from '../../common/usernames.js'
import type { Host } from '../overlay/host.js'
import type { Logger } from '../overlay/logger.js'
import type { PresenceStatus } from '../overlay/messages.js'
import type { LoginSession } from './login-session.js'
import type { ContactRequestView, ContactRequestsView, ContactView, NodeEvent } from './api.js'

export interface ContactBook {
  refresh: () => Promise<void>
  /** Who may see our presence: contacts who are not blocked. */
  audience: () => string[]
  /** Whether to act on a delivery: nothing from blocked users; presence and texts only from contacts. */
  accepts: (from: string, type: string) => boolean
  list: (presenceOf: (user: string) => PresenceStatus) => ContactView[]
  requests: () => Promise<ContactRequestsView>
  add: (username: string, message?: string) => Promise<{ status: 'pending' | 'accepted' }>
  accept: (username: string) => Promise<void>
  decline: (username: string) => Promise<void>
  remove: (username: string) => Promise<void>
  block: (username: string) => Promise<void>
  unblock: (username: string) => Promise<void>
}

export function createContactBook (deps: { session: LoginSession, log: Logger, emit: (event: NodeEvent) => void, getHost: () => Host | undefined }): ContactBook {
  const { session, emit } = deps
  const client = session.client
  let contacts = new Map<string, number>()
  let blocked = new Set<string>()

  const name = (input: string): string => {
    const username = normalizeUsername(input)
    if (username === undefined) throw new UserError(`"${input}" is not a valid username`)
    return username
  }
  const audience = (): string[] => [...contacts.keys()].filter(user => !blocked.has(user))

  const refresh = async (): Promise<void> => {
    const fresh = await session.contactsAndBlocks()
    const next = new Map(fresh.contacts.map(c => [c.username, c.since]))
    const added = [...next.keys()].filter(user => !contacts.has(user))
    const removed = [...contacts.keys()].filter(user => !next.has(user))
    contacts = next
    blocked = new Set(fresh.blocked)
    for (const username of added) emit({ event: 'contact-added', username })
    for (const username of removed) emit({ event: 'contact-removed', username })
    const host = deps.getHost()
    host?.setAudience(audience())
    host?.queryPresence(added.filter(user => !blocked.has(user)))
  }

  const incomingFrom = async (username: string): Promise<ContactRequestView> => {
    const { incoming } = await client.contactRequests()
    const request = incoming.find(r => r.from === username)
    if (request === undefined) throw new UserError(`there is no contact request from ${username}`)
    return request
  }

  /** Tells `to` at once through the overlay; the login server already has it, so a miss is harmless. */
  const notify = (to: string, body: Record<string, string>): void => {
    deps.getHost()?.send(to, body).catch(() => {})
  }

  return {
    refresh,
    audience,
    accepts (from, type) {
      if (blocked.has(from)) return false
      if (type === 'presence' || type === 'text') return contacts.has(from)
      return true
    },
    list: presenceOf => [...contacts].map(([username, since]) => ({ username, since, status: presenceOf(username) }))
      .sort((a, b) => a.username.localeCompare(b.username)),
    requests: () => client.contactRequests(),
    async add (input, message) {
      const username = name(input)
      const result = await client.sendContactRequest(username, message)
      if (result.status === 'accepted') {
        await refresh()
        notify(username, { type: 'contact-accepted' })
        return { status: 'accepted' }
      }
      notify(username, { type: 'contact-request', message: message ?? '' })
      return { status: 'pending' }
    },
    async accept (input) {
      const username = name(input)
      await client.acceptRequest((await incomingFrom(username)).id)
      await refresh()
      notify(username, { type: 'contact-accepted' })
    },
    async decline (input) {
      await client.declineRequest((await incomingFrom(name(input))).id)
    },
    async remove (input) {
      const username = name(input)
      if (!contacts.has(username)) throw new UserError(`${username} is not your contact`)
      await client.removeContact(username)
      await refresh()
    },
    async block (input) {
      await client.block(name(input))
      await refresh()
    },
    async unblock (input) {
      await client.unblock(name(input))
      await refresh()
    }
  }
}
