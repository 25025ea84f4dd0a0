// The callee's side of a call: only the calling device speaks for it. Answered
// here, our offer (gathered while it rang) goes with the accept, sealed to the
// calling device, and its sealed answer is applied; a call-end stops it
// (unless it says this device won).
import type { CallBody, CallBodyOf } from '../call-bodies.js'
import { isEndReason } from '../call-bodies.js'
import { ANSWER_SETUP_TIMEOUT_MS } from '../constants.js'
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
    case 'call-answer': onAnswer(ctx, call, body); return
    case 'call-reoffer': onReoffer(ctx, call, from, body); return
    case 'call-end': {
      const reason = isEndReason(body.reason) ? body.reason : 'failed'
      // "answered-elsewhere" names the winning device: that is us, or we stop ringing.
      if (reason === 'answered-elsewhere' && body.device === ctx.init.deviceKey) return
      ctx.end(call, reason, false)
      return
    }
    default: ctx.components.log.debug({ callId: call.id, from: from.user }, `ignoring a ${body.type}: not one a callee takes`)
  }
}

/** The user answers a ringing call here: it is ours, and the caller gets our offer with the accept. */
export async function acceptHere (ctx: SignalingContext, call: Call): Promise<void> {
  const { log, media, sodium } = ctx.components
  call.setState('connecting', 'answered here')
  call.setTimer(ANSWER_SETUP_TIMEOUT_MS, () => { ctx.end(call, 'failed', true) })
  let offer: string
  try {
    offer = await media.offer(call, { relayOnly: call.relayOnly })
  } catch (err) {
    log.warn({ callId: call.id }, `media offer failed: ${(err as Error).message}`)
    ctx.end(call, 'failed', true)
    return
  }
  // The caller may have hung up while the offer was finished.
  if (call.state !== 'connecting') return
  const device = call.peerDevice as string
  await ctx.signal(call, { type: 'call-accept', device, sdp: sealSdp(sodium, offer, device) })
}

function onAnswer (ctx: SignalingContext, call: Call, body: CallBodyOf<'call-answer'>): void {
  const { log, media, sodium } = ctx.components
  const problem = call.state !== 'connecting'
    ? `the call is ${call.state}, not waiting for an answer`
    : body.device !== ctx.init.deviceKey ? 'it is addressed to another device' : undefined
  if (problem !== undefined) { log.warn({ callId: call.id }, `ignoring a call-answer: ${problem}`); return }
  const sdp = openSealedSdp(sodium, body.sdp, ctx.components.deviceSecretKey)
  if (sdp === undefined) { log.warn({ callId: call.id }, 'answer SDP does not open for this device'); ctx.end(call, 'failed', true); return }
  try {
    media.accept(call, sdp)
  } catch (err) {
    log.warn({ callId: call.id }, `answer SDP refused: ${(err as Error).message}`)
    ctx.end(call, 'failed', true)
  }
}
