// The user's contacts: the login server is the authority (requests, accepts,
// blocks, and each contact's lookup capability); the overlay carries the
// audience of our presence and contact-accepted news at once. Requests from
// non-contacts cannot cross the overlay (we cannot be found by them), so they
// are polled from the login server.
import { UserError } from '../../common/user-error.js'
import { normalizeUsername } from '../../common/usernames.js'
import type { LookupCapability } from '../../common/lookup-keys.js'
import type { Host } from '../overlay/host.js'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { PresenceStatus } from '../../common/presence.js'
import type { LoginSession } from './login-session.js'
import { createStatusTimes } from './status-times.js'
import { createServiceDirectory } from './service-directory.js'
import type { ContactRequestView, ContactRequestsView, ContactView, NodeEvent } from './api.js'

export interface ContactBook {
  refresh: () => Promise<void>
  /** Who may see our presence: contacts who are not blocked. */
  audience: () => string[]
  /** How our supernode finds our audience, the services, and (for a service) the users it reached: their lookup capabilities. */
  capabilities: () => LookupCapability[]
  /** A service every user may call (the PSTN gateway's `pstn`), as the login server lists them. */
  isService: (user: string) => boolean
  /**
   * Makes `user` reachable before we send to them: a no-op for contacts and services; a service's
   * node (the gateway) asks the login server for a caller's or callee's capability and tells our
   * supernode. Never throws: without it the send is simply not delivered.
   */
  reach: (user: string) => Promise<void>
  /** Reads the services again (a gateway added since we logged in); true when `user` is one now. */
  findService: (user: string) => Promise<boolean>
  /** Reads pending requests from the login server; emits contact-request for each new one (none on the first call). */
  pollRequests: () => Promise<void>
  /** Whether to act on a delivery: nothing from blocked users; presence and texts only from contacts. */
  accepts: (from: string, type: string) => boolean
  /** This node saw `user`'s status change (now): `list` shows since when. */
  statusChanged: (user: string) => void
  /** Our host attached (the first time starts the window in which presence answers are news to us, not changes). */
  attached: () => void
  list: (presenceOf: (user: string) => PresenceStatus) => ContactView[]
  requests: () => Promise<ContactRequestsView>
  add: (username: string, message?: string) => Promise<{ status: 'pending' | 'accepted' }>
  accept: (username: string) => Promise<void>
  decline: (username: string) => Promise<void>
  remove: (username: string) => Promise<void>
  block: (username: string) => Promise<void>
  unblock: (username: string) => Promise<void>
}

export function createContactBook (deps: {
  session: LoginSession, log: Logger, clock: Clock, emit: (event: NodeEvent) => void, getHost: () => Host | undefined
}): ContactBook {
  const { session, emit } = deps
  const client = session.client
  let contacts = new Map<string, number>()
  let blocked = new Set<string>()
  let capabilityOf = new Map<string, LookupCapability>()
  const services = createServiceDirectory(session, deps.log, () => { tellSupernode() })
  const statusTimes = createStatusTimes()
  /** Ids of incoming requests already seen; undefined until the first poll. */
  let seenRequests: Set<number> | undefined

  const name = (input: string): string => {
    const username = normalizeUsername(input)
    if (username === undefined) throw new UserError(`"${input}" is not a valid username`)
    return username
  }
  const audience = (): string[] => [...contacts.keys()].filter(user => !blocked.has(user))
  const capabilities = (): LookupCapability[] => [
    ...audience().flatMap(user => capabilityOf.get(user) ?? []),
    ...services.capabilities().filter(c => !capabilityOf.has(c.user))
  ]
  const tellSupernode = (): void => { deps.getHost()?.setAudience(audience(), capabilities()) }

  const refresh = async (): Promise<void> => {
    const [fresh] = await Promise.all([session.contactsAndBlocks(), services.refresh()])
    const next = new Map(fresh.contacts.map(c => [c.username, c.since]))
    const added = [...next.keys()].filter(user => !contacts.has(user))
    const removed = [...contacts.keys()].filter(user => !next.has(user))
    contacts = next
    statusTimes.listening(added, deps.clock.now())
    statusTimes.forget(removed)
    blocked = new Set(fresh.blocked)
    capabilityOf = new Map(fresh.contacts.flatMap(c => c.lookupKey === undefined || c.sealKey === undefined
      ? []
      : [[c.username, { user: c.username, lookupKey: c.lookupKey, sealKey: c.sealKey }] as const]))
    for (const username of added) emit({ event: 'contact-added', username })
    for (const username of removed) emit({ event: 'contact-removed', username })
    tellSupernode()
    deps.getHost()?.queryPresence(added.filter(user => !blocked.has(user)))
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
    capabilities,
    isService: services.isService,
    findService: services.find,
    async reach (user) { if (!contacts.has(user)) await services.reach(user) },
    async pollRequests () {
      const { incoming } = await client.contactRequests()
      const first = seenRequests === undefined
      const seen = seenRequests ?? new Set<number>()
      for (const request of incoming) {
        if (seen.has(request.id)) continue
        if (!first) emit({ event: 'contact-request', from: request.from, message: request.message })
      }
      // Only ids still pending are kept: the set stays as small as the list.
      seenRequests = new Set(incoming.map(request => request.id))
    },
    accepts (from, type) {
      if (blocked.has(from)) return false
      if (type === 'presence' || type === 'text') return contacts.has(from)
      return true
    },
    statusChanged (user) { if (contacts.has(user)) statusTimes.changed(user, deps.clock.now()) },
    attached () { statusTimes.attached(deps.clock.now()) },
    list: presenceOf => [...contacts].map(([username, since]) => ({ username, since, status: presenceOf(username), ...statusTimes.of(username) }))
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
      // No overlay notice: a non-contact cannot find us, nor we them. The addressee polls.
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
