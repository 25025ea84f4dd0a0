// An allocation comes into being once its relay socket is open (or a reserved one is taken):
// the success response to its Allocate, kept for retransmissions, and its entry in the table.
import { addressKey, type TransportAddress } from '../ip.js'
import type { StunAttribute } from '../stun/attributes.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import { Allocation } from './allocation.js'
import type { TurnContext } from './context.js'
import { successReply } from './replies.js'
import type { Auth } from './turn-auth.js'

export interface NewAllocation {
  id: string
  client: TransportAddress
  relay: TransportAddress
  /** The Allocate request it answers. */
  request: StunMessage
  auth: Auth
  lifetimeMs: number
  /** Attributes of the response beside the addresses and LIFETIME (a RESERVATION-TOKEN). */
  extra: StunAttribute[]
}

export function createAllocation (ctx: TurnContext, init: NewAllocation): TurnAction {
  const { id, client, relay, request, auth, lifetimeMs, extra } = init
  const now = ctx.clock.now()
  const response = successReply(ctx, { to: client, request, auth }, [
    { type: 'XOR-RELAYED-ADDRESS', value: relay },
    { type: 'LIFETIME', value: lifetimeMs / 1000 },
    ...extra,
    { type: 'XOR-MAPPED-ADDRESS', value: client }
  ])
  const allocation = new Allocation(id, client, relay, auth.username, auth.user, request.transactionId, response.bytes, now, lifetimeMs, ctx.config.maxBytesPerSecond)
  ctx.table.add(allocation)
  ctx.counters.allocationsCreated++
  ctx.log.info({ id, user: auth.user, client: addressKey(client), relay: addressKey(relay), lifetimeSeconds: lifetimeMs / 1000 }, 'turn: allocation created')
  return response
}
