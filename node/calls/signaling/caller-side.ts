// The caller's side of a call: the callee's devices ring, one accepts with its
// sealed offer (the others are told it was answered elsewhere), our sealed
// answer goes back to that device; refusals end the call once every device
// reached has refused (a decline at once).
import type { CallBody, CallBodyOf } from '../call-bodies.js'
import { isEndReason } from '../call-bodies.js'
import { ANSWER_SETUP_TIMEOUT_MS } from '../constants.js'
import { openSealedSdp, sealSdp } from '../sealed-sdp.js'
import type { Call } from '../call.js'
import type { Sender, SignalingContext } from './context.js'
import { onReanswer, onRecoverAsked } from './on-recovery.js'

export function onCallerSide (ctx: SignalingContext, call: Call, from: Sender, body: CallBody): void {
  switch (body.type) {
    case 'call-ringing':
      call.rang.add(from.deviceKey)
      if (call.state === 'inviting' && call.setState('ringing', 'a device of the callee rings')) {
        ctx.init.onEvent({ event: 'ringing', callId: call.id, peer: call.peer }, call)
        // Our relay's credentials are fetched while it rings (not sooner: the ringback should not wait).
        ctx.components.media.prepare?.(call)
      }
      return
    case 'call-accept': onAccept(ctx, call, from, body); return
    case 'call-end': onEnd(ctx, call, from, body); return
    case 'call-reanswer': onReanswer(ctx, call, from, body); return
    case 'call-recover': onRecoverAsked(ctx, call, from, body); return
    default: ctx.components.log.debug({ callId: call.id, from: from.user }, `ignoring a ${body.type}: not one a caller takes`)
  }
}

function onAccept (ctx: SignalingContext, call: Call, from: Sender, body: CallBodyOf<'call-accept'>): void {
  const { log, media, sodium } = ctx.components
  if (call.state !== 'inviting' && call.state !== 'ringing') {
    // Another device won already (or this is a replay).
    log.debug({ callId: call.id, state: call.state }, 'ignoring a call-accept: the call was answered already')
    return
  }
  if (body.device !== ctx.init.deviceKey) { log.warn({ callId: call.id, device: from.deviceKey }, 'ignoring a call-accept: it is addressed to another device'); return }
  call.setState('connecting', 'the callee answered')
  call.peerDevice = from.deviceKey
  call.setTimer(ANSWER_SETUP_TIMEOUT_MS, () => { ctx.end(call, 'failed', true) })
  const offer = openSealedSdp(sodium, body.sdp, ctx.components.deviceSecretKey)
  if (offer === undefined) { log.warn({ callId: call.id }, 'offer SDP does not open for this device'); ctx.end(call, 'failed', true); return }
  // The invite rang this device only: no other device to stop (the word would cross both
  // supernodes beside the answer, for nothing). The count is the supernodes' (a lost forward
  // result lowers it), so a ring heard from another device sends it anyway; 0 is "not known yet".
  const othersRang = call.reached !== 1 || [...call.rang].some(device => device !== from.deviceKey)
  media.answer(call, offer, { relayOnly: call.relayOnly }).then(sdp => {
    if (call.state !== 'connecting') return
    void ctx.signal(call, { type: 'call-answer', device: from.deviceKey, sdp: sealSdp(sodium, sdp, from.deviceKey) })
    // The other devices stop ringing after the answer went out: on the same path, it would wait
    // behind this. (A call that fails or ends meanwhile tells every device itself.)
    if (othersRang) void ctx.signal(call, { type: 'call-end', reason: 'answered-elsewhere', device: from.deviceKey })
  }, (err: Error) => { log.warn({ callId: call.id }, `media answer failed: ${err.message}`); ctx.end(call, 'failed', true) })
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
