// The checks a supernode runs on what a host registers and refreshes: its
// locator, its sealed lookup record and its presences. Each throws Refused.
import { verifyLocator } from '../../../common/wire/locator.js'
import { checkSealedRecord } from '../../../common/wire/sealed-locator.js'
import { isPresenceBody, isPresenceQueryBody, type PresenceQueryBody } from '../envelope-bodies.js'
import { PRESENCE_QUERY_MAX_AGE_MS } from '../constants.js'
import type { Envelope, SealedLocatorRecord } from '../messages.js'
import { verifyEnvelope } from './context.js'
import { Refused, sharingLinkCertificate, type HostSession } from './host-session.js'

/** Opens an envelope this host signed: its user's, with the certificate its link proved (not verified again). */
export const verifyHostEnvelope = (session: HostSession, envelope: Envelope): ReturnType<typeof verifyEnvelope> =>
  verifyEnvelope(session.sn.components, envelope, session.user, session.link.peer.certificate)

/** A locator signed by this host's user and device, naming this supernode; its seq and expiry. */
export function checkLocator (session: HostSession, locator: Envelope): { seq: number, expires: number } {
  const { sn, user, deviceKey } = session
  const { components } = sn
  const check = verifyLocator(components.sodium, locator, { issuerKey: components.issuerKey, nowSeconds: Math.floor(components.clock.now() / 1000), verified: session.link.peer.certificate })
  if (!check.ok) throw new Refused(`locator rejected (${check.reason}): ${check.message}`)
  const body = check.locator
  if (body.user !== user || body.deviceKey !== deviceKey) throw new Refused('locator is for another user or device')
  if (body.supernode.deviceKey !== sn.ref.deviceKey || body.supernode.address !== sn.ref.address) throw new Refused('locator names another supernode')
  return { seq: body.seq, expires: body.expires }
}

/** Generous bound on a presence body as base64url text (type, user, status, seq, expiry). */
const MAX_PRESENCE_BODY_TEXT = 512

/**
 * A presence and the "offline" the host pre-signs with it (register, update-presence), as its entry
 * keeps them: the presence checked, the offline only size-checked on arrival (a presence body is
 * ~120 bytes, so a host cannot park large envelopes with us; offlineProblem checks its signature
 * when it is sent), both sharing the link's certificate object. `visible`: the presence shows the
 * host to its contacts (not "offline": invisible users are not shown).
 */
export function checkPresences (session: HostSession, presence: Envelope, offline: Envelope): { presence: Envelope, offline: Envelope, visible: boolean } {
  const opened = verifyHostEnvelope(session, presence)
  if (!opened.ok) throw new Refused(`presence rejected: ${opened.reason}`)
  if (!isPresenceBody.Check(opened.body)) throw new Refused('presence is not a presence')
  if (offline.body.length > MAX_PRESENCE_BODY_TEXT) throw new Refused(`offline presence body over ${MAX_PRESENCE_BODY_TEXT} characters`)
  return { presence: sharingLinkCertificate(session, presence), offline: sharingLinkCertificate(session, offline), visible: opened.body.status !== 'offline' }
}

/**
 * The pre-signed "offline" a host leaves with us is checked when we are about to send it (the
 * host left), not at every republish: that would cost each host's supernode one more signature
 * check per interval for an envelope it sends at most once. A reason when it does not check out.
 */
export function offlineProblem (session: HostSession, envelope: Envelope): string | undefined {
  const opened = verifyHostEnvelope(session, envelope)
  if (!opened.ok) return opened.reason
  if (!isPresenceBody.Check(opened.body) || opened.body.status !== 'offline') return 'it is not an offline presence'
  return undefined
}

/** We cannot open the sealed record (only contacts can); we check who wrote it and that it is the locator's twin. */
export function checkLookupRecord (session: HostSession, record: SealedLocatorRecord, meta: { seq: number, expires: number }): void {
  const check = checkSealedRecord(session.sn.components.sodium, record, session.sn.components.clock.now())
  if (!check.ok) throw new Refused(`sealed locator rejected: ${check.reason}`)
  if (record.seq !== meta.seq || record.expiresAt !== meta.expires * 1000) throw new Refused('sealed locator is not of the same seq and expiry as the locator')
}

export function checkPresenceQuery (session: HostSession, query: Envelope): PresenceQueryBody {
  const { sn } = session
  const opened = verifyHostEnvelope(session, query)
  if (!opened.ok || !isPresenceQueryBody.Check(opened.body)) throw new Refused('presence query rejected: not a signed query from this host')
  if (Math.abs(sn.components.clock.now() - opened.body.at) > PRESENCE_QUERY_MAX_AGE_MS) throw new Refused('presence query is stale')
  return opened.body
}
