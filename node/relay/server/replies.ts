// Answers to requests (success, error, a challenge to authenticate) and drops of packets not
// served: each counted, and every reply carrying SOFTWARE and the request's own protection
// (MESSAGE-INTEGRITY with the request's key and algorithm, FINGERPRINT when it had one).
import { ERROR_PHRASES, MAX_TEXT_CHARS } from '../constants.js'
import { addressKey } from '../ip.js'
import type { StunAttribute } from '../stun/attributes.js'
import { encodeStunMessage } from '../stun/message.js'
import type { TurnAction, SendToClient } from './actions.js'
import type { Reply, TurnContext } from './context.js'
import type { DropReason } from './turn-stats.js'

/** Counts and logs (debug) a packet the server does not serve; no actions. */
export function drop (ctx: TurnContext, reason: DropReason, detail: string): TurnAction[] {
  ctx.counters.drop(reason, detail, ctx.clock.now())
  ctx.log.debug({ reason, detail }, 'turn: packet dropped')
  return []
}

export function successReply (ctx: TurnContext, reply: Reply, attributes: StunAttribute[]): SendToClient {
  ctx.counters.successResponses++
  return { type: 'send-to-client', to: reply.to, bytes: encodeReply(ctx, reply, 'success', attributes) }
}

/** An error response whose reason phrase says what was wrong. */
export function errorReply (ctx: TurnContext, reply: Reply, code: number, detail: string, extra: StunAttribute[] = []): TurnAction {
  ctx.counters.errorResponse(code)
  const reason = truncate(`${ERROR_PHRASES[code] ?? 'Error'}: ${detail}`, MAX_TEXT_CHARS)
  return { type: 'send-to-client', to: reply.to, bytes: encodeReply(ctx, reply, 'error', [{ type: 'ERROR-CODE', value: { code, reason } }, ...extra]) }
}

/** An error response with REALM and a fresh NONCE, so the client can (re)authenticate (401, 438). */
export function challengeReply (ctx: TurnContext, reply: Reply, code: number, detail: string): TurnAction {
  return errorReply(ctx, reply, code, detail, [
    { type: 'REALM', value: ctx.config.realm },
    { type: 'NONCE', value: ctx.auth.nonceFor(addressKey(reply.to), ctx.clock.now()) }
  ])
}

function encodeReply (ctx: TurnContext, reply: Reply, cls: 'success' | 'error', attributes: StunAttribute[]): Uint8Array {
  return encodeStunMessage({
    method: reply.request.method,
    class: cls,
    transactionId: reply.request.transactionId,
    attributes: [...attributes, { type: 'SOFTWARE', value: ctx.config.software }]
  }, {
    integrityKey: reply.auth?.key,
    integrity: reply.auth?.algorithm,
    fingerprint: reply.request.hasFingerprint
  })
}

function truncate (text: string, maxChars: number): string {
  const chars = [...text]
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`
}
