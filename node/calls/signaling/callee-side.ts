// The callee's side of a call: only the calling device speaks for it; the
// sealed offer (for this device) is answered, a call-end stops it (unless it
// says this device won).
import type { CallBody, CallBodyOf } from '../call-bodies.js'
import { isEndReason } from '../call-bodies.js'
import { openSealedSdp, sealSdp } from '../sealed-sdp.js'
import type { Call } from '../call.js'
import type { Sender, SignalingContext } from './context.js'
import { onReoffer } from './on-recovery.js'

export function onCalleeSide (ctx: SignalingContext, call: Call, from: Sender, body: CallBody): void {
  if (from.deviceKey !== call.peerDevice) {
    ctx.components.log.warn({ callId: call.id, device: from.deviceKey }, `ignoring a ${body.type} from a device of ${call.peer} that did not place the call`)
    return
  }
  switch (body.type) {
    case 'call-offer': onOffer(ctx, call, from, body); return
    case 'call-reoffer': onReoffer(ctx, call, from, body); return
    case 'call-answer-applied':
      if (body.device !== ctx.init.deviceKey) { ctx.components.log.debug({ callId: call.id }, 'ignoring a call-answer-applied for another device'); return }
      if (call.state === 'connecting' || call.state === 'connected') ctx.components.media.answerApplied?.(call, body.generation)
      return
    case 'call-end': {
      const reason = isEndReason(body.reason) ? body.reason : 'failed'
      // "answered-elsewhere" names the winning device: that is us, or we stop ringing.
      if (reason === 'answered-elsewhere' && body.device === ctx.init.deviceKey) return
      ctx.end(call, reason, false)
    }
  }
}

function onOffer (ctx: SignalingContext, call: Call, from: Sender, body: CallBodyOf<'call-offer'>): void {
  const { log, media, sodium } = ctx.components
  if (call.state !== 'connecting') { log.warn({ callId: call.id }, `ignoring a call-offer: the call is ${call.state}, not answered here`); return }
  if (body.device !== ctx.init.deviceKey) { log.debug({ callId: call.id }, 'ignoring a call-offer for another device'); return }
  const sdp = openSealedSdp(sodium, body.sdp, ctx.components.deviceSecretKey)
  if (sdp === undefined) { log.warn({ callId: call.id }, 'offer SDP does not open for this device'); ctx.end(call, 'failed', true); return }
  call.relayOnly = body.relayOnly
  media.answer(call, sdp, { relayOnly: body.relayOnly }).then(answer => {
    if (call.state === 'connecting') void ctx.signal(call, { type: 'call-answer', device: from.deviceKey, sdp: sealSdp(sodium, answer, from.deviceKey) })
  }, (err: Error) => { log.warn({ callId: call.id }, `media answer failed: ${err.message}`); ctx.end(call, 'failed', true) })
}
