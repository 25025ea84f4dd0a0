// What a registered host asks of its supernode: route an envelope to a contact,
// locate a contact's devices, TURN relay credentials (and their release).
import { MAX_LOCATED_DEVICES, type MessageOf } from '../messages.js'
import { verifyHostEnvelope } from './host-checks.js'
import { Refused, type HostSession } from './host-session.js'

export function handleRoute (session: HostSession, message: MessageOf<'route'>): void {
  const { sn, link, entry } = session
  const opened = verifyHostEnvelope(session, message.envelope)
  if (!opened.ok) throw new Refused(`routed envelope rejected: ${opened.reason}`)
  // No capability, no lookup: a user who is not our host's contact is "not found", online or not.
  const capability = entry.capabilities.get(message.to)
  if (capability === undefined) {
    link.send({ t: 'route-result', id: message.id, delivered: 0 })
    return
  }
  sn.router.routeToUser(capability, message.envelope).then(
    delivered => { link.send({ t: 'route-result', id: message.id, delivered }) },
    () => { link.send({ t: 'route-result', id: message.id, delivered: 0 }) })
}

export function handleLocate (session: HostSession, message: MessageOf<'locate'>): void {
  const { sn, link, entry } = session
  // The one place a host learns a user's devices (to seal a text to them). Certificates only: the
  // host checks they are the login server's for that user, and learns nothing of where they are.
  // Like routing, only with the host's capability for that user: a non-contact finds nobody.
  const capability = entry.capabilities.get(message.to)
  if (capability === undefined) {
    link.send({ t: 'located', id: message.id, devices: [] })
    return
  }
  sn.router.locators(capability).then(
    found => { link.send({ t: 'located', id: message.id, devices: found.slice(0, MAX_LOCATED_DEVICES).map(l => ({ ...l.certificate })) }) },
    () => { link.send({ t: 'located', id: message.id, devices: [] }) })
}

export function handleTurnRequest (session: HostSession, message: MessageOf<'turn-request'>): void {
  // Only registered hosts get relay credentials, for their own user and device, until they leave.
  const issued = session.sn.components.turn?.issue(session.user, session.deviceKey)
  session.link.send(issued === undefined
    ? { t: 'turn-credentials', id: message.id, available: false, host: '', port: 0, username: '', password: '', ttlSeconds: 0 }
    : { t: 'turn-credentials', id: message.id, available: true, ...issued })
}

export function handleTurnRelease (session: HostSession, message: MessageOf<'turn-release'>): void {
  const { components } = session.sn
  // Only the host's own user's allocations: a host cannot end anyone else's relay.
  const ended = components.turn?.release(session.user, message.relayed) ?? 0
  components.log.debug({ user: session.user, asked: message.relayed.length, ended }, 'TURN allocations released after a call')
}
