// Supernode ↔ supernode links: dialed on demand, reused, at most MAX_PEER_LINKS
// open (least recently used closed first), one dial at a time per peer.
import { fromBase64url, toBase64url } from '../../../common/base64url.js'
import { openLink, type Link } from '../link.js'
import { DIAL_TIMEOUT_MS, MAX_PEER_LINKS } from '../constants.js'
import type { SupernodeComponents } from './context.js'

export interface PeerRef { deviceKey: string, address: string }

export interface PeerLinks {
  /** An open link to the supernode with this device key, dialing it if needed. */
  get: (peer: PeerRef) => Promise<Link>
  /** Registers a link the peer opened to us (after its peer-hello). */
  adopt: (deviceKey: string, address: string, link: Link) => void
  /** The user a linked supernode runs as (from its certificate). */
  userOf: (deviceKey: string) => string | undefined
  count: () => number
  /** The open links (e.g. to close those whose certificate was revoked). */
  links: () => Link[]
  close: () => void
}

/** DHT ids are the supernode's device key in hex. */
export const dhtIdOf = (deviceKey: string): string => Buffer.from(fromBase64url(deviceKey) as Uint8Array).toString('hex')
export const deviceKeyOfDhtId = (id: string): string => toBase64url(Buffer.from(id, 'hex'))

export function createPeerLinks (
  components: SupernodeComponents,
  self: { address: string },
  on: { opened: (deviceKey: string, address: string, link: Link) => void, lost: (deviceKey: string, evicted: boolean) => void }
): PeerLinks {
  // Map order is recency order: re-inserted on use.
  const links = new Map<string, { link: Link, address: string }>()
  const dialing = new Map<string, Promise<Link>>()
  let closed = false

  const touch = (deviceKey: string): void => {
    const entry = links.get(deviceKey)
    if (entry === undefined) return
    links.delete(deviceKey)
    links.set(deviceKey, entry)
  }

  const add = (deviceKey: string, address: string, link: Link): void => {
    const previous = links.get(deviceKey)
    if (previous !== undefined && previous.link !== link) previous.link.close('replaced by a newer link')
    links.set(deviceKey, { link, address })
    link.onClose = () => {
      if (links.get(deviceKey)?.link !== link) return
      links.delete(deviceKey)
      on.lost(deviceKey, false)
    }
    while (links.size > MAX_PEER_LINKS) {
      const [oldestKey, oldest] = links.entries().next().value as [string, { link: Link }]
      links.delete(oldestKey)
      oldest.link.close('peer link limit reached (least recently used)')
      on.lost(oldestKey, true)
    }
    on.opened(deviceKey, address, link)
  }

  const dial = async (peer: PeerRef): Promise<Link> => {
    const connection = await components.transport.dial(peer.address, DIAL_TIMEOUT_MS)
    const link = await openLink(components, connection, 'initiator', peer.deviceKey)
    link.send({ t: 'peer-hello', address: self.address })
    add(peer.deviceKey, peer.address, link)
    return link
  }

  return {
    get (peer) {
      if (closed) return Promise.reject(new Error('supernode is closed'))
      const existing = links.get(peer.deviceKey)
      if (existing !== undefined && !existing.link.closed) {
        touch(peer.deviceKey)
        return Promise.resolve(existing.link)
      }
      let pending = dialing.get(peer.deviceKey)
      if (pending === undefined) {
        pending = dial(peer).finally(() => dialing.delete(peer.deviceKey))
        dialing.set(peer.deviceKey, pending)
      }
      return pending
    },
    adopt: add,
    userOf: deviceKey => links.get(deviceKey)?.link.peer.user,
    count: () => links.size,
    links: () => [...links.values()].map(entry => entry.link),
    close () {
      closed = true
      for (const { link } of links.values()) link.close('supernode shutting down')
      links.clear()
    }
  }
}
