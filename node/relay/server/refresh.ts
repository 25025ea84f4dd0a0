// Refresh (RFC 8656 §7.3): extends an allocation's lifetime, or deletes it with LIFETIME 0.
import { ERROR } from '../constants.js'
import { findAttribute } from '../stun/attributes.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import { Allocation } from './allocation.js'
import { grantedLifetimeMs } from './config.js'
import type { Reply, TurnContext } from './context.js'
import { errorReply, successReply } from './replies.js'
import { allocationFor } from './request-checks.js'
import type { Auth } from './turn-auth.js'

export function handleRefresh (ctx: TurnContext, reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
  const allocation = allocationFor(ctx, reply, auth)
  if (!(allocation instanceof Allocation)) return allocation
  const family = findAttribute(message, 'REQUESTED-ADDRESS-FAMILY')
  if (family !== undefined && family.value !== ctx.config.relayFamily) {
    return [errorReply(ctx, reply, ERROR.PEER_ADDRESS_FAMILY_MISMATCH, `the allocation is IPv${ctx.config.relayFamily}`)]
  }
  const requested = findAttribute(message, 'LIFETIME')?.value
  if (requested === 0) {
    const close = ctx.table.remove(allocation, 'deleted')
    return [successReply(ctx, reply, [{ type: 'LIFETIME', value: 0 }]), close]
  }
  const lifetimeMs = grantedLifetimeMs(ctx.config, requested)
  allocation.expiresAt = ctx.clock.now() + lifetimeMs
  ctx.table.scheduleExpiry(allocation)
  return [successReply(ctx, reply, [{ type: 'LIFETIME', value: lifetimeMs / 1000 }])]
}
