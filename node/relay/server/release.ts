// Ending allocations from outside the protocol: a host's call ended (releaseAllocations), the
// TCP connection of a client went away (releaseClient), a host left (revokeGrant: every allocation, pending one and reservation of its grant), and the
// server closing (every socket).
import { addressKey, canonicalIp, type TransportAddress } from '../ip.js'
import { parseTurnUsername } from '../credentials.js'
import type { TurnAction } from './actions.js'
import type { Allocation } from './allocation.js'
import type { Reservation } from './allocation-table.js'
import type { TurnContext } from './context.js'
import type { Auth } from './turn-auth.js'

/** Ends the allocations of `user` whose relayed address is in `relayed`. */
export function releaseAllocations (ctx: TurnContext, user: string, relayed: TransportAddress[]): TurnAction[] {
  const wanted = new Set(relayed.map(address => addressKey({ address: canonicalIp(address.address) ?? address.address, port: address.port })))
  const actions: TurnAction[] = []
  for (const allocation of [...ctx.table.byId.values()]) {
    if (allocation.user === user && wanted.has(addressKey(allocation.relay))) actions.push(ctx.table.remove(allocation, 'deleted'))
  }
  return actions
}

/**
 * Ends the allocation (or pending allocation) of the client at this transport address: over TCP
 * the connection is the 5-tuple, and once it closes nothing can reach the client there again.
 */
export function releaseClient (ctx: TurnContext, client: TransportAddress): TurnAction[] {
  const key = addressKey({ address: canonicalIp(client.address) ?? client.address, port: client.port })
  const actions: TurnAction[] = []
  const allocation = ctx.table.byClient.get(key)
  if (allocation !== undefined) actions.push(ctx.table.remove(allocation, 'deleted'))
  const pending = ctx.table.pendingByClient.get(key)
  if (pending !== undefined) actions.push(...ctx.table.dropPending(pending, 'client connection closed'))
  return actions
}

/** Closes the grant and ends everything made under it. */
export function revokeGrant (ctx: TurnContext, grant: string): TurnAction[] {
  ctx.table.grants.delete(grant)
  return revokeWhere(ctx,
    allocation => grantOf(allocation.username) === grant,
    auth => auth.grant === grant,
    reservation => reservation.grant === grant)
}

/** Ends every allocation, pending allocation and reservation; idempotent. */
export function closeAll (ctx: TurnContext): TurnAction[] {
  const { table } = ctx
  if (table.closed) return []
  const actions: TurnAction[] = []
  for (const allocation of [...table.byId.values()]) actions.push(table.remove(allocation, 'revoked'))
  for (const pending of [...table.pendingById.values()]) actions.push(...table.dropPending(pending, 'server closed'))
  for (const reservation of [...table.reservations.values()]) actions.push(table.removeReservation(reservation, 'server closed'))
  table.closed = true
  return actions
}

function revokeWhere (
  ctx: TurnContext,
  allocationMatches: (allocation: Allocation) => boolean,
  pendingMatches: (auth: Auth) => boolean,
  reservationMatches: (reservation: Reservation) => boolean
): TurnAction[] {
  const { table } = ctx
  const actions: TurnAction[] = []
  for (const allocation of [...table.byId.values()]) {
    if (allocationMatches(allocation)) actions.push(table.remove(allocation, 'revoked'))
  }
  for (const pending of [...table.pendingById.values()]) {
    if (pendingMatches(pending.auth)) actions.push(...table.dropPending(pending, 'revoked'))
  }
  for (const reservation of [...table.reservations.values()]) {
    if (reservationMatches(reservation)) actions.push(table.removeReservation(reservation, 'revoked'))
  }
  return actions
}

/** The grant a credential username names, if any. */
function grantOf (username: string): string | undefined {
  const parsed = parseTurnUsername(username, 0)
  return parsed.ok ? parsed.grant : undefined
}
