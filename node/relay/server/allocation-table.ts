// The TURN server's state: live allocations (by id and by client 5-tuple) with their expiry
// timers, allocations waiting for their relay socket, reserved ports (RESERVATION-TOKEN), the
// relayed ports of the relay's own address, and the open grants. What the quotas count.
import { addressGroupOf } from '../../../common/address.js'
import type { Clock, TimerHandle } from '../../../common/clock.js'
import type { Logger } from '../../../common/logger.js'
import { RESERVATION_LIFETIME_MS } from '../constants.js'
import { addressKey, type TransportAddress } from '../ip.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import type { Allocation } from './allocation.js'
import { toHex } from './context.js'
import type { Auth } from './turn-auth.js'
import type { TurnCounters } from './turn-stats.js'

/** An Allocate whose relay socket is being opened (an `open-relay` action is out). */
export interface Pending {
  id: string
  client: TransportAddress
  request: StunMessage
  auth: Auth
  lifetimeMs: number
  reserveNextAs?: string
  timer: TimerHandle
}

/** A port held (port+1 of an EVEN-PORT allocation with the R bit) for a later Allocate. */
export interface Reservation {
  token: string
  allocationId: string
  relay: TransportAddress
  user: string
  /** The client that asked for it: a held socket counts against that client's quotas. */
  clientIp: string
  grant?: string
  timer: TimerHandle
}

export type AllocationEnd = 'expired' | 'deleted' | 'revoked'

export interface AllocationTableComponents {
  clock: Clock
  random: (n: number) => Uint8Array
  log: Logger
  counters: TurnCounters
  /** Where the removals of expiry timers go. */
  onActions: (actions: TurnAction[]) => void
}

export class AllocationTable {
  readonly byId = new Map<string, Allocation>()
  readonly byClient = new Map<string, Allocation>()
  private readonly expiryTimers = new Map<string, TimerHandle>()
  readonly pendingById = new Map<string, Pending>()
  readonly pendingByClient = new Map<string, Pending>()
  readonly reservations = new Map<string, Reservation>()
  /** Relayed ports of the allocations: the only ports of the relay's own address a peer may have. */
  readonly relayPorts = new Set<number>()
  /** Grants whose credentials are honoured (requireGrant). */
  readonly grants = new Set<string>()
  closed = false

  constructor (private readonly components: AllocationTableComponents) {}

  /** Allocations, pending ones and reserved sockets: what the total quota counts. */
  get total (): number {
    return this.byId.size + this.pendingById.size + this.reservations.size
  }

  allocationsOf (user: string): number {
    let n = 0
    for (const allocation of this.byId.values()) if (allocation.user === user) n++
    for (const pending of this.pendingById.values()) if (pending.auth.user === user) n++
    for (const reservation of this.reservations.values()) if (reservation.user === user) n++
    return n
  }

  /** Allocations (pending ones and reserved sockets too) whose client is at `ip`, or in its /64 for IPv6. */
  allocationsFrom (ip: string): number {
    const key = addressGroupOf(ip)
    let n = 0
    for (const allocation of this.byId.values()) if (addressGroupOf(allocation.client.address) === key) n++
    for (const pending of this.pendingById.values()) if (addressGroupOf(pending.client.address) === key) n++
    for (const reservation of this.reservations.values()) if (addressGroupOf(reservation.clientIp) === key) n++
    return n
  }

  /** An id no allocation, pending allocation or reserved socket has. */
  newId (): string {
    for (;;) {
      const id = toHex(this.components.random(8))
      if (!this.byId.has(id) && !this.pendingById.has(id) && ![...this.reservations.values()].some(r => r.allocationId === id)) return id
    }
  }

  add (allocation: Allocation): void {
    this.byId.set(allocation.id, allocation)
    this.relayPorts.add(allocation.relay.port)
    this.byClient.set(addressKey(allocation.client), allocation)
    this.scheduleExpiry(allocation)
  }

  /** (Re)starts the allocation's expiry timer at its expiresAt. */
  scheduleExpiry (allocation: Allocation): void {
    const { clock } = this.components
    const previous = this.expiryTimers.get(allocation.id)
    if (previous !== undefined) clock.clearTimeout(previous)
    this.expiryTimers.set(allocation.id, clock.setTimeout(() => {
      this.expiryTimers.delete(allocation.id)
      if (this.byId.get(allocation.id) !== allocation) return
      this.components.onActions([this.remove(allocation, 'expired')])
    }, allocation.expiresAt - clock.now()))
  }

  /** Forgets the allocation, counts and logs its end; the close-relay action for its socket. */
  remove (allocation: Allocation, why: AllocationEnd): TurnAction {
    const { clock, counters, log } = this.components
    this.byId.delete(allocation.id)
    this.relayPorts.delete(allocation.relay.port)
    if (this.byClient.get(addressKey(allocation.client)) === allocation) this.byClient.delete(addressKey(allocation.client))
    const timer = this.expiryTimers.get(allocation.id)
    if (timer !== undefined) clock.clearTimeout(timer)
    this.expiryTimers.delete(allocation.id)
    if (why === 'expired') counters.allocationsExpired++
    else if (why === 'deleted') counters.allocationsDeleted++
    else counters.allocationsRevoked++
    log.info({
      id: allocation.id,
      user: allocation.user,
      why,
      toPeer: allocation.toPeer,
      fromPeer: allocation.fromPeer
    }, 'turn: allocation ended')
    return { type: 'close-relay', allocationId: allocation.id, reason: why }
  }

  addPending (pending: Pending): void {
    this.pendingById.set(pending.id, pending)
    this.pendingByClient.set(addressKey(pending.client), pending)
  }

  forgetPending (pending: Pending): void {
    this.pendingById.delete(pending.id)
    if (this.pendingByClient.get(addressKey(pending.client)) === pending) this.pendingByClient.delete(addressKey(pending.client))
    this.components.clock.clearTimeout(pending.timer)
  }

  /** Forgets a pending allocation; close-relay actions for its socket(s), which may be opening. */
  dropPending (pending: Pending, reason: string): TurnAction[] {
    this.forgetPending(pending)
    const actions: TurnAction[] = [{ type: 'close-relay', allocationId: pending.id, reason }]
    if (pending.reserveNextAs !== undefined) actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason })
    return actions
  }

  addReservation (token: string, allocationId: string, relay: TransportAddress, user: string, clientIp: string, grant: string | undefined): void {
    const reservation: Reservation = {
      token,
      allocationId,
      relay,
      user,
      clientIp,
      grant,
      timer: this.components.clock.setTimeout(() => {
        if (this.reservations.get(token) !== reservation) return
        this.components.onActions([this.removeReservation(reservation, 'reservation expired')])
      }, RESERVATION_LIFETIME_MS)
    }
    this.reservations.set(token, reservation)
  }

  /** The reservation leaves the table for an allocation to use its socket. */
  takeReservation (reservation: Reservation): void {
    this.reservations.delete(reservation.token)
    this.components.clock.clearTimeout(reservation.timer)
  }

  removeReservation (reservation: Reservation, reason: string): TurnAction {
    this.takeReservation(reservation)
    return { type: 'close-relay', allocationId: reservation.allocationId, reason }
  }
}
