// A STUN request from a client: Binding is answered to anyone; the TURN methods are
// authenticated (turn-auth.ts) and then go to their handler, a file per method.
import { ERROR, METHOD } from '../constants.js'
import { addressKey, type TransportAddress } from '../ip.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import { handleAllocate } from './allocate.js'
import { handleBinding } from './binding.js'
import { handleChannelBind } from './channel-bind.js'
import type { Reply, TurnContext } from './context.js'
import { handleCreatePermission } from './create-permission.js'
import { handleRefresh } from './refresh.js'
import { challengeReply, errorReply } from './replies.js'

export function handleRequest (ctx: TurnContext, client: TransportAddress, message: StunMessage): TurnAction[] {
  ctx.counters.requests++
  const reply: Reply = { to: client, request: message }
  if (message.method === METHOD.BINDING) return handleBinding(ctx, reply, message)
  if (!isTurnRequest(message.method)) return [errorReply(ctx, reply, ERROR.BAD_REQUEST, `unknown method 0x${message.method.toString(16)}`)]

  const authenticated = ctx.auth.authenticate(message, addressKey(client), ctx.clock.now())
  if (!authenticated.ok) {
    if (authenticated.code === ERROR.UNAUTHENTICATED) ctx.log.debug({ client: addressKey(client), reason: authenticated.detail }, 'turn: unauthenticated request')
    return [authenticated.challenge ? challengeReply(ctx, reply, authenticated.code, authenticated.detail) : errorReply(ctx, reply, authenticated.code, authenticated.detail)]
  }
  const auth = authenticated.auth
  reply.auth = auth
  if (message.unknownRequired.length > 0) {
    return [errorReply(ctx, reply, ERROR.UNKNOWN_ATTRIBUTE, 'unknown comprehension-required attributes', [{ type: 'UNKNOWN-ATTRIBUTES', value: message.unknownRequired }])]
  }
  switch (message.method) {
    case METHOD.ALLOCATE: return handleAllocate(ctx, reply, message, auth)
    case METHOD.REFRESH: return handleRefresh(ctx, reply, message, auth)
    case METHOD.CREATE_PERMISSION: return handleCreatePermission(ctx, reply, message, auth)
    default: return handleChannelBind(ctx, reply, message, auth)
  }
}

function isTurnRequest (method: number): boolean {
  return method === METHOD.ALLOCATE || method === METHOD.REFRESH || method === METHOD.CREATE_PERMISSION || method === METHOD.CHANNEL_BIND
}
