// Allocate (RFC 8656 §7.2): a relayed transport address for the client's 5-tuple. The relay
// socket is opened by the edge (an `open-relay` action; relay-open.ts takes the outcome), or
// taken from a reservation (RESERVATION-TOKEN) at once.
import { ATTR, ERROR, RELAY_OPEN_TIMEOUT_MS, TRANSPORT_UDP } from '../constants.js'
import { addressKey } from '../ip.js'
import { findAttribute } from '../stun/attributes.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import { grantedLifetimeMs } from './config.js'
import { sameBytes, toHex, type Reply, type TurnContext } from './context.js'
import { createAllocation } from './create-allocation.js'
import { pendingTimedOut } from './relay-open.js'
import { challengeReply, errorReply } from './replies.js'
import type { Auth } from './turn-auth.js'

export function handleAllocate (ctx: TurnContext, reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
  const repeated = alreadyAllocating(ctx, reply, message)
  if (repeated !== undefined) return repeated
  if (auth.expired) {
    reply.auth = undefined
    return [challengeReply(ctx, reply, ERROR.UNAUTHENTICATED, `credentials expired at ${new Date(auth.expiresAt).toISOString()}`)]
  }
  const refused = requestRefusal(ctx, reply, message) ?? quotaRefusal(ctx, reply, auth)
  if (refused !== undefined) return [refused]
  const lifetimeMs = grantedLifetimeMs(ctx.config, findAttribute(message, 'LIFETIME')?.value)
  const client = reply.to

  const token = findAttribute(message, 'RESERVATION-TOKEN')
  if (token !== undefined) {
    const reservation = ctx.table.reservations.get(toHex(token.value))
    if (reservation === undefined || reservation.user !== auth.user) {
      return [errorReply(ctx, reply, ERROR.INSUFFICIENT_CAPACITY, 'RESERVATION-TOKEN unknown or expired')]
    }
    ctx.table.takeReservation(reservation)
    return [createAllocation(ctx, { id: reservation.allocationId, client, relay: reservation.relay, request: message, auth, lifetimeMs, extra: [] })]
  }

  const evenPort = findAttribute(message, 'EVEN-PORT')
  const id = ctx.table.newId()
  const reserveNextAs = evenPort?.value.reserve === true ? ctx.table.newId() : undefined
  ctx.table.addPending({
    id,
    client,
    request: message,
    auth,
    lifetimeMs,
    reserveNextAs,
    timer: ctx.clock.setTimeout(() => { pendingTimedOut(ctx, id) }, RELAY_OPEN_TIMEOUT_MS)
  })
  return [{ type: 'open-relay', allocationId: id, address: ctx.config.relayAddress, family: ctx.config.relayFamily, evenPort: evenPort !== undefined, reserveNextAs }]
}

/**
 * The answer when the 5-tuple already has an allocation (or one in progress): the same success
 * response again for a retransmission, nothing while it is still in progress, 437 for a new
 * transaction. Undefined when the 5-tuple is free.
 */
function alreadyAllocating (ctx: TurnContext, reply: Reply, message: StunMessage): TurnAction[] | undefined {
  const clientKey = addressKey(reply.to)
  const existing = ctx.table.byClient.get(clientKey)
  if (existing !== undefined) {
    if (sameBytes(existing.transactionId, message.transactionId)) return [{ type: 'send-to-client', to: reply.to, bytes: existing.successResponse }]
    return [errorReply(ctx, reply, ERROR.ALLOCATION_MISMATCH, 'this 5-tuple already has an allocation')]
  }
  const pending = ctx.table.pendingByClient.get(clientKey)
  if (pending !== undefined) {
    if (sameBytes(pending.request.transactionId, message.transactionId)) return [] // a retransmission; the answer is on its way
    return [errorReply(ctx, reply, ERROR.ALLOCATION_MISMATCH, 'this 5-tuple already has an allocation in progress')]
  }
  return undefined
}

/** The error response to an Allocate this relay cannot serve as asked (400, 420, 440, 442). */
function requestRefusal (ctx: TurnContext, reply: Reply, message: StunMessage): TurnAction | undefined {
  const transport = findAttribute(message, 'REQUESTED-TRANSPORT')
  if (transport === undefined) return errorReply(ctx, reply, ERROR.BAD_REQUEST, 'REQUESTED-TRANSPORT missing')
  if (transport.value !== TRANSPORT_UDP) return errorReply(ctx, reply, ERROR.UNSUPPORTED_TRANSPORT_PROTOCOL, `only UDP (17) is relayed, not protocol ${transport.value}`)
  if (findAttribute(message, 'DONT-FRAGMENT') !== undefined) {
    return errorReply(ctx, reply, ERROR.UNKNOWN_ATTRIBUTE, 'DONT-FRAGMENT is not supported', [{ type: 'UNKNOWN-ATTRIBUTES', value: [ATTR.DONT_FRAGMENT] }])
  }
  const token = findAttribute(message, 'RESERVATION-TOKEN')
  const evenPort = findAttribute(message, 'EVEN-PORT')
  const family = findAttribute(message, 'REQUESTED-ADDRESS-FAMILY')
  if (token !== undefined && (evenPort !== undefined || family !== undefined)) {
    return errorReply(ctx, reply, ERROR.BAD_REQUEST, `RESERVATION-TOKEN cannot come with ${evenPort !== undefined ? 'EVEN-PORT' : 'REQUESTED-ADDRESS-FAMILY'}`)
  }
  const requestedFamily = family?.value ?? 4
  if (requestedFamily !== ctx.config.relayFamily) {
    return errorReply(ctx, reply, ERROR.ADDRESS_FAMILY_NOT_SUPPORTED, `this relay serves IPv${ctx.config.relayFamily} only`)
  }
  return undefined
}

/** The error response when the user, the client's address or the relay has all the allocations it may (486, 508). */
function quotaRefusal (ctx: TurnContext, reply: Reply, auth: Auth): TurnAction | undefined {
  const { config, table, log } = ctx
  const ofUser = table.allocationsOf(auth.user)
  if (ofUser >= config.maxAllocationsPerUser) {
    log.info({ user: auth.user, allocations: ofUser }, 'turn: allocation quota reached')
    return errorReply(ctx, reply, ERROR.ALLOCATION_QUOTA_REACHED, `user has ${ofUser} allocations, the most allowed`)
  }
  const fromAddress = table.allocationsFrom(reply.to.address)
  if (fromAddress >= config.maxAllocationsPerAddress) {
    log.warn({ user: auth.user, client: reply.to.address, allocations: fromAddress }, 'turn: allocation quota of the client address reached')
    return errorReply(ctx, reply, ERROR.ALLOCATION_QUOTA_REACHED, `address has ${fromAddress} allocations, the most allowed`)
  }
  const total = table.total
  if (total >= config.maxAllocations) {
    log.warn({ allocations: total }, 'turn: at capacity')
    return errorReply(ctx, reply, ERROR.INSUFFICIENT_CAPACITY, 'relay at its allocation capacity')
  }
  return undefined
}
