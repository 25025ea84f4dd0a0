// What the supernode's parts share.
import type { Sodium } from '../../../common/sodium.js'
import type { Clock } from '../../../common/clock.js'
import type { Dialer } from '../../../common/dialback.js'
import type { LinkIdentity } from '../../../common/wire/link-handshake.js'
import type { Transport } from '../../net/transport.js'
import type { Logger } from '../../../common/logger.js'
import type { Envelope } from '../messages.js'
import type { LinkCaps } from './inbound-links.js'
import { openEnvelope } from '../../../common/wire/signed-envelope.js'
import type { Certificate, CertificateBody } from '../../../common/certificate.js'

export interface SupernodeComponents {
  sodium: Sodium
  clock: Clock
  /** Dials other supernodes. */
  transport: Transport
  identity: LinkIdentity
  issuerKey: Uint8Array
  log: Logger
  /** Checks addresses for hosts that ask before promoting themselves. */
  dialer: Dialer
  /** This supernode's TURN relay; absent when it runs none. */
  turn?: {
    /** Credentials on the relay for one of its registered hosts (`device`: its device key); they work until revoke. */
    issue: (user: string, device: string) => { host: string, port: number, tcpPort?: number, username: string, password: string, ttlSeconds: number }
    /** The host left: the credentials issued to it stop working and its allocations end; how many ended. */
    revoke: (user: string, device: string) => number
    /** Ends `user`'s allocations at these relayed addresses (the host's call is over); how many ended. */
    release: (user: string, relayed: Array<{ ip: string, port: number }>) => number
  }
  /** Set by the supernode itself: refuses revoked certificates (links, envelopes). */
  refusePeer?: (certificate: CertificateBody) => string | undefined
}

export interface SupernodeInit {
  /** The advertised HOST:PORT others dial. */
  address: string
  user: string
  deviceKey: string
  maxHosts?: number
  minSupernodes?: number
  /** Bounds on inbound links per source address, device key and user (default DEFAULT_LINK_CAPS). */
  linkCaps?: Partial<LinkCaps>
}

/**
 * Opens an envelope and checks it comes from `expectedUser` (when given). `verified`: a certificate
 * checked already (the sending host's link's), whose signature need not be verified again.
 */
export function verifyEnvelope (components: SupernodeComponents, envelope: Envelope, expectedUser?: string, verified?: Certificate) {
  const opened = openEnvelope(components.sodium, envelope, { issuerKey: components.issuerKey, nowSeconds: Math.floor(components.clock.now() / 1000), verified })
  if (!opened.ok) return { ok: false as const, reason: `${opened.reason}: ${opened.message}` }
  const refused = components.refusePeer?.(opened.certificate)
  if (refused !== undefined) return { ok: false as const, reason: `bad_certificate: ${refused}` }
  if (expectedUser !== undefined && opened.from.user !== expectedUser) {
    return { ok: false as const, reason: `signed by ${opened.from.user}, expected ${expectedUser}` }
  }
  return opened
}
