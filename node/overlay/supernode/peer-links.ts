// Supernode ↔ supernode links: dialed on demand, reused, at most MAX_PEER_LINKS
// open (least recently used closed first), one dial at a time per peer.
// Both ends open with a peer-hello carrying their supernode credential; a link
// is used only while the peer's credential is valid, so only supernodes the
// login server admitted (dial-back, a few per address) ever reach the DHT.
import { verifySupernodeCredential, type SupernodeCredential, type SupernodeCredentialBody } from '../../../common/supernode-credential.js'
import { openLink, type Link } from '../link.js'
import { DIAL_TIMEOUT_MS, MAX_PEER_LINKS } from '../constants.js'
import type { MessageOf } from '../messages.js'
import type { SupernodeComponents } from './context.js'

export interface PeerRef { deviceKey: string, address: string, dhtId?: string }

export interface PeerLinks {
  /** An open link to the supernode with this device key (and DHT id, when known), dialing it if needed. */
  get: (peer: PeerRef) => Promise<Link>
  /** A link the peer opened to us, whose first message was `hello`: checked, answered with our own, registered. Throws when refused. */
  adopt: (link: Link, hello: MessageOf<'peer-hello'>) => void
  /** A renewed credential from a linked peer (a later peer-hello). Throws when it does not check out. */
  renewed: (deviceKey: string, hello: MessageOf<'peer-hello'>) => void
  /** Whether the peer's credential is still valid (links to expired peers are not used). */
  isAdmitted: (deviceKey: string) => boolean
  /** The credential facts of a linked peer. */
  credentialOf: (deviceKey: string) => SupernodeCredentialBody | undefined
  /** Sends our (renewed) credential on every open link. */
  announce: () => void
  count: () => number
  /** The open links (e.g. to close those whose certificate was revoked). */
  links: () => Link[]
  /** Every open link with its peer's credential facts. */
  entries: () => Array<{ link: Link, credential: SupernodeCredentialBody }>
  close: () => void
}

interface Entry { link: Link, credential: SupernodeCredentialBody }

export function createPeerLinks (
  components: SupernodeComponents,
  self: { address: string, credential: () => SupernodeCredential | undefined },
  on: { opened: (credential: SupernodeCredentialBody, link: Link) => void, lost: (credential: SupernodeCredentialBody, evicted: boolean) => void }
): PeerLinks {
  // Map order is recency order: re-inserted on use.
  const links = new Map<string, Entry>()
  const dialing = new Map<string, Promise<Link>>()
  let closed = false
  const nowSeconds = (): number => Math.floor(components.clock.now() / 1000)

  const hello = (): MessageOf<'peer-hello'> => {
    const credential = self.credential()
    if (credential === undefined) throw new Error('this supernode is not admitted (no credential from the login server yet)')
    return { t: 'peer-hello', address: self.address, credential }
  }

  const check = (deviceKey: string, message: MessageOf<'peer-hello'>, dhtId?: string): SupernodeCredentialBody =>
    checkPeerHello(components, deviceKey, message, dhtId)

  const touch = (deviceKey: string): void => {
    const entry = links.get(deviceKey)
    if (entry === undefined) return
    links.delete(deviceKey)
    links.set(deviceKey, entry)
  }

  const add = (credential: SupernodeCredentialBody, link: Link): void => {
    const { deviceKey } = credential
    const previous = links.get(deviceKey)
    if (previous !== undefined && previous.link !== link) previous.link.close('replaced by a newer link')
    const entry = { link, credential }
    links.set(deviceKey, entry)
    link.onClose = () => {
      if (links.get(deviceKey)?.link !== link) return
      links.delete(deviceKey)
      on.lost(entry.credential, false)
    }
    while (links.size > MAX_PEER_LINKS) {
      const [oldestKey, oldest] = links.entries().next().value as [string, Entry]
      links.delete(oldestKey)
      oldest.link.close('peer link limit reached (least recently used)')
      on.lost(oldest.credential, true)
    }
    on.opened(credential, link)
  }

  const dial = async (peer: PeerRef): Promise<Link> =>
    await dialPeer(components, peer, hello(), (message, link) => { add(check(peer.deviceKey, message, peer.dhtId), link) })

  return {
    get (peer) {
      if (closed) return Promise.reject(new Error('supernode is closed'))
      const existing = links.get(peer.deviceKey)
      // A DHT contact names an id and a key: the pair must be what the login server signed, or
      // a member could answer lookups as if it stood anywhere it likes (at an id next to a victim's key).
      if (existing !== undefined && peer.dhtId !== undefined && existing.credential.dhtId !== peer.dhtId) {
        return Promise.reject(new Error(`${peer.address} is not at the DHT id it was given as (its credential names another)`))
      }
      if (existing !== undefined && !existing.link.closed) {
        if (existing.credential.expires > nowSeconds()) {
          touch(peer.deviceKey)
          return Promise.resolve(existing.link)
        }
        existing.link.close('the peer\'s supernode credential expired')
      }
      let pending = dialing.get(peer.deviceKey)
      if (pending === undefined) {
        pending = dial(peer).finally(() => dialing.delete(peer.deviceKey))
        dialing.set(peer.deviceKey, pending)
      }
      return pending
    },
    adopt (link, message) {
      const ours = hello()
      const credential = check(link.peer.deviceKey, message)
      link.send(ours)
      add(credential, link)
    },
    renewed (deviceKey, message) {
      const entry = links.get(deviceKey)
      if (entry === undefined) return
      const renewal = check(deviceKey, message)
      if (renewal.dhtId !== entry.credential.dhtId || renewal.address !== entry.credential.address) {
        // A new epoch (or address): the DHT knows the peer under its old place; it comes back under the new one.
        entry.link.close('the peer moved to a new DHT id or address')
        return
      }
      entry.credential = renewal
    },
    isAdmitted: deviceKey => (links.get(deviceKey)?.credential.expires ?? 0) > nowSeconds(),
    credentialOf: deviceKey => links.get(deviceKey)?.credential,
    announce () {
      const ours = hello()
      for (const { link } of links.values()) link.send(ours)
    },
    count: () => links.size,
    links: () => [...links.values()].map(entry => entry.link),
    entries: () => [...links.values()].map(({ link, credential }) => ({ link, credential })),
    close () {
      closed = true
      for (const { link } of links.values()) link.close('supernode shutting down')
      links.clear()
    }
  }
}

/** Checks a peer-hello: a supernode credential from the login server for this device key, at the address it gives. */
function checkPeerHello (components: SupernodeComponents, deviceKey: string, message: MessageOf<'peer-hello'>, dhtId?: string): SupernodeCredentialBody {
  const result = verifySupernodeCredential(components.sodium, message.credential, {
    issuerKey: components.issuerKey, nowSeconds: Math.floor(components.clock.now() / 1000), expect: { deviceKey, address: message.address, dhtId }
  })
  if (!result.ok) throw new Error(`not an admitted supernode: ${result.message}`)
  return result.body
}

/**
 * Dials a peer, sends our hello and waits for its own; `admit` checks that hello and registers the
 * link (it throws to refuse), and the dial resolves with the link once it did.
 */
async function dialPeer (
  components: SupernodeComponents, peer: PeerRef, ours: MessageOf<'peer-hello'>, admit: (hello: MessageOf<'peer-hello'>, link: Link) => void
): Promise<Link> {
  const connection = await components.transport.dial(peer.address, DIAL_TIMEOUT_MS)
  const link = await openLink(components, connection, 'initiator', peer.deviceKey)
  link.send(ours)
  // The peer answers with its own hello; it is checked (and the link registered) in the
  // same turn, so messages right behind it go to the peer handler, not to the floor.
  return await new Promise<Link>((resolve, reject) => {
    const timer = components.clock.setTimeout(() => {
      link.close('no peer-hello in time')
      reject(new Error(`${peer.address} sent no peer-hello within ${DIAL_TIMEOUT_MS} ms`))
    }, DIAL_TIMEOUT_MS)
    link.onClose = reason => { components.clock.clearTimeout(timer); reject(new Error(`link to ${peer.address} closed: ${reason}`)) }
    link.onMessage = message => {
      components.clock.clearTimeout(timer)
      try {
        if (message.t !== 'peer-hello') throw new Error(`first message must be peer-hello, got ${message.t}`)
        admit(message, link)
        resolve(link)
      } catch (err) {
        link.close((err as Error).message)
        reject(err as Error)
      }
    }
  })
}
