// One registered host's link as its supernode sees it, and the presence it
// pushes to the host's contacts.
import { sameCertificate } from '../../../common/certificate.js'
import type { Link } from '../link.js'
import type { Envelope, LookupCapability, SealedLocatorRecord } from '../messages.js'
import type { HostEntry } from './host-registry.js'
import type { SupernodeInternals } from './supernode.js'

/** Protocol violations close the link: the thrown message is the logged reason. */
export class Refused extends Error {}

export interface HostSession {
  readonly sn: SupernodeInternals
  readonly link: Link
  readonly user: string
  readonly deviceKey: string
  /** The host's registration (set once it registered). */
  entry: HostEntry
  // Presence goes out (and queries are answered) only once our locator is in
  // the DHT and the host told us how to find its contacts: a contact who hears
  // of us can then reach us, and of two contacts registering at once the later
  // one always finds the earlier.
  /** The newest locator's publication in the DHT. */
  published: Promise<void>
  /** Set by the host's first complete contact-capabilities (it sends them right after registering). */
  capabilitiesKnown: boolean
  /** Pieces of a contact-capabilities set still being received. */
  pendingCapabilities: LookupCapability[]
  /** The newest presence to push once the capabilities are known (only the newest: a later one replaces it). */
  deferredPush: { entry: HostEntry, envelope: Envelope } | undefined
}

export async function publishLocator (session: HostSession, record: SealedLocatorRecord): Promise<void> {
  const { sn, user } = session
  sn.router.forget(record.key)
  // Checked on arrival (checkLookupRecord): the DHT need not verify its signature again.
  await sn.dht().put(record, { validated: true }).catch((err: Error) => { sn.components.log.warn({ user }, `locator not stored in the DHT: ${err.message}`) })
}

/**
 * `envelope` holding the link's own certificate object when it carries the very same one: the
 * presences a supernode keeps for each of its hosts then share one copy (~300 bytes each).
 */
export function sharingLinkCertificate (session: HostSession, envelope: Envelope): Envelope {
  const own = session.link.peer.certificate
  return sameCertificate(envelope.certificate, own) ? { ...envelope, certificate: own } : envelope
}

/** Pushes a presence of `entry` to each of its audience it has a capability for (deferred until the capabilities are known). */
export function pushPresence (session: HostSession, entry: HostEntry, envelope: Envelope): void {
  const { sn } = session
  if (!session.capabilitiesKnown) {
    session.deferredPush = { entry, envelope }
    return
  }
  void session.published.then(() => sn.fanOut([...entry.audience], async contact => {
    const capability = entry.capabilities.get(contact)
    return capability === undefined ? 0 : await sn.router.routeToUser(capability, envelope)
  }))
}
