// The signaling of a call's recovery (the decisions are recovery.ts's): the
// caller's re-offers and the callee's re-answers, sealed like the first offer and
// answer and sent again until our supernode takes them (we may be between
// supernodes), and the callee's call-recover. Every refusal is logged with why.
import type { CallBodyOf } from '../call-bodies.js'
import { RECOVERY_SIGNAL_INTERVAL_MS, RECOVERY_SIGNAL_SENDS } from '../constants.js'
import { openSealedSdp, sealSdp } from '../sealed-sdp.js'
import type { Call } from '../call.js'
import type { CallPath } from '../call-types.js'
import type { Sender, SignalingContext } from './context.js'
import { applyAnswer } from './apply-answer.js'
import { CallRecovery } from './recovery.js'
import { resendUntilAcked } from './resend.js'

/** The call connected: from now on a silent session is recovered rather than the call ended. */
export function startRecovery (ctx: SignalingContext, call: Call): CallRecovery {
  const { clock, log, media, sodium } = ctx.components
  const peerDevice = call.peerDevice as string
  const recovery: CallRecovery = new CallRecovery(call.direction === 'outgoing' ? 'caller' : 'callee', clock, {
    reoffer (generation) {
      const current = (): boolean => call.live && recovery.pending === generation
      media.offer(call, { relayOnly: call.relayOnly, generation }).then(sdp => {
        if (!current()) return
        log.info({ callId: call.id, generation }, `re-offering the call's media (session ${generation})`)
        deliver(ctx, call, { type: 'call-reoffer', device: peerDevice, sdp: sealSdp(sodium, sdp, peerDevice), relayOnly: call.relayOnly, generation }, current)
      }, (err: Error) => {
        log.warn({ callId: call.id, generation }, `re-offer ${generation} could not be made: ${err.message}`)
        recovery.attemptFailed(generation, err.message)
      })
    },
    askReoffer (generation) {
      void ctx.signal(call, { type: 'call-recover', generation })
    },
    recovering (reason) {
      log.info({ callId: call.id, peer: call.peer, reason }, `call interrupted: ${reason}; reconnecting`)
      ctx.init.onEvent({ event: 'recovering', callId: call.id, peer: call.peer, reason }, call)
    },
    recovered (generation, recoveryMs) {
      const path: CallPath = call.path ?? 'relay'
      log.info({ callId: call.id, generation, recoveryMs, path }, `call reconnected (${path}) after ${recoveryMs} ms`)
      ctx.init.onEvent({ event: 'recovered', callId: call.id, peer: call.peer, recoveryMs, path }, call)
    },
    giveUp (reason) {
      log.warn({ callId: call.id, peer: call.peer }, `call recovery failed: ${reason}`)
      ctx.end(call, 'connection-lost', true)
    }
  })
  return recovery
}

/** Sends `body` until our supernode delivered it (we may be between supernodes), while `current()` holds. */
function deliver (ctx: SignalingContext, call: Call, body: Record<string, string | number | boolean>, current: () => boolean): void {
  resendUntilAcked(ctx.components.clock, { intervalMs: RECOVERY_SIGNAL_INTERVAL_MS, maxSends: RECOVERY_SIGNAL_SENDS }, (_attempt, stop) => {
    if (!current()) { stop(); return }
    void ctx.signal(call, body).then(({ delivered }) => { if (delivered > 0) stop() })
  })
}

/** Callee: a re-offer from the calling device. */
export function onReoffer (ctx: SignalingContext, call: Call, from: Sender, body: CallBodyOf<'call-reoffer'>): void {
  const { log, media, sodium } = ctx.components
  const refuse = (why: string): void => { log.warn({ callId: call.id, from: from.user, generation: body.generation }, `refusing a call-reoffer: ${why}`) }
  if (call.state !== 'connected' || call.recovery === undefined) { refuse(`the call is ${call.state}, not connected`); return }
  if (body.device !== ctx.init.deviceKey) { refuse('it is addressed to another device'); return }
  const sdp = openSealedSdp(sodium, body.sdp, ctx.components.deviceSecretKey)
  if (sdp === undefined) { refuse('its SDP does not open for this device'); return }
  const recovery = call.recovery
  const verdict = recovery.reoffered(body.generation)
  if (!verdict.ok) { refuse(verdict.reason); return }
  const { generation } = body
  const current = (): boolean => call.live && recovery.pending === generation
  media.answer(call, sdp, { relayOnly: body.relayOnly, generation }).then(answer => {
    if (current()) deliver(ctx, call, { type: 'call-reanswer', device: from.deviceKey, sdp: sealSdp(sodium, answer, from.deviceKey), generation }, current)
  }, (err: Error) => {
    log.warn({ callId: call.id, generation }, `re-answer ${generation} could not be made: ${err.message}`)
    recovery.attemptFailed(generation, err.message)
  })
}

/** Caller: the callee's answer to a re-offer. */
export function onReanswer (ctx: SignalingContext, call: Call, from: Sender, body: CallBodyOf<'call-reanswer'>): void {
  const { log, sodium } = ctx.components
  const ignore = (why: string): void => { log.warn({ callId: call.id, generation: body.generation }, `ignoring a call-reanswer: ${why}`) }
  const recovery = call.recovery
  if (call.state !== 'connected' || recovery === undefined) { ignore(`the call is ${call.state}, not connected`); return }
  if (from.deviceKey !== call.peerDevice) { ignore('it comes from a device that is not in the call'); return }
  if (body.device !== ctx.init.deviceKey) { ignore('it is addressed to another device'); return }
  if (body.generation !== recovery.pending) { ignore(`stale generation ${body.generation} (waiting for ${recovery.pending ?? 'none'})`); return }
  const sdp = openSealedSdp(sodium, body.sdp, ctx.components.deviceSecretKey)
  if (sdp === undefined) { ignore('its SDP does not open for this device'); return }
  const refused = applyAnswer(ctx, call, from, sdp, body.generation)
  if (refused === undefined) return
  log.warn({ callId: call.id, generation: body.generation }, `re-answer SDP refused: ${refused}`)
  recovery.attemptFailed(body.generation, refused)
}

/** Caller: the callee hears nothing and asks for a re-offer. */
export function onRecoverAsked (ctx: SignalingContext, call: Call, from: Sender, body: CallBodyOf<'call-recover'>): void {
  const { log } = ctx.components
  const ignored = call.state !== 'connected' || call.recovery === undefined
    ? `the call is ${call.state}, not connected`
    : from.deviceKey !== call.peerDevice ? 'it comes from a device that is not in the call' : call.recovery.peerAsked(body.generation, call.media?.silentMs?.() ?? 0)
  if (ignored !== undefined) log.debug({ callId: call.id, generation: body.generation }, `ignoring a call-recover: ${ignored}`)
}
