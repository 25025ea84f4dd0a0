// One TURN allocation's state: its relay address, permissions, channel bindings, rate limits
// and counters. Pure data and bookkeeping; the TURN method handlers decide what to do with it.
import { CHANNEL_LIFETIME_MS, PERMISSION_LIFETIME_MS } from '../constants.js'
import { addressKey, type TransportAddress } from '../ip.js'

/** A token bucket of bytes: `rate` per second, holding at most one second's worth. */
export class ByteBucket {
  private tokens: number
  private updatedAt: number

  constructor (private readonly rate: number, now: number) {
    this.tokens = rate
    this.updatedAt = now
  }

  /** Takes `bytes` if available (true), or leaves the bucket as it was (false). */
  take (bytes: number, now: number): boolean {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.rate, this.tokens + (now - this.updatedAt) * this.rate / 1000)
      this.updatedAt = now
    }
    if (bytes > this.tokens) return false
    this.tokens -= bytes
    return true
  }
}

export interface FlowCounters {
  packets: number
  bytes: number
  /** Packets dropped for this flow: over the rate limit, or (from peers) without permission. */
  dropped: number
}

export interface ChannelBinding {
  channel: number
  peer: TransportAddress
  expiresAt: number
}

export class Allocation {
  /** Peer IP → permission expiry (ms). */
  private readonly permissions = new Map<string, number>()
  private readonly channelsByNumber = new Map<number, ChannelBinding>()
  private readonly channelsByPeer = new Map<string, ChannelBinding>()
  readonly toPeer: FlowCounters = { packets: 0, bytes: 0, dropped: 0 }
  readonly fromPeer: FlowCounters = { packets: 0, bytes: 0, dropped: 0 }
  readonly toPeerBucket: ByteBucket
  readonly fromPeerBucket: ByteBucket
  expiresAt: number

  constructor (
    readonly id: string,
    /** The client's transport address (the 5-tuple, with the server's one listening socket and UDP). */
    readonly client: TransportAddress,
    readonly relay: TransportAddress,
    /** Full credential username: later requests must use the same one (441 otherwise). */
    readonly username: string,
    /** The user part of the username, whom quotas count. */
    readonly user: string,
    /** The transaction of the Allocate that created it, and the response sent, for retransmissions. */
    readonly transactionId: Uint8Array,
    readonly successResponse: Uint8Array,
    readonly createdAt: number,
    lifetimeMs: number,
    maxBytesPerSecond: number
  ) {
    this.expiresAt = createdAt + lifetimeMs
    this.toPeerBucket = new ByteBucket(maxBytesPerSecond, createdAt)
    this.fromPeerBucket = new ByteBucket(maxBytesPerSecond, createdAt)
  }

  hasPermission (ip: string, now: number): boolean {
    const expiresAt = this.permissions.get(ip)
    return expiresAt !== undefined && expiresAt > now
  }

  /** Peer IPs with a live permission after installing `ips` (for the quota check before doing it). */
  permissionCountWith (ips: string[], now: number): number {
    this.prune(now)
    let count = this.permissions.size
    for (const ip of new Set(ips)) if (!this.permissions.has(ip)) count++
    return count
  }

  installPermission (ip: string, now: number): void {
    this.permissions.set(ip, now + PERMISSION_LIFETIME_MS)
  }

  channelByNumber (channel: number, now: number): ChannelBinding | undefined {
    const binding = this.channelsByNumber.get(channel)
    return binding !== undefined && binding.expiresAt > now ? binding : undefined
  }

  channelByPeer (peer: TransportAddress, now: number): ChannelBinding | undefined {
    const binding = this.channelsByPeer.get(addressKey(peer))
    return binding !== undefined && binding.expiresAt > now ? binding : undefined
  }

  channelCount (now: number): number {
    this.prune(now)
    return this.channelsByNumber.size
  }

  /** Binds or refreshes; the caller has checked that neither side is bound to something else. */
  bindChannel (channel: number, peer: TransportAddress, now: number): void {
    this.prune(now)
    const binding: ChannelBinding = { channel, peer, expiresAt: now + CHANNEL_LIFETIME_MS }
    this.channelsByNumber.set(channel, binding)
    this.channelsByPeer.set(addressKey(peer), binding)
  }

  permissionCount (now: number): number {
    this.prune(now)
    return this.permissions.size
  }

  /** Forgets expired permissions and channel bindings. */
  prune (now: number): void {
    for (const [ip, expiresAt] of this.permissions) if (expiresAt <= now) this.permissions.delete(ip)
    for (const [channel, binding] of this.channelsByNumber) if (binding.expiresAt <= now) this.channelsByNumber.delete(channel)
    for (const [peer, binding] of this.channelsByPeer) if (binding.expiresAt <= now) this.channelsByPeer.delete(peer)
  }
}
