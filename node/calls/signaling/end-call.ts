// The end of a call, one way for every reason: the state, the media, the word
// to the peer, the wording for the user, and how long the call is remembered.
import { CALL_END_RESEND_MS, CALL_END_SENDS, END_MESSAGES, INVITE_MAX_AGE_MS, MISSED_END_MESSAGES, OWN_END_MESSAGES } from '../constants.js'
import type { EndReason } from '../call-bodies.js'
import type { Call } from '../call.js'
import type { SignalingContext } from './context.js'
import { resendUntilAcked } from './resend.js'

export function endCall (ctx: SignalingContext, call: Call, reason: EndReason, notify: boolean, byPeer = false): void {
  const { clock, log } = ctx.components
  const previous = call.state
  if (!call.setState('ended', reason)) return
  void call.close()
  // Resent until acknowledged: across a dying supernode the first copy may be lost.
  if (notify) call.endResend = resendUntilAcked(clock, { intervalMs: CALL_END_RESEND_MS, maxSends: CALL_END_SENDS }, () => { void ctx.signal(call, { type: 'call-end', reason }) })
  const durationMs = call.connectedAt === undefined ? 0 : clock.now() - call.connectedAt
  // Told from this side: "you declined", not "alice declined", when we did it; "missed call from alice" when it rang here unanswered.
  // A call to or from a phone number names the number, not the gateway.
  const who = (call.direction === 'outgoing' ? call.number : call.callerNumber) ?? call.peer
  const missed = call.direction === 'incoming' && previous === 'ringing' ? MISSED_END_MESSAGES[reason]?.(who) : undefined
  const message = (notify && !byPeer ? OWN_END_MESSAGES[reason] : undefined) ?? missed ?? END_MESSAGES[reason](who)
  log.info({ callId: call.id, peer: call.peer, reason, previous }, `call ended: ${message}`)
  ctx.init.onEvent({ event: 'ended', callId: call.id, peer: call.peer, reason, message, durationMs }, call)
  // Ended calls stay known for longer than an invite stays fresh, so a replay finds them.
  clock.setTimeout(() => { ctx.calls.delete(call.id) }, 2 * INVITE_MAX_AGE_MS)
}
