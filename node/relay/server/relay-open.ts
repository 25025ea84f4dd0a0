// The outcome of an `open-relay` action for a pending Allocate: the socket opened (the
// allocation is created and the client gets its success response), it failed, or it did not
// open in time (the client gets 508 either way).
import { ERROR, RESERVATION_TOKEN_BYTES } from '../constants.js'
import type { TransportAddress } from '../ip.js'
import type { StunAttribute } from '../stun/attributes.js'
import type { TurnAction } from './actions.js'
import type { Pending } from './allocation-table.js'
import { toHex, type TurnContext } from './context.js'
import { createAllocation } from './create-allocation.js'
import { errorReply } from './replies.js'
import { normalizeAddress } from './request-checks.js'

export function relayOpened (
  ctx: TurnContext, allocationId: string, relay: TransportAddress, reserved?: { allocationId: string, relay: TransportAddress }
): TurnAction[] {
  const pending = ctx.table.pendingById.get(allocationId)
  if (pending === undefined || ctx.table.closed) {
    const actions: TurnAction[] = [{ type: 'close-relay', allocationId, reason: 'no allocation waits for this relay' }]
    if (reserved !== undefined) actions.push({ type: 'close-relay', allocationId: reserved.allocationId, reason: 'no allocation waits for this relay' })
    return actions
  }
  ctx.table.forgetPending(pending)
  if (reserved !== undefined && reserved.allocationId !== pending.reserveNextAs) {
    return [
      { type: 'close-relay', allocationId, reason: 'reserved socket does not match the request' },
      { type: 'close-relay', allocationId: reserved.allocationId, reason: 'reserved socket does not match the request' },
      pendingError(ctx, pending, ERROR.SERVER_ERROR, 'relay sockets mismatched')
    ]
  }
  const relayAddress = normalizeAddress(relay)
  if (relayAddress === undefined) {
    return [
      { type: 'close-relay', allocationId, reason: 'invalid relay address' },
      pendingError(ctx, pending, ERROR.SERVER_ERROR, 'relay socket has an invalid address')
    ]
  }
  const extra: StunAttribute[] = []
  const actions: TurnAction[] = []
  if (pending.reserveNextAs !== undefined) {
    const reservedAddress = reserved === undefined ? undefined : normalizeAddress(reserved.relay)
    if (reservedAddress === undefined) {
      actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason: 'reservation not opened' })
    } else {
      const token = ctx.random(RESERVATION_TOKEN_BYTES)
      ctx.table.addReservation(toHex(token), pending.reserveNextAs, reservedAddress, pending.auth.user, pending.client.address, pending.auth.grant)
      extra.push({ type: 'RESERVATION-TOKEN', value: token })
    }
  }
  const { client, request, auth, lifetimeMs } = pending
  actions.push(createAllocation(ctx, { id: allocationId, client, relay: relayAddress, request, auth, lifetimeMs, extra }))
  return actions
}

export function relayFailed (ctx: TurnContext, allocationId: string, reason: string): TurnAction[] {
  const pending = ctx.table.pendingById.get(allocationId)
  const actions: TurnAction[] = [{ type: 'close-relay', allocationId, reason: `relay failed: ${reason}` }]
  if (pending === undefined) return actions
  ctx.table.forgetPending(pending)
  if (pending.reserveNextAs !== undefined) actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason: 'relay failed' })
  ctx.log.warn({ allocationId, reason }, 'turn: relay socket failed')
  actions.push(pendingError(ctx, pending, ERROR.INSUFFICIENT_CAPACITY, `no relay port: ${reason}`))
  return actions
}

/** The timer of a pending Allocate: its socket did not open in time. Actions go to onActions. */
export function pendingTimedOut (ctx: TurnContext, id: string): void {
  const pending = ctx.table.pendingById.get(id)
  if (pending === undefined) return
  const actions = ctx.table.dropPending(pending, 'relay open timed out')
  ctx.log.warn({ allocationId: id }, 'turn: relay socket did not open in time')
  actions.push(pendingError(ctx, pending, ERROR.INSUFFICIENT_CAPACITY, 'relay socket did not open in time'))
  ctx.onActions(actions)
}

/** The error response to the Allocate a pending allocation answers. */
function pendingError (ctx: TurnContext, pending: Pending, code: number, detail: string): TurnAction {
  return errorReply(ctx, { to: pending.client, request: pending.request, auth: pending.auth }, code, detail)
}
