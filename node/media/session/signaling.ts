// The two signaling steps of a session: the offerer's start(), and applying the peer's
// description. Every remote description passes sdp-guard before native code sees it; the
// candidate gate decides which of its candidates ICE gets now and which wait.
import { OPUS_PAYLOAD_TYPE } from '../rtp.js'
import { checkRemoteSdp, type GuardResult, type SdpType } from '../sdp-guard.js'
import { AUDIO_MID } from './constants.js'
import { isLive, type SessionContext } from './context.js'

/** The offerer adds its track and creates the offer; a no-op for the answerer. */
export function startOffer (ctx: SessionContext): void {
  if (!isLive(ctx) || ctx.started) return
  ctx.started = true
  if (ctx.role !== 'offerer' || ctx.peer === undefined) return
  const problem = ctx.addTrack(AUDIO_MID, OPUS_PAYLOAD_TYPE)
  if (problem !== undefined) {
    ctx.log.error({ problem }, 'cannot start the media session')
    ctx.watchdog.reportFailure(problem)
    return
  }
  const offerProblem = ctx.peer.createOffer()
  if (offerProblem !== undefined) {
    ctx.log.error({ err: offerProblem }, 'creating the offer failed')
    ctx.watchdog.reportFailure(`creating the offer failed: ${offerProblem}`)
  }
}

/**
 * Checks and applies the peer's description. Before native code sees it, the track takes the
 * description's Opus payload type: the answerer adds its track with the offer's mid and payload
 * type (the answer is written from it), the offerer switches to the answer's if it differs.
 */
export function applyRemoteDescription (ctx: SessionContext, sdp: string, type: SdpType): GuardResult {
  const { role, log } = ctx
  if (!isLive(ctx) || ctx.peer === undefined) return { ok: false, reason: 'closed' }
  if (ctx.remote !== undefined) return { ok: false, reason: 'the remote description is already set' }
  const expected: SdpType = role === 'offerer' ? 'answer' : 'offer'
  if (type !== expected) return { ok: false, reason: `the ${role} takes an ${expected}, not ${String(type)}` }
  if (role === 'offerer' && ctx.localSdp === undefined) return { ok: false, reason: 'no offer was made yet' }
  const check = checkRemoteSdp(sdp, type)
  if (!check.ok) {
    log.warn({ type, reason: check.reason }, `refused the remote ${type}: ${check.reason}`)
    return check
  }
  if (role === 'offerer' && check.summary.mid !== AUDIO_MID) return { ok: false, reason: `the answer's mid is not ${AUDIO_MID}` }
  const { mid, opusPayloadType } = check.summary
  if (role === 'answerer') {
    ctx.started = true
    const problem = ctx.addTrack(mid, opusPayloadType)
    if (problem !== undefined) return { ok: false, reason: problem }
  } else {
    const problem = ctx.peer.useOpusPayloadType(opusPayloadType)
    if (problem !== undefined) return { ok: false, reason: problem }
  }
  const plan = ctx.gate.plan(sdp)
  const applied = ctx.peer.setRemoteDescription(plan.sdp, type)
  if (!applied.ok) return applied
  ctx.remote = check.summary
  ctx.timeline.mark('remoteDescription')
  for (const type of plan.signalledTypes) ctx.timeline.remoteCandidate(type)
  ctx.gate.applied(plan)
  return { ok: true }
}
