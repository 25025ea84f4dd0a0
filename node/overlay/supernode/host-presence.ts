// Presence at a supernode: a registered host's own (updated, pushed to its
// contacts) and other users' (asked for by a host's presence query, here and at
// the supernodes where they are registered).
import type { Link } from '../link.js'
import type { PresenceQueryBody } from '../envelope-bodies.js'
import type { Envelope, LookupCapability, MessageOf } from '../messages.js'
import { checkPresences, checkPresenceQuery } from './host-checks.js'
import type { HostEntry } from './host-registry.js'
import { pushPresence, Refused, type HostSession } from './host-session.js'
import type { SupernodeInternals } from './supernode.js'

/** A new presence: pushed while the host is shown, and once more (its "offline") when it stops being shown. */
export function updatePresence (session: HostSession, message: MessageOf<'update-presence'>): void {
  const { entry } = session
  entry.audience = new Set(message.audience)
  const { presence, offline, visible } = checkPresences(session, message.presence, message.offline)
  const wasVisible = entry.visible
  entry.presence = presence
  entry.offline = offline
  entry.visible = visible
  if (visible || wasVisible) pushPresence(session, entry, presence)
}

export function handlePresenceQuery (session: HostSession, message: MessageOf<'presence-query'>): void {
  const query = message.query
  // Checked once, on arrival: our own wait for the DHT must not turn it stale
  // (and a refusal thrown after that wait would be an unhandled rejection).
  const body = checkPresenceQuery(session, query)
  if (!session.capabilitiesKnown) throw new Refused('presence query before contact-capabilities')
  void session.published.then(() => answerPresenceQuery(session.sn, session.link, session.entry, query, body))
}

/**
 * Asks the supernodes of each queried user for their presence, passing the signed query so they
 * can check the audience. Users the host has no capability for are looked up nowhere.
 */
async function answerPresenceQuery (sn: SupernodeInternals, link: Link, asker: HostEntry, query: Envelope, body: PresenceQueryBody): Promise<void> {
  await sn.fanOut(body.users, async target => {
    for (const envelope of await presenceOf(sn, target, asker.capabilities.get(target), query, body.from)) link.send({ t: 'deliver', envelope })
  })
}

/** The presence envelopes of `target`'s devices that `asker` may see: here, and (with a capability) wherever they are registered. */
export async function presenceOf (sn: SupernodeInternals, target: string, capability: LookupCapability | undefined, query: Envelope, asker: string): Promise<Envelope[]> {
  const found = localPresence(sn, target, asker)
  if (capability === undefined || capability.user !== target) return found
  const remote = new Map<string, { deviceKey: string, address: string }>()
  for (const locator of await sn.router.locators(capability).catch(() => [])) {
    if (locator.supernode.deviceKey !== sn.ref.deviceKey) remote.set(locator.supernode.deviceKey, locator.supernode)
  }
  await Promise.all([...remote.values()].map(async supernode => {
    try {
      const peer = await sn.peers.get(supernode)
      const reply = await peer.request({ t: 'presence-fetch', id: peer.nextId(), user: target, query }, 'presence-fetch-result')
      found.push(...reply.presence)
    } catch {}
  }))
  return found
}

/** Only what the user shows to `asker`: nothing from a host that is invisible, or whose audience `asker` is not in. */
export function localPresence (sn: SupernodeInternals, target: string, asker: string): Envelope[] {
  return sn.hosts.devicesOf(target).filter(host => host.visible && host.audience.has(asker)).map(host => host.presence)
}
