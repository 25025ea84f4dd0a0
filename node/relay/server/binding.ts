// STUN Binding (RFC 8489 §3): the client's address as the server sees it. No authentication.
import { ERROR } from '../constants.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import type { Reply, TurnContext } from './context.js'
import { errorReply, successReply } from './replies.js'

export function handleBinding (ctx: TurnContext, reply: Reply, message: StunMessage): TurnAction[] {
  ctx.counters.bindingRequests++
  if (message.unknownRequired.length > 0) {
    return [errorReply(ctx, reply, ERROR.UNKNOWN_ATTRIBUTE, 'unknown comprehension-required attributes', [{ type: 'UNKNOWN-ATTRIBUTES', value: message.unknownRequired }])]
  }
  return [successReply(ctx, reply, [{ type: 'XOR-MAPPED-ADDRESS', value: reply.to }])]
}
