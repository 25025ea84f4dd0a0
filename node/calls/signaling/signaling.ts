// Calls as state machines: invite → ringing → connecting → connected → ended,
// with decline, busy, cancel, no-answer, unreachable, and multi-device ringing
// (the first device to answer wins; the others stop). Sans-IO: signaling goes
// out through `send`, media through the MediaPort, time through the Clock, call
// ids from the injected random source. A message handler per side of the call.
import { randomBytes as systemRandomBytes } from 'node:crypto'
import type { CallBody } from '../call-bodies.js'
import { ANSWER_SETUP_TIMEOUT_MS, DEFAULT_RING_TIMEOUT_MS } from '../constants.js'
import { Call, pickCall, type CallView } from '../call.js'
import { callError } from '../errors.js'
import type { EndReason } from '../call-bodies.js'
import type { CallPath } from '../call-types.js'
import type { CallSignalingComponents, CallSignalingInit, Sender, SignalingContext } from './context.js'
import { endCall } from './end-call.js'
import { onInvite } from './on-invite.js'
import { onCallerSide } from './caller-side.js'
import { onCalleeSide } from './callee-side.js'
import { startRecovery } from './on-recovery.js'

export type { CallEvent, CallSignalingComponents, CallSignalingInit, MediaPort, Sender } from './context.js'

/** Bytes of a call id (base64url: 16 characters). */
const CALL_ID_BYTES = 12

export interface CallSignaling {
  /** Places a call; resolves with its id once the invite went out. */
  call: (to: string, options?: { relayOnly?: boolean, number?: string, callerNumber?: string, mediaPage?: string }) => Promise<string>
  answer: (callId?: string) => Promise<void>
  /** `reason` (default declined): what the caller is told, e.g. busy (the PSTN gateway's busy line). */
  decline: (callId?: string, reason?: EndReason) => void
  /** `reason` (default hangup, or cancelled/declined before an answer): e.g. not-in-service from the gateway. */
  hangup: (callId?: string, reason?: EndReason) => void
  handleSignal: (from: Sender, body: CallBody) => void
  /** Media session `generation` (0, the first, when left out) connected. */
  mediaConnected: (callId: string, info: { path: CallPath, relay?: string, generation?: number }) => void
  mediaFailed: (callId: string, reason: string) => void
  /** Media session `generation` of a connected call went silent or failed: the call recovers. */
  mediaInterrupted: (callId: string, generation: number, reason: string, silentMs?: number) => void
  /** Snapshots of the live and recently ended calls (ended ones stay a while, so replays find them). */
  calls: () => CallView[]
  /** The call itself, for its owner (the call service attaches its media side). */
  get: (callId: string) => Call | undefined
  /** A live call by id or id prefix, or (left out) the first live one that fits. */
  pick: (callId: string | undefined, fits?: (call: Call) => boolean, none?: string) => Call
  /** Ends every live call (hangup, cancel or decline) and tells the peers; resolves once every signal on its way out has been sent. */
  close: () => Promise<void>
}

/**
 * A call id: 16 base64url characters. Never one starting with "-": people and scripts pass ids to
 * `voxmesh hangup ID`, where such an id reads as an option (it did, for 1 call in 64).
 */
export function newCallId (randomBytes: (n: number) => Uint8Array): string {
  for (;;) {
    const id = Buffer.from(randomBytes(CALL_ID_BYTES)).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

export function createCallSignaling (components: CallSignalingComponents, init: CallSignalingInit): CallSignaling {
  const { clock, log } = components
  const randomBytes = components.randomBytes ?? (n => systemRandomBytes(n))
  /** Signals on their way out (close waits for them). */
  const sending = new Set<Promise<unknown>>()
  const ctx: SignalingContext = {
    components,
    init,
    calls: new Map(),
    ringTimeoutMs: init.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS,
    live: () => [...ctx.calls.values()].filter(c => c.live),
    signal: (call, body) => {
      const sent = components.send(call.peer, { ...body, callId: call.id }).catch((err: Error) => {
        log.warn({ callId: call.id }, `call signal not sent: ${err.message}`)
        return { delivered: 0 }
      })
      sending.add(sent)
      void sent.finally(() => { sending.delete(sent) })
      return sent
    },
    end: (call, reason, notify, byPeer) => { endCall(ctx, call, reason, notify, byPeer) }
  }
  const pick: CallSignaling['pick'] = (callId, fits = () => true, none) => pickCall(ctx.calls.values(), callId, fits, none)
  const ringing = (call: Call): boolean => call.state === 'ringing' && call.direction === 'incoming'

  return {
    async call (to, options = {}) {
      if (to === init.user) throw callError('self_call')
      if (ctx.live().length > 0 && init.callWaiting !== true) throw callError('in_call')
      const id = newCallId(randomBytes)
      const call = new Call(clock, log, { id, direction: 'outgoing', peer: to, state: 'inviting', relayOnly: options.relayOnly === true, number: options.number, callerNumber: options.callerNumber, mediaPage: options.mediaPage })
      ctx.calls.set(call.id, call)
      call.setTimer(ctx.ringTimeoutMs, () => { ctx.end(call, 'no-answer', true) })
      const numbers = { ...(call.number === undefined ? {} : { number: call.number }), ...(call.callerNumber === undefined ? {} : { callerNumber: call.callerNumber }) }
      const { delivered } = await ctx.signal(call, { type: 'call-invite', at: clock.now(), ...numbers })
      call.reached = delivered
      if (delivered === 0) ctx.end(call, 'unreachable', false)
      return call.id
    },
    async answer (callId) {
      const call = pick(callId, ringing, 'no incoming call to act on')
      call.setState('connecting', 'answered here')
      call.setTimer(ANSWER_SETUP_TIMEOUT_MS, () => { ctx.end(call, 'failed', true) })
      await ctx.signal(call, { type: 'call-accept' })
    },
    decline (callId, reason = 'declined') {
      ctx.end(pick(callId, ringing, 'no incoming call to act on'), reason, true)
    },
    hangup (callId, reason) {
      const call = pick(callId)
      ctx.end(call, reason ?? (call.state === 'connected' ? 'hangup' : call.direction === 'outgoing' ? 'cancelled' : 'declined'), true)
    },
    handleSignal (from, body) {
      if (body.to !== init.user || body.from !== from.user) {
        log.warn({ callId: body.callId, from: from.user }, `ignoring a ${body.type} from ${body.from} to ${body.to}, signed by ${from.user}`)
        return
      }
      if (body.type === 'call-invite') { onInvite(ctx, from, body); return }
      const call = ctx.calls.get(body.callId)
      // Replays and late duplicates (both ends may hang up at once) are expected: debug, not warn.
      if (call === undefined) { log.debug({ callId: body.callId, from: from.user }, `ignoring a ${body.type} for an unknown call`); return }
      if (call.peer !== from.user) {
        log.warn({ callId: call.id, from: from.user }, `ignoring a ${body.type} from ${from.user}: the call is with ${call.peer}`)
        return
      }
      if (body.type === 'call-end-ack') { call.endResend?.stop(); return }
      if (body.type === 'call-end' && body.reason !== 'answered-elsewhere' && (call.peerDevice === undefined || from.deviceKey === call.peerDevice)) {
        // The peer resends its end until we say it arrived (also when we had ended the call ourselves).
        call.endResend?.stop()
        void ctx.signal(call, { type: 'call-end-ack' })
      }
      if (!call.live) { log.debug({ callId: call.id, from: from.user }, `ignoring a ${body.type} for a call that has ended`); return }
      if (call.direction === 'outgoing') onCallerSide(ctx, call, from, body)
      else onCalleeSide(ctx, call, from, body)
    },
    mediaConnected (callId, info) {
      const call = ctx.calls.get(callId)
      if (call === undefined) return
      if ((info.generation ?? 0) > 0) {
        if (call.state !== 'connected') return
        call.path = info.path
        call.recovery?.connected(info.generation as number)
        return
      }
      if (call.state !== 'connecting') return
      call.clearTimer()
      call.path = info.path
      call.setState('connected', `media flows (${info.path})`)
      call.recovery = startRecovery(ctx, call)
      const setupMs = (call.connectedAt ?? clock.now()) - (call.acceptedAt ?? call.startedAt)
      init.onEvent({ event: 'connected', callId, peer: call.peer, path: info.path, relay: info.relay, setupMs }, call)
    },
    mediaFailed (callId, reason) {
      const call = ctx.calls.get(callId)
      if (call === undefined || !call.live) return
      log.warn({ callId }, `media failed: ${reason}`)
      ctx.end(call, 'failed', true)
    },
    mediaInterrupted (callId, generation, reason, silentMs = 0) {
      const call = ctx.calls.get(callId)
      if (call?.recovery === undefined || call.state !== 'connected') return
      const outcome = call.recovery.interrupted(generation, reason, silentMs)
      log.debug({ callId, generation, reason }, `media session ${generation} interrupted (${reason}): ${outcome}`)
    },
    calls: () => [...ctx.calls.values()].map(call => call.view()),
    get: callId => ctx.calls.get(callId),
    pick,
    async close () {
      for (const call of ctx.live()) {
        // Answered calls are hung up; ringing ones cancelled (ours) or declined (theirs).
        const answered = call.state === 'connected' || call.state === 'connecting'
        const reason: EndReason = answered ? 'hangup' : call.direction === 'outgoing' ? 'cancelled' : 'declined'
        ctx.end(call, reason, true)
      }
      await Promise.all(sending)
    }
  }
}
