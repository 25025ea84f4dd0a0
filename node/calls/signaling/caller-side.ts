// The caller's side of a call: the callee's devices ring, one accepts (the
// others are told it was answered elsewhere), the sealed offer goes to that
// device, its sealed answer comes back; refusals end the call once every
// device reached has refused (a decline at once).
import type { CallBody, CallBodyOf } from '../call-bodies.js'
import { isEndReason } from '../call-bodies.js'
import { ANSWER_SETUP_TIMEOUT_MS } from '../constants.js'
import { openSealedSdp, sealSdp } from '../sealed-sdp.js'
import type { Call } from '../call.js'
import type { Sender, SignalingContext } from './context.js'
import { applyAnswer } from './apply-answer.js'
import { onReanswer, onRecoverAsked } from './on-recovery.js'

export function onCallerSide (ctx: SignalingContext, call: Call, from: Sender, body: CallBody): void {
  switch (body.type) {
    case 'call-ringing':
      call.rang.add(from.deviceKey)
      if (call.state === 'inviting' && call.setState('ringing', 'a device of the callee rings')) {
        ctx.init.onEvent({ event: 'ringing', callId: call.id, peer: call.peer }, call)
        // The offer is gathered while it rings (not sooner: the ringback should not wait for it).
        ctx.components.media.prepare?.(call)
      }
      return
    case 'call-accept': onAccept(ctx, call, from); return
    case 'call-answer': onAnswer(ctx, call, from, body); return
    case 'call-end': onEnd(ctx, call, from, body); return
    case 'call-reanswer': onReanswer(ctx, call, from, body); return
    case 'call-recover': onRecoverAsked(ctx, call, from, body); return
    default: ctx.components.log.debug({ callId: call.id, from: from.user }, `ignoring a ${body.type}: not one a caller takes`)
  }
}

function onAccept (ctx: SignalingContext, call: Call, from: Sender): void {
  const { log, media, sodium } = ctx.components
  if (call.state !== 'inviting' && call.state !== 'ringing') {
    // Another device won already (or this is a replay).
    log.debug({ callId: call.id, state: call.state }, 'ignoring a call-accept: the call was answered already')
    return
  }
  call.setState('connecting', 'the callee answered')
  call.peerDevice = from.deviceKey
  call.setTimer(ANSWER_SETUP_TIMEOUT_MS, () => { ctx.end(call, 'failed', true) })
  media.offer(call, { relayOnly: call.relayOnly }).then(sdp => {
    if (call.state !== 'connecting') return
    void ctx.signal(call, { type: 'call-offer', device: from.deviceKey, sdp: sealSdp(sodium, sdp, from.deviceKey), relayOnly: call.relayOnly })
  }, (err: Error) => { log.warn({ callId: call.id }, `media offer failed: ${err.message}`); ctx.end(call, 'failed', true) })
  // The invite rang this device only: no other device to stop (the word would cross both
  // supernodes beside the offer, for nothing). The count is the supernodes' (a lost forward
  // result lowers it), so a ring heard from another device sends it anyway; 0 is "not known yet".
  if (call.reached === 1 && [...call.rang].every(device => device === from.deviceKey)) return
  // The other devices stop ringing, a turn later: an offer gathered while the call rang goes
  // first (on the same path, it would wait behind this); one still gathering does not hold this up.
  ctx.components.clock.setTimeout(() => { void ctx.signal(call, { type: 'call-end', reason: 'answered-elsewhere', device: from.deviceKey }) }, 0)
}

function onAnswer (ctx: SignalingContext, call: Call, from: Sender, body: CallBodyOf<'call-answer'>): void {
  const { log, sodium } = ctx.components
  const problem = call.state !== 'connecting'
    ? `the call is ${call.state}, not waiting for an answer`
    : from.deviceKey !== call.peerDevice
      ? 'it comes from a device that did not accept the call'
      : body.device !== ctx.init.deviceKey ? 'it is addressed to another device' : undefined
  if (problem !== undefined) { log.warn({ callId: call.id, device: from.deviceKey }, `ignoring a call-answer: ${problem}`); return }
  const sdp = openSealedSdp(sodium, body.sdp, ctx.components.deviceSecretKey)
  if (sdp === undefined) { log.warn({ callId: call.id }, 'answer SDP does not open for this device'); ctx.end(call, 'failed', true); return }
  const refused = applyAnswer(ctx, call, from, sdp, 0)
  if (refused === undefined) return
  log.warn({ callId: call.id }, `answer SDP refused: ${refused}`)
  ctx.end(call, 'failed', true)
}

function onEnd (ctx: SignalingContext, call: Call, from: Sender, body: CallBodyOf<'call-end'>): void {
  const reason = isEndReason(body.reason) ? body.reason : 'failed'
  if (call.state === 'connecting' || call.state === 'connected') {
    if (from.deviceKey === call.peerDevice) ctx.end(call, reason === 'answered-elsewhere' ? 'failed' : reason, false)
    else ctx.components.log.debug({ callId: call.id, device: from.deviceKey }, 'ignoring a call-end from a device that is not in the call')
    return
  }
  // Refusals before anyone answered: a decline ends it; busy only when every device reached is busy.
  call.refusals.set(from.deviceKey, reason)
  if (reason === 'declined' || reason === 'not-allowed') { ctx.end(call, reason, true, true); return }
  if (call.refusals.size >= call.reached) ctx.end(call, reason, false)
}
