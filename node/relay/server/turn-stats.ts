// The TURN server's own counters: allocations, requests and responses, packets and bytes
// relayed each way (per allocation in Allocation, totals here), and every packet not served,
// by reason.
import type { Allocation, FlowCounters } from './allocation.js'
import type { TransportAddress } from '../ip.js'

export type DropReason =
  /** Not STUN, not ChannelData, or STUN/ChannelData that does not decode (truncated, bad FINGERPRINT...). */
  | 'malformed'
  /** A STUN response or an indication the server does not take. */
  | 'unexpected'
  /** A Send indication that lacks what it needs or carries unknown comprehension-required attributes. */
  | 'bad-indication'
  /** Data for a 5-tuple or relay socket without an allocation. */
  | 'no-allocation'
  /** Data to or from a peer IP without a permission. */
  | 'no-permission'
  /** ChannelData on a channel that is not bound. */
  | 'no-channel'
  /** Over the allocation's relay rate. */
  | 'rate-limited'
  /** A packet after close(). */
  | 'closed'
  /** A Send indication to a peer the relay refuses (peer-ranges.ts). */
  | 'forbidden-peer'

export const DROP_REASONS: readonly DropReason[] = ['malformed', 'unexpected', 'bad-indication', 'no-allocation', 'no-permission', 'no-channel', 'rate-limited', 'closed', 'forbidden-peer']
/** How many recent drops stats() lists with their precise reasons. */
export const RECENT_DROPS = 16

export interface AllocationStats {
  id: string
  user: string
  username: string
  client: TransportAddress
  relay: TransportAddress
  createdAt: number
  expiresAt: number
  permissions: number
  channels: number
  /** Client → peer: packets and payload bytes relayed, packets dropped. */
  toPeer: FlowCounters
  /** Peer → client. */
  fromPeer: FlowCounters
}

export interface TurnServerStats {
  /** Live allocations. */
  allocations: number
  /** Allocations waiting for their relay socket. */
  pendingAllocations: number
  /** Ports held for a RESERVATION-TOKEN. */
  reservations: number
  allocationsCreated: number
  allocationsExpired: number
  /** Deleted by a Refresh with LIFETIME 0. */
  allocationsDeleted: number
  /** Closed by revokeGrant() or close(). */
  allocationsRevoked: number
  requests: number
  bindingRequests: number
  successResponses: number
  /** Error responses sent, by code. */
  errorResponses: Record<number, number>
  /** Totals over every allocation there has been: packets and payload bytes relayed. */
  toPeer: { packets: number, bytes: number }
  fromPeer: { packets: number, bytes: number }
  dropped: Record<DropReason, number>
  recentDrops: Array<{ reason: DropReason, detail: string, at: number }>
  perAllocation: AllocationStats[]
}

export type CounterSnapshot = Omit<TurnServerStats, 'allocations' | 'pendingAllocations' | 'reservations' | 'perAllocation'>

export class TurnCounters {
  allocationsCreated = 0
  allocationsExpired = 0
  allocationsDeleted = 0
  allocationsRevoked = 0
  requests = 0
  bindingRequests = 0
  successResponses = 0
  readonly toPeer = { packets: 0, bytes: 0 }
  readonly fromPeer = { packets: 0, bytes: 0 }
  private readonly errorResponses: Record<number, number> = {}
  private readonly dropped = Object.fromEntries(DROP_REASONS.map(reason => [reason, 0])) as Record<DropReason, number>
  private readonly recentDrops: Array<{ reason: DropReason, detail: string, at: number }> = []

  errorResponse (code: number): void {
    this.errorResponses[code] = (this.errorResponses[code] ?? 0) + 1
  }

  drop (reason: DropReason, detail: string, at: number): void {
    this.dropped[reason]++
    this.recentDrops.push({ reason, detail, at })
    if (this.recentDrops.length > RECENT_DROPS) this.recentDrops.shift()
  }

  snapshot (): CounterSnapshot {
    return {
      allocationsCreated: this.allocationsCreated,
      allocationsExpired: this.allocationsExpired,
      allocationsDeleted: this.allocationsDeleted,
      allocationsRevoked: this.allocationsRevoked,
      requests: this.requests,
      bindingRequests: this.bindingRequests,
      successResponses: this.successResponses,
      errorResponses: { ...this.errorResponses },
      toPeer: { ...this.toPeer },
      fromPeer: { ...this.fromPeer },
      dropped: { ...this.dropped },
      recentDrops: this.recentDrops.map(drop => ({ ...drop }))
    }
  }
}

/** Counts one relayed packet of `bytes` payload bytes. */
export function countPacket (counters: { packets: number, bytes: number }, bytes: number): void {
  counters.packets++
  counters.bytes += bytes
}

/** One allocation's entry in stats().perAllocation: copies, so callers cannot change the live state. */
export function allocationStats (allocation: Allocation, now: number): AllocationStats {
  return {
    id: allocation.id,
    user: allocation.user,
    username: allocation.username,
    client: { ...allocation.client },
    relay: { ...allocation.relay },
    createdAt: allocation.createdAt,
    expiresAt: allocation.expiresAt,
    permissions: allocation.permissionCount(now),
    channels: allocation.channelCount(now),
    toPeer: { ...allocation.toPeer },
    fromPeer: { ...allocation.fromPeer }
  }
}
