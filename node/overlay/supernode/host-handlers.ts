// What a supernode does with the hosts registered at it: registration, their
// messages (each handled in host-presence.ts, host-requests.ts or here), and
// their leaving.
import type { SupernodeCredential } from '../../../common/supernode-credential.js'
import type { Link } from '../link.js'
import { MAX_CONTACTS, type LinkMessage, type MessageOf } from '../messages.js'
import { handleDialbackRequest } from './dialback-requests.js'
import { checkLocator, checkLookupRecord, checkPresences, offlineProblem } from './host-checks.js'
import { handlePresenceQuery, updatePresence } from './host-presence.js'
import { handleLocate, handleRoute, handleTurnRelease, handleTurnRequest } from './host-requests.js'
import { publishLocator, pushPresence, Refused, type HostSession } from './host-session.js'
import type { SupernodeInternals } from './supernode.js'

export function handleHostLink (sn: SupernodeInternals, link: Link, register: MessageOf<'register'>): void {
  const { hosts } = sn
  const { log, clock } = sn.components
  const user = link.peer.user
  const deviceKey = link.peer.deviceKey

  if (hosts.size() >= sn.maxHosts && hosts.get(deviceKey) === undefined) {
    // Overload never means shutdown: refuse the newcomer, keep serving the rest.
    log.info({ user, hosts: hosts.size() }, 'registration redirected: supernode is full')
    link.send({ t: 'redirect', reason: 'supernode is full', supernodes: sn.knownSupernodes(16).filter(s => s.deviceKey !== sn.ref.deviceKey) })
    return
  }

  const session: HostSession = {
    sn, link, user, deviceKey, entry: undefined as unknown as HostSession['entry'],
    published: Promise.resolve(), capabilitiesKnown: false, pendingCapabilities: [], deferredPush: undefined
  }
  try {
    const locatorMeta = checkLocator(session, register.locator)
    checkLookupRecord(session, register.lookupRecord, locatorMeta)
    const presences = checkPresences(session, register.presence, register.offline)
    session.entry = {
      user, deviceKey, link, lookupKey: register.lookupRecord.key, reachToken: register.reachToken,
      capabilities: new Map(), audience: new Set(register.audience),
      ...presences, registeredAt: clock.now()
    }
    const replaced = hosts.put(session.entry)
    if (replaced !== undefined && replaced.link !== link) replaced.link.close('replaced by a new registration of the same device')
    session.published = publishLocator(session, register.lookupRecord)
  } catch (err) {
    link.close(`registration refused: ${(err as Error).message}`)
    log.warn({ user }, `registration refused: ${(err as Error).message}`)
    return
  }
  log.info({ user, device: deviceKey.slice(0, 8), hosts: hosts.size() }, 'host registered')
  link.send({ t: 'registered', credential: sn.credential() as SupernodeCredential, hostCache: sn.knownSupernodes(32), capacityNeeded: sn.capacityNeeded() })
  if (session.entry.visible) pushPresence(session, session.entry, session.entry.presence)

  link.onClose = reason => { hostLeft(session, reason) }
  link.onMessage = (message: LinkMessage) => { handleHostMessage(session, message) }
}

function hostLeft (session: HostSession, reason: string): void {
  const { sn, link, user, deviceKey } = session
  const { components } = sn
  const gone = sn.hosts.remove(deviceKey, link)
  if (gone === undefined || sn.isClosed()) return
  // Its relay credentials die with its registration, and the calls it relays with them.
  const revoked = components.turn?.revoke(user, deviceKey) ?? 0
  if (revoked > 0) components.log.info({ user, allocations: revoked }, 'host left; its TURN allocations ended')
  sn.router.forget(gone.lookupKey)
  // An invisible host's contacts already see it offline: telling them now would say it was there.
  if (!gone.visible) return
  const problem = offlineProblem(session, gone.offline)
  if (problem !== undefined) {
    components.log.warn({ user, reason }, `host left; its pre-signed offline presence is not sent (${problem}): its contacts see it until its presence expires`)
    return
  }
  components.log.info({ user, reason }, 'host left; publishing its pre-signed offline presence')
  pushPresence(session, gone, gone.offline)
}

function handleHostMessage (session: HostSession, message: LinkMessage): void {
  const { sn, link } = session
  switch (message.t) {
    case 'ping':
      link.send({ t: 'pong', id: message.id, hosts: sn.hosts.size(), capacity: sn.maxHosts, capacityNeeded: sn.capacityNeeded() })
      return
    case 'update-presence':
      updatePresence(session, message)
      return
    case 'refresh-locator': refreshLocator(session, message); return
    case 'contact-capabilities': receiveCapabilities(session, message); return
    case 'route': handleRoute(session, message); return
    case 'locate': handleLocate(session, message); return
    case 'presence-query': handlePresenceQuery(session, message); return
    case 'turn-request': handleTurnRequest(session, message); return
    case 'turn-release': handleTurnRelease(session, message); return
    case 'dialback-request':
      handleDialbackRequest(sn.components, sn.dialbacks, link, message)
      return
    default:
      throw new Refused(`hosts may not send ${message.t}`)
  }
}

function refreshLocator (session: HostSession, message: MessageOf<'refresh-locator'>): void {
  const meta = checkLocator(session, message.locator)
  checkLookupRecord(session, message.lookupRecord, meta)
  session.published = publishLocator(session, message.lookupRecord)
  session.entry.lookupKey = message.lookupRecord.key
}

/** Collects the pieces of a contact-capabilities set; the last one replaces the host's set (and lets deferred presence out). */
function receiveCapabilities (session: HostSession, message: MessageOf<'contact-capabilities'>): void {
  session.pendingCapabilities.push(...message.capabilities)
  if (session.pendingCapabilities.length > MAX_CONTACTS) throw new Refused(`more than ${MAX_CONTACTS} contact capabilities`)
  if (!message.last) return
  session.entry.capabilities = new Map(session.pendingCapabilities.map(capability => [capability.user, capability]))
  session.pendingCapabilities = []
  session.capabilitiesKnown = true
  const deferred = session.deferredPush
  session.deferredPush = undefined
  if (deferred !== undefined) pushPresence(session, deferred.entry, deferred.envelope)
}
