// What a supernode does with messages from the hosts registered at it.
import { verifyLocator } from '../../../common/wire/locator.js'
import { checkSealedRecord } from '../../../common/wire/sealed-locator.js'
import { isPresenceBody, isPresenceQueryBody, type PresenceQueryBody } from '../envelope-bodies.js'
import { PRESENCE_QUERY_MAX_AGE_MS } from '../constants.js'
import { verifyEnvelope } from './context.js'
import { handleDialbackRequest } from './dialback-requests.js'
import type { Link } from '../link.js'
import { MAX_CONTACTS, MAX_LOCATED_DEVICES, type Envelope, type LinkMessage, type LookupCapability, type MessageOf, type SealedLocatorRecord } from '../messages.js'
import type { HostEntry } from './host-registry.js'
import type { SupernodeInternals } from './supernode.js'
import type { SupernodeCredential } from '../../../common/supernode-credential.js'

/** Protocol violations close the link: the thrown message is the logged reason. */
class Refused extends Error {}

export function handleHostLink (sn: SupernodeInternals, link: Link, register: MessageOf<'register'>): void {
  const { components, hosts, router } = sn
  const { log, clock } = components
  const user = link.peer.user
  const deviceKey = link.peer.deviceKey

  if (hosts.size() >= sn.maxHosts && hosts.get(deviceKey) === undefined) {
    // Overload never means shutdown: refuse the newcomer, keep serving the rest.
    log.info({ user, hosts: hosts.size() }, 'registration redirected: supernode is full')
    link.send({ t: 'redirect', reason: 'supernode is full', supernodes: sn.knownSupernodes(16).filter(s => s.deviceKey !== sn.ref.deviceKey) })
    return
  }

  const checkLocator = (locator: Envelope): { seq: number, expires: number } => {
    const check = verifyLocator(components.sodium, locator, { issuerKey: components.issuerKey, nowSeconds: Math.floor(clock.now() / 1000) })
    if (!check.ok) throw new Refused(`locator rejected (${check.reason}): ${check.message}`)
    const body = check.locator
    if (body.user !== user || body.deviceKey !== deviceKey) throw new Refused('locator is for another user or device')
    if (body.supernode.deviceKey !== sn.ref.deviceKey || body.supernode.address !== sn.ref.address) throw new Refused('locator names another supernode')
    return { seq: body.seq, expires: body.expires }
  }
  /** Checks a presence and says whether it shows the host to its contacts (not "offline": invisible users are not shown). */
  const checkPresence = (envelope: Envelope, what: string): boolean => {
    const opened = verifyEnvelope(components, envelope, user)
    if (!opened.ok) throw new Refused(`${what} rejected: ${opened.reason}`)
    if (!isPresenceBody.Check(opened.body)) throw new Refused(`${what} is not a presence`)
    return opened.body.status !== 'offline'
  }
  /** We cannot open the sealed record (only contacts can); we check who wrote it and that it is the locator's twin. */
  const checkLookupRecord = (record: SealedLocatorRecord, meta: { seq: number, expires: number }): void => {
    const check = checkSealedRecord(components.sodium, record, clock.now())
    if (!check.ok) throw new Refused(`sealed locator rejected: ${check.reason}`)
    if (record.seq !== meta.seq || record.expiresAt !== meta.expires * 1000) throw new Refused('sealed locator is not of the same seq and expiry as the locator')
  }
  const publishLocator = async (record: SealedLocatorRecord): Promise<void> => {
    router.forget(record.key)
    await sn.dht().put(record).catch((err: Error) => { log.warn({ user }, `locator not stored in the DHT: ${err.message}`) })
  }
  // Presence goes out (and queries are answered) only once our locator is in
  // the DHT and the host told us how to find its contacts: a contact who hears
  // of us can then reach us, and of two contacts registering at once the later
  // one always finds the earlier.
  let published: Promise<void> = Promise.resolve()
  /** Set by the host's first complete contact-capabilities (it sends them right after registering). */
  let capabilitiesKnown = false
  /** Pieces of a contact-capabilities set still being received. */
  let pendingCapabilities: LookupCapability[] = []
  /** The newest presence to push once the capabilities are known (only the newest: a later one replaces it). */
  let deferredPush: { entry: HostEntry, envelope: Envelope } | undefined
  const pushPresence = (entry: HostEntry, envelope: Envelope): void => {
    if (!capabilitiesKnown) {
      deferredPush = { entry, envelope }
      return
    }
    void published.then(() => sn.fanOut([...entry.audience], async contact => {
      const capability = entry.capabilities.get(contact)
      return capability === undefined ? 0 : await router.routeToUser(capability, envelope)
    }))
  }
  /** A new presence: pushed while the host is shown, and once more (its "offline") when it stops being shown. */
  const updatePresence = (entry: HostEntry, presence: Envelope, offline: Envelope): void => {
    const visible = checkPresence(presence, 'presence')
    checkPresence(offline, 'offline presence')
    const wasVisible = entry.visible
    entry.presence = presence
    entry.offline = offline
    entry.visible = visible
    if (visible || wasVisible) pushPresence(entry, presence)
  }

  let entry: HostEntry
  try {
    const locatorMeta = checkLocator(register.locator)
    checkLookupRecord(register.lookupRecord, locatorMeta)
    const visible = checkPresence(register.presence, 'presence')
    checkPresence(register.offline, 'offline presence')
    entry = {
      user, deviceKey, link, locator: register.locator, lookupRecord: register.lookupRecord, reachToken: register.reachToken,
      capabilities: new Map(), audience: new Set(register.audience),
      presence: register.presence, offline: register.offline, visible, registeredAt: clock.now()
    }
    const replaced = hosts.put(entry)
    if (replaced !== undefined && replaced.link !== link) replaced.link.close('replaced by a new registration of the same device')
    published = publishLocator(register.lookupRecord)
  } catch (err) {
    link.close(`registration refused: ${(err as Error).message}`)
    log.warn({ user }, `registration refused: ${(err as Error).message}`)
    return
  }
  log.info({ user, device: deviceKey.slice(0, 8), hosts: hosts.size() }, 'host registered')
  link.send({ t: 'registered', credential: sn.credential() as SupernodeCredential, hostCache: sn.knownSupernodes(32), capacityNeeded: sn.capacityNeeded() })
  if (entry.visible) pushPresence(entry, entry.presence)

  link.onClose = reason => {
    const gone = hosts.remove(deviceKey, link)
    if (gone === undefined || sn.isClosed()) return
    // Its relay credentials die with its registration, and the calls it relays with them.
    const revoked = components.turn?.revoke(user, deviceKey) ?? 0
    if (revoked > 0) log.info({ user, allocations: revoked }, 'host left; its TURN allocations ended')
    router.forget(gone.lookupRecord.key)
    // An invisible host's contacts already see it offline: telling them now would say it was there.
    if (!gone.visible) return
    log.info({ user, reason }, 'host left; publishing its pre-signed offline presence')
    pushPresence(gone, gone.offline)
  }

  link.onMessage = (message: LinkMessage) => {
    switch (message.t) {
      case 'ping':
        link.send({ t: 'pong', id: message.id, hosts: hosts.size(), capacity: sn.maxHosts, capacityNeeded: sn.capacityNeeded() })
        return
      case 'update-presence':
        entry.audience = new Set(message.audience)
        updatePresence(entry, message.presence, message.offline)
        return
      case 'refresh-locator': {
        const meta = checkLocator(message.locator)
        checkLookupRecord(message.lookupRecord, meta)
        published = publishLocator(message.lookupRecord)
        entry.locator = message.locator
        entry.lookupRecord = message.lookupRecord
        return
      }
      case 'contact-capabilities':
        pendingCapabilities.push(...message.capabilities)
        if (pendingCapabilities.length > MAX_CONTACTS) throw new Refused(`more than ${MAX_CONTACTS} contact capabilities`)
        if (message.last) {
          entry.capabilities = new Map(pendingCapabilities.map(capability => [capability.user, capability]))
          pendingCapabilities = []
          capabilitiesKnown = true
          const deferred = deferredPush
          deferredPush = undefined
          if (deferred !== undefined) pushPresence(deferred.entry, deferred.envelope)
        }
        return
      case 'route': {
        const opened = verifyEnvelope(components, message.envelope, user)
        if (!opened.ok) throw new Refused(`routed envelope rejected: ${opened.reason}`)
        // No capability, no lookup: a user who is not our host's contact is "not found", online or not.
        const capability = entry.capabilities.get(message.to)
        if (capability === undefined) {
          link.send({ t: 'route-result', id: message.id, delivered: 0 })
          return
        }
        router.routeToUser(capability, message.envelope).then(
          delivered => { link.send({ t: 'route-result', id: message.id, delivered }) },
          () => { link.send({ t: 'route-result', id: message.id, delivered: 0 }) })
        return
      }
      case 'locate': {
        // The one place a host learns a user's devices (to seal a text to them). Certificates only: the
        // host checks they are the login server's for that user, and learns nothing of where they are.
        // Like routing, only with the host's capability for that user: a non-contact finds nobody.
        const capability = entry.capabilities.get(message.to)
        if (capability === undefined) {
          link.send({ t: 'located', id: message.id, devices: [] })
          return
        }
        router.locators(capability).then(
          found => { link.send({ t: 'located', id: message.id, devices: found.slice(0, MAX_LOCATED_DEVICES).map(l => ({ ...l.certificate })) }) },
          () => { link.send({ t: 'located', id: message.id, devices: [] }) })
        return
      }
      case 'presence-query': {
        const query = message.query
        // Checked once, on arrival: our own wait for the DHT must not turn it stale
        // (and a refusal thrown after that wait would be an unhandled rejection).
        const body = checkPresenceQuery(sn, query, user)
        if (!capabilitiesKnown) throw new Refused('presence query before contact-capabilities')
        void published.then(() => answerPresenceQuery(sn, link, entry, query, body))
        return
      }
      case 'turn-request': {
        // Only registered hosts get relay credentials, for their own user and device, until they leave.
        const issued = components.turn?.issue(user, deviceKey)
        link.send(issued === undefined
          ? { t: 'turn-credentials', id: message.id, available: false, host: '', port: 0, username: '', password: '', ttlSeconds: 0 }
          : { t: 'turn-credentials', id: message.id, available: true, ...issued })
        return
      }
      case 'turn-release': {
        // Only the host's own user's allocations: a host cannot end anyone else's relay.
        const ended = components.turn?.release(user, message.relayed) ?? 0
        log.debug({ user, asked: message.relayed.length, ended }, 'TURN allocations released after a call')
        return
      }
      case 'dialback-request':
        handleDialbackRequest(components, sn.dialbacks, link, message)
        return
      default:
        throw new Refused(`hosts may not send ${message.t}`)
    }
  }
}

function checkPresenceQuery (sn: SupernodeInternals, query: Envelope, user: string): PresenceQueryBody {
  const opened = verifyEnvelope(sn.components, query, user)
  if (!opened.ok || !isPresenceQueryBody.Check(opened.body)) throw new Refused('presence query rejected: not a signed query from this host')
  if (Math.abs(sn.components.clock.now() - opened.body.at) > PRESENCE_QUERY_MAX_AGE_MS) throw new Refused('presence query is stale')
  return opened.body
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
