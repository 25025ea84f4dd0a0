// Kademlia k-buckets over 256-bit ids. Bucket i holds peers whose id shares exactly i leading
// bits with ours (XOR distance in [2^(255-i), 2^(256-i))). Each bucket keeps at most k peers,
// least recently seen first, plus a replacement cache of at most k candidates. A full bucket
// does not take a newcomer: its least recently seen peer is pinged and only evicted when dead
// (old peers that stay up are the best predictor of peers that will stay up).
import type { Clock } from '../../../common/clock.js'
import { ID_BITS } from './constants.js'
import { commonPrefixLength, sortByDistance } from './ids.js'
import { copyPeer, type DhtPeer } from './messages.js'

interface Contact {
  peer: DhtPeer
  lastSeen: number
}

interface Bucket {
  /** Least recently seen first. */
  contacts: Contact[]
  /** Candidates for when a contact goes; most recently seen last. */
  replacements: Contact[]
  /** A ping of the least recently seen contact is in flight. */
  pinging: boolean
  /** Last time a lookup targeted an id in this bucket's range (or the table was created). */
  lastLookupAt: number
}

export interface RoutingTableInit {
  self: DhtPeer
  k: number
  clock: Clock
  /** A full bucket's least recently seen peer is pinged only if not seen for this long. */
  pingStaleAfterMs: number
  /** Resolves true when the peer answered. Must not reject. */
  ping: (peer: DhtPeer) => Promise<boolean>
  log?: (msg: string, fields?: object) => void
}

export class RoutingTable {
  private readonly init: RoutingTableInit
  private readonly buckets: Bucket[]
  private changes = 0

  constructor (init: RoutingTableInit) {
    this.init = init
    const now = init.clock.now()
    this.buckets = Array.from({ length: ID_BITS }, () => ({ contacts: [], replacements: [], pinging: false, lastLookupAt: now }))
  }

  /** Bucket index of `id` (its common prefix length with us); ID_BITS for our own id. */
  bucketIndex (id: string): number {
    return commonPrefixLength(this.init.self.id, id)
  }

  /** Counts changes of who is in the table (or at which address): equal counts, the same peers. */
  get version (): number {
    return this.changes
  }

  get size (): number {
    return this.buckets.reduce((sum, bucket) => sum + bucket.contacts.length, 0)
  }

  has (id: string): boolean {
    return this.find(id) !== undefined
  }

  /** Peers of one bucket, least recently seen first. */
  bucketPeers (index: number): DhtPeer[] {
    return (this.buckets[index]?.contacts ?? []).map(contact => ({ ...contact.peer }))
  }

  /** Replacement candidates of one bucket, most recently seen last. */
  bucketReplacements (index: number): DhtPeer[] {
    return (this.buckets[index]?.replacements ?? []).map(contact => ({ ...contact.peer }))
  }

  all (): DhtPeer[] {
    return this.buckets.flatMap(bucket => bucket.contacts.map(contact => ({ ...contact.peer })))
  }

  /** The `n` known peers closest to `target`, closest first. */
  closest (target: string, n: number): DhtPeer[] {
    if (n <= 0) return []
    return sortByDistance(this.all(), target).slice(0, n)
  }

  /**
   * Records that `peer` was seen alive. Updates its address and recency if known; adds it
   * if its bucket has room; otherwise parks it as a replacement and, if the bucket's least
   * recently seen peer is stale, pings that one and evicts it when it does not answer.
   */
  add (peer: DhtPeer): void {
    const index = this.bucketIndex(peer.id)
    const bucket = this.buckets[index]
    if (bucket === undefined) return // our own id
    const now = this.init.clock.now()
    const contact: Contact = { peer: copyPeer(peer), lastSeen: now }

    const at = bucket.contacts.findIndex(c => c.peer.id === peer.id)
    if (at !== -1) {
      if (bucket.contacts[at]?.peer.address !== peer.address) this.changes++
      bucket.contacts.splice(at, 1)
      bucket.contacts.push(contact)
      return
    }
    removeById(bucket.replacements, peer.id)
    if (bucket.contacts.length < this.init.k) {
      bucket.contacts.push(contact)
      this.changes++
      return
    }
    bucket.replacements.push(contact)
    if (bucket.replacements.length > this.init.k) bucket.replacements.shift()
    this.maybePingOldest(index, bucket, now)
  }

  /** Forgets a peer known to be dead; the most recently seen replacement takes its place. */
  remove (id: string): boolean {
    const bucket = this.buckets[this.bucketIndex(id)]
    if (bucket === undefined) return false
    removeById(bucket.replacements, id)
    if (!removeById(bucket.contacts, id)) return false
    this.changes++
    const replacement = bucket.replacements.pop()
    if (replacement !== undefined) bucket.contacts.push(replacement)
    return true
  }

  /** Notes that a lookup targeted `target`, so its bucket does not need a refresh. */
  markLookup (target: string): void {
    const bucket = this.buckets[this.bucketIndex(target)]
    if (bucket !== undefined) bucket.lastLookupAt = this.init.clock.now()
  }

  /**
   * Buckets to refresh: every bucket from 0 up to the deepest non-empty one that has seen
   * no lookup for `staleAfterMs` (all of them when `staleAfterMs` is 0). Deeper buckets are
   * empty because no peer shares that long a prefix with us; refreshing them finds nothing.
   */
  bucketsToRefresh (staleAfterMs: number): number[] {
    const now = this.init.clock.now()
    let deepest = -1
    this.buckets.forEach((bucket, index) => { if (bucket.contacts.length > 0) deepest = index })
    const due: number[] = []
    for (let index = 0; index <= deepest; index++) {
      const bucket = this.buckets[index] as Bucket
      if (staleAfterMs === 0 || now - bucket.lastLookupAt >= staleAfterMs) due.push(index)
    }
    return due
  }

  clear (): void {
    this.changes++
    for (const bucket of this.buckets) {
      bucket.contacts = []
      bucket.replacements = []
    }
  }

  private find (id: string): Contact | undefined {
    return this.buckets[this.bucketIndex(id)]?.contacts.find(contact => contact.peer.id === id)
  }

  private maybePingOldest (index: number, bucket: Bucket, now: number): void {
    const oldest = bucket.contacts[0]
    if (bucket.pinging || oldest === undefined || now - oldest.lastSeen < this.init.pingStaleAfterMs) return
    bucket.pinging = true
    const peer = oldest.peer
    void this.init.ping(peer).then(alive => {
      bucket.pinging = false
      const current = bucket.contacts.find(contact => contact.peer.id === peer.id)
      if (current === undefined) return
      if (alive) {
        current.lastSeen = this.init.clock.now()
        removeById(bucket.contacts, peer.id)
        bucket.contacts.push(current)
      } else {
        this.init.log?.('dht: evicting unresponsive peer', { id: peer.id, bucket: index })
        this.remove(peer.id)
      }
    })
  }
}

function removeById (contacts: Contact[], id: string): boolean {
  const at = contacts.findIndex(contact => contact.peer.id === id)
  if (at === -1) return false
  contacts.splice(at, 1)
  return true
}
