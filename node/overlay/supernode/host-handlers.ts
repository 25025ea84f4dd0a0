// What a supernode does with messages from the hosts registered at it.
import { verifyLocator } from '../../../common/wire/locator.js'
import { fromBase64url } from '../../../common/base64url.js'
import { keyFor } from '../dht/dht.js'
import { isPresenceBody, isPresenceQueryBody, type PresenceQueryBody } from '../envelope-bodies.js'
import { PRESENCE_QUERY_MAX_AGE_MS } from '../constants.js'
import { verifyEnvelope } from './context.js'
import type { Link } from '../link.js'
import { MAX_LOCATED_DEVICES, type Envelope, type LinkMessage, type MessageOf } from '../messages.js'
import type { HostEntry } from './host-registry.js'
import type { SupernodeInternals } from './supernode.js'

/** Protocol violations close the link: the thrown message is the logged reason. */
class Refused extends Error {}

export function handleHostLink (sn: SupernodeInternals, link: Link, register: MessageOf<'register'>): void {
  const { components, hosts, router, dht } = sn
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
    const check = verifyLocator(components.sodium, locator, { issuerKey: components.issuerKey, now: Math.floor(clock.now() / 1000) })
    if (!check.ok) throw new Refused(`locator rejected (${check.reason}): ${check.message}`)
    const body = check.locator
    if (body.user !== user || body.deviceKey !== deviceKey) throw new Refused('locator is for another user or device')
    if (body.supernode.deviceKey !== sn.ref.deviceKey || body.supernode.address !== sn.ref.address) throw new Refused('locator names another supernode')
    return { seq: body.seq, expires: body.expires }
  }
  const checkPresence = (envelope: Envelope, what: string): void => {
    const opened = verifyEnvelope(components, envelope, user)
    if (!opened.ok) throw new Refused(`${what} rejected: ${opened.reason}`)
    if (!isPresenceBody.Check(opened.body)) throw new Refused(`${what} is not a presence`)
  }
  const publishLocator = async (locator: Envelope, meta: { seq: number, expires: number }): Promise<void> => {
    router.forget(user)
    await dht.put({ key: keyFor(user), subkey: deviceKey, value: locator, seq: meta.seq, expiresAt: meta.expires * 1000 })
      .catch((err: Error) => { log.warn({ user }, `locator not stored in the DHT: ${err.message}`) })
  }
  // Presence goes out (and queries are answered) only once our locator is in
  // the DHT: a contact who hears of us can then reach us, and of two contacts
  // registering at once the later one always finds the earlier.
  let published: Promise<void> = Promise.resolve()
  const pushPresence = (entry: HostEntry, envelope: Envelope): void => {
    void published.then(() => sn.fanOut([...entry.audience], contact => router.routeToUser(contact, envelope)))
  }

  let entry: HostEntry
  try {
    const locatorMeta = checkLocator(register.locator)
    checkPresence(register.presence, 'presence')
    checkPresence(register.offline, 'offline presence')
    entry = {
      user, deviceKey, link, locator: register.locator, audience: new Set(register.audience),
      presence: register.presence, offline: register.offline, registeredAt: clock.now()
    }
    const replaced = hosts.put(entry)
    if (replaced !== undefined && replaced.link !== link) replaced.link.close('replaced by a new registration of the same device')
    published = publishLocator(register.locator, locatorMeta)
  } catch (err) {
    link.close(`registration refused: ${(err as Error).message}`)
    log.warn({ user }, `registration refused: ${(err as Error).message}`)
    return
  }
  log.info({ user, device: deviceKey.slice(0, 8), hosts: hosts.size() }, 'host registered')
  link.send({ t: 'registered', hostCache: sn.knownSupernodes(32), capacityNeeded: sn.capacityNeeded() })
  pushPresence(entry, entry.presence)

  link.onClose = reason => {
    const gone = hosts.remove(deviceKey, link)
    if (gone === undefined || sn.isClosed()) return
    log.info({ user, reason }, 'host left; publishing its pre-signed offline presence')
    router.forget(user)
    pushPresence(gone, gone.offline)
  }

  link.onMessage = (message: LinkMessage) => {
    switch (message.t) {
      case 'ping':
        link.send({ t: 'pong', id: message.id, hosts: hosts.size(), capacity: sn.maxHosts, capacityNeeded: sn.capacityNeeded() })
        return
      case 'update-presence':
        checkPresence(message.presence, 'presence')
        checkPresence(message.offline, 'offline presence')
        entry.audience = new Set(message.audience)
        entry.presence = message.presence
        entry.offline = message.offline
        pushPresence(entry, message.presence)
        return
      case 'refresh-locator':
        published = publishLocator(message.locator, checkLocator(message.locator))
        entry.locator = message.locator
        return
      case 'route': {
        const opened = verifyEnvelope(components, message.envelope, user)
        if (!opened.ok) throw new Refused(`routed envelope rejected: ${opened.reason}`)
        router.routeToUser(message.to, message.envelope).then(
          delivered => { link.send({ t: 'route-result', id: message.id, delivered }) },
          () => { link.send({ t: 'route-result', id: message.id, delivered: 0 }) })
        return
      }
      case 'locate': {
        // The one place a host learns a user's devices (to seal a text to them). Certificates only: the
        // host checks they are the login server's for that user, and learns nothing of where they are.
        router.locators(message.to).then(
          found => { link.send({ t: 'located', id: message.id, devices: found.slice(0, MAX_LOCATED_DEVICES).map(l => ({ ...l.certificate })) }) },
          () => { link.send({ t: 'located', id: message.id, devices: [] }) })
        return
      }
      case 'presence-query': {
        const query = message.query
        // Checked once, on arrival: our own wait for the DHT must not turn it stale
        // (and a refusal thrown after that wait would be an unhandled rejection).
        const body = checkPresenceQuery(sn, query, user)
        void published.then(() => answerPresenceQuery(sn, link, query, body))
        return
      }
      case 'turn-request': {
        // Only registered hosts get relay credentials, and only for their own user.
        const issued = components.turn?.issue(user)
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
        // The proof must come from this host's own device key: it can only vouch for its own address.
        components.dialer(message.address, fromBase64url(deviceKey) as Uint8Array)
          .then(result => { link.send({ t: 'dialback-result', id: message.id, ok: result.ok, reason: result.ok ? `answered in ${Math.round(result.rttMs)} ms` : result.reason }) })
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

/** Asks the supernodes of each queried user for their presence, passing the signed query so they can check the audience. */
async function answerPresenceQuery (sn: SupernodeInternals, link: Link, query: Envelope, body: PresenceQueryBody): Promise<void> {
  await sn.fanOut(body.users, async target => {
    for (const envelope of await presenceOf(sn, target, query, body.from)) link.send({ t: 'deliver', envelope })
  })
}

/** The presence envelopes of `target`'s devices that `asker` may see, wherever they are registered. */
export async function presenceOf (sn: SupernodeInternals, target: string, query: Envelope, asker: string): Promise<Envelope[]> {
  const found = localPresence(sn, target, asker)
  const remote = new Map<string, { deviceKey: string, address: string }>()
  for (const locator of await sn.router.locators(target).catch(() => [])) {
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

export function localPresence (sn: SupernodeInternals, target: string, asker: string): Envelope[] {
  return sn.hosts.devicesOf(target).filter(host => host.audience.has(asker)).map(host => host.presence)
}
