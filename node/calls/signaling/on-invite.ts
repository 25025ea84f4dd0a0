// An invite arrives: refuse replays and stale copies, refuse who may not call
// or when we are busy, else ring (and say so to the caller).
import type { CallBodyOf, EndReason } from '../call-bodies.js'
import { INVITE_MAX_AGE_MS } from '../constants.js'
import { Call } from '../call.js'
import type { Sender, SignalingContext } from './context.js'

/** The callee gives up a little after the caller would: the caller's cancel normally arrives first. */
const CALLEE_RING_GRACE_MS = 5000

export function onInvite (ctx: SignalingContext, from: Sender, body: CallBodyOf<'call-invite'>): void {
  const { clock, log } = ctx.components
  if (ctx.calls.has(body.callId)) {
    log.debug({ callId: body.callId, from: from.user }, 'ignoring a call invite already seen (a duplicate delivery or a replay)')
    return
  }
  // A replayed old invite must not ring again: invites are fresh (signed `at`) and remembered.
  if (Math.abs(clock.now() - body.at) > INVITE_MAX_AGE_MS) {
    log.warn({ callId: body.callId, from: from.user }, 'ignoring a stale call invite (replayed?)')
    return
  }
  const call = new Call(clock, log, {
    id: body.callId,
    direction: 'incoming',
    peer: from.user,
    state: 'ringing',
    relayOnly: false,
    peerDevice: from.deviceKey,
    number: body.number,
    // A phone caller's number is believed from a service only (anyone else could show any number).
    callerNumber: ctx.init.isService?.(from.user) === true ? body.callerNumber : undefined
  })
  call.reached = 1
  const refuse = (reason: EndReason): void => {
    log.info({ callId: call.id, from: from.user, reason }, 'refusing a call')
    void ctx.signal(call, { type: 'call-end', reason, device: ctx.init.deviceKey })
  }
  if (!ctx.init.mayCall(from.user)) { refuse('not-allowed'); return }
  if (ctx.live().length > 0 && ctx.init.callWaiting !== true) { refuse('busy'); return }
  ctx.calls.set(call.id, call)
  void ctx.signal(call, { type: 'call-ringing' })
  ctx.components.media.prepare?.(call)
  ctx.init.onEvent({ event: 'incoming', callId: call.id, from: from.user, number: call.number, callerNumber: call.callerNumber }, call)
  call.setTimer(ctx.ringTimeoutMs + CALLEE_RING_GRACE_MS, () => { ctx.end(call, 'no-answer', false) })
}
