// Calls as state machines: invite → ringing → connecting → connected → ended,
// with decline, busy, cancel, no-answer, unreachable, and multi-device ringing
// (the first device to answer wins; the others stop). Sans-IO: signaling goes
// out through `send`, media through MediaPort, time through the Clock.
import { randomBytes } from 'node:crypto'
import type { Sodium } from '../../common/sodium.js'
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { isEndReason, type CallBody, type CallBodyOf, type EndReason } from './call-bodies.js'
import { openSealedSdp, sealSdp } from './sealed-sdp.js'
import { ANSWER_SETUP_TIMEOUT_MS, DEFAULT_RING_TIMEOUT_MS, END_MESSAGES, INVITE_MAX_AGE_MS, OWN_END_MESSAGES } from './constants.js'

export type CallState = 'inviting' | 'ringing' | 'connecting' | 'connected' | 'ended'
export type MediaPath = 'direct' | 'relay'

export interface CallView {
  id: string
  direction: 'outgoing' | 'incoming'
  peer: string
  state: CallState
  startedAt: number
  connectedAt?: number
  path?: MediaPath
  relayOnly: boolean
}

export type CallEvent =
  | { event: 'incoming', callId: string, from: string }
  | { event: 'ringing', callId: string, peer: string }
  | { event: 'connected', callId: string, peer: string, path: MediaPath, relay?: string, setupMs: number }
  | { event: 'ended', callId: string, peer: string, reason: EndReason, message: string, durationMs: number }

/** What a call needs from the media layer; the node implements it with node-datachannel. */
export interface MediaPort {
  /** Caller: creates the session and resolves its complete offer SDP (ICE gathered). */
  offer: (callId: string, options: { relayOnly: boolean }) => Promise<string>
  /** Callee: creates the session from the offer and resolves its complete answer SDP. */
  answer: (callId: string, offerSdp: string, options: { relayOnly: boolean }) => Promise<string>
  /** Caller: applies the callee's answer; throws when the media layer refuses it (the message says why). */
  accept: (callId: string, answerSdp: string) => void
  /** Idempotent. */
  close: (callId: string) => void
}

export interface CallManagerComponents {
  sodium: Sodium
  clock: Clock
  log: Logger
  media: MediaPort
  /** Routes a signed envelope with this body to every device of `to`; resolves with the devices reached. */
  send: (to: string, body: Record<string, string | number | boolean>) => Promise<{ delivered: number }>
  /** This device's Ed25519 secret key (to open SDP sealed to us). */
  deviceSecretKey: Uint8Array
}

export interface CallManagerInit {
  user: string
  deviceKey: string
  /** Whether `from` may call us (the node: contacts only unless configured otherwise). */
  mayCall: (from: string) => boolean
  callWaiting?: boolean
  ringTimeoutMs?: number
  onEvent: (event: CallEvent) => void
}

interface Call extends CallView {
  /** The other side's device once known (the one that answered, or the caller's). */
  peerDevice?: string
  /** Caller: how many devices the invite reached, and which have said what. */
  reached: number
  refusals: Map<string, EndReason>
  acceptedAt?: number
  timer?: TimerHandle
}

export interface CallManager {
  call: (to: string, options?: { relayOnly?: boolean }) => Promise<string>
  answer: (callId?: string) => Promise<void>
  decline: (callId?: string) => void
  hangup: (callId?: string) => void
  handleSignal: (from: { user: string, deviceKey: string }, body: CallBody) => void
  mediaConnected: (callId: string, info: { path: MediaPath, relay?: string }) => void
  mediaFailed: (callId: string, reason: string) => void
  calls: () => CallView[]
  close: () => void
}

export class CallError extends Error {}

export function createCallManager (components: CallManagerComponents, init: CallManagerInit): CallManager {
  const { clock, log, media, sodium } = components
  const calls = new Map<string, Call>()
  const ringTimeoutMs = init.ringTimeoutMs ?? DEFAULT_RING_TIMEOUT_MS

  const view = (call: Call): CallView => {
    const { id, direction, peer, state, startedAt, connectedAt, path, relayOnly } = call
    return { id, direction, peer, state, startedAt, connectedAt, path, relayOnly }
  }
  const live = (): Call[] => [...calls.values()].filter(c => c.state !== 'ended')
  const signal = (call: Call, body: Record<string, string | number | boolean>): Promise<{ delivered: number }> =>
    components.send(call.peer, { ...body, callId: call.id }).catch((err: Error) => {
      log.warn({ callId: call.id }, `call signal not sent: ${err.message}`)
      return { delivered: 0 }
    })
  const setTimer = (call: Call, ms: number, onTimeout: () => void): void => {
    if (call.timer !== undefined) clock.clearTimeout(call.timer)
    call.timer = clock.setTimeout(onTimeout, ms)
  }

  /**
   * Ends a call once: closes media, tells the other side (`notify`; not when it told us), reports
   * why. `byPeer` marks an end the peer decided that we still pass on (a decline cancels the rest).
   */
  const end = (call: Call, reason: EndReason, notify: boolean, byPeer = false): void => {
    if (call.state === 'ended') return
    const previous = call.state
    call.state = 'ended'
    if (call.timer !== undefined) clock.clearTimeout(call.timer)
    media.close(call.id)
    if (notify) void signal(call, { type: 'call-end', reason })
    const durationMs = call.connectedAt === undefined ? 0 : clock.now() - call.connectedAt
    // Told from this side: "you declined", not "alice declined", when we did it.
    const message = (notify && !byPeer ? OWN_END_MESSAGES[reason] : undefined) ?? END_MESSAGES[reason](call.peer)
    log.info({ callId: call.id, peer: call.peer, reason, previous }, `call ended: ${message}`)
    init.onEvent({ event: 'ended', callId: call.id, peer: call.peer, reason, message, durationMs })
    // Ended calls stay known for longer than an invite stays fresh, so a replay finds them.
    clock.setTimeout(() => { calls.delete(call.id) }, 2 * INVITE_MAX_AGE_MS)
  }

  const pick = (callId: string | undefined, states: CallState[], direction?: 'incoming'): Call => {
    const candidates = live().filter(c => states.includes(c.state) && (direction === undefined || c.direction === direction))
    const call = callId === undefined ? candidates[0] : candidates.find(c => c.id === callId || c.id.startsWith(callId))
    if (call === undefined) throw new CallError(callId === undefined ? `no ${direction ?? ''} call to act on`.replace('  ', ' ') : `no such call: ${callId}`)
    return call
  }

  const onInvite = (from: { user: string, deviceKey: string }, body: CallBodyOf<'call-invite'>): void => {
    if (calls.has(body.callId)) {
      log.debug({ callId: body.callId, from: from.user }, 'ignoring a call invite already seen (a duplicate delivery or a replay)')
      return
    }
    // A replayed old invite must not ring again: invites are fresh (signed `at`) and remembered.
    if (Math.abs(clock.now() - body.at) > INVITE_MAX_AGE_MS) {
      log.warn({ callId: body.callId, from: from.user }, 'ignoring a stale call invite (replayed?)')
      return
    }
    const call: Call = {
      id: body.callId, direction: 'incoming', peer: from.user, state: 'ringing', startedAt: clock.now(),
      peerDevice: from.deviceKey, reached: 1, refusals: new Map(), relayOnly: false
    }
    const refuse = (reason: EndReason): void => {
      log.info({ callId: call.id, from: from.user, reason }, 'refusing a call')
      void signal(call, { type: 'call-end', reason, device: init.deviceKey })
    }
    if (!init.mayCall(from.user)) { refuse('not-allowed'); return }
    if (live().length > 0 && init.callWaiting !== true) { refuse('busy'); return }
    calls.set(call.id, call)
    void signal(call, { type: 'call-ringing' })
    init.onEvent({ event: 'incoming', callId: call.id, from: from.user })
    // Give up a little after the caller would: its cancel normally arrives first.
    setTimer(call, ringTimeoutMs + 5000, () => { end(call, 'no-answer', false) })
  }

  const onCallerSide = (call: Call, from: { deviceKey: string }, body: CallBody): void => {
    switch (body.type) {
      case 'call-ringing':
        if (call.state === 'inviting') {
          call.state = 'ringing'
          init.onEvent({ event: 'ringing', callId: call.id, peer: call.peer })
        }
        return
      case 'call-accept': {
        if (call.state !== 'inviting' && call.state !== 'ringing') {
          // Another device won already (or this is a replay).
          log.debug({ callId: call.id, state: call.state }, 'ignoring a call-accept: the call was answered already')
          return
        }
        call.state = 'connecting'
        call.peerDevice = from.deviceKey
        call.acceptedAt = clock.now()
        // The other devices stop ringing.
        void signal(call, { type: 'call-end', reason: 'answered-elsewhere', device: from.deviceKey })
        setTimer(call, ANSWER_SETUP_TIMEOUT_MS, () => { end(call, 'failed', true) })
        media.offer(call.id, { relayOnly: call.relayOnly }).then(sdp => {
          if (call.state !== 'connecting') return
          void signal(call, { type: 'call-offer', device: from.deviceKey, sdp: sealSdp(sodium, sdp, from.deviceKey), relayOnly: call.relayOnly })
        }, (err: Error) => { log.warn({ callId: call.id }, `media offer failed: ${err.message}`); end(call, 'failed', true) })
        return
      }
      case 'call-answer': {
        const problem = call.state !== 'connecting'
          ? `the call is ${call.state}, not waiting for an answer`
          : from.deviceKey !== call.peerDevice
            ? 'it comes from a device that did not accept the call'
            : body.device !== init.deviceKey ? 'it is addressed to another device' : undefined
        if (problem !== undefined) { log.warn({ callId: call.id, device: from.deviceKey }, `ignoring a call-answer: ${problem}`); return }
        const sdp = openSealedSdp(sodium, body.sdp, components.deviceSecretKey)
        if (sdp === undefined) { log.warn({ callId: call.id }, 'answer SDP does not open for this device'); end(call, 'failed', true); return }
        try {
          media.accept(call.id, sdp)
        } catch (err) {
          log.warn({ callId: call.id }, `answer SDP refused: ${(err as Error).message}`)
          end(call, 'failed', true)
        }
        return
      }
      case 'call-end': {
        const reason = isEndReason(body.reason) ? body.reason : 'failed'
        if (call.state === 'connecting' || call.state === 'connected') {
          if (from.deviceKey === call.peerDevice) end(call, reason === 'answered-elsewhere' ? 'failed' : reason, false)
          else log.debug({ callId: call.id, device: from.deviceKey }, 'ignoring a call-end from a device that is not in the call')
          return
        }
        // Refusals before anyone answered: a decline ends it; busy only when every device reached is busy.
        call.refusals.set(from.deviceKey, reason)
        if (reason === 'declined' || reason === 'not-allowed') { end(call, reason, true, true); return }
        if (call.refusals.size >= call.reached) end(call, reason, false)
      }
    }
  }

  const onCalleeSide = (call: Call, from: { deviceKey: string }, body: CallBody): void => {
    // Only the calling device speaks for the call.
    if (from.deviceKey !== call.peerDevice) {
      log.warn({ callId: call.id, device: from.deviceKey }, `ignoring a ${body.type} from a device of ${call.peer} that did not place the call`)
      return
    }
    switch (body.type) {
      case 'call-offer': {
        if (call.state !== 'connecting') { log.warn({ callId: call.id }, `ignoring a call-offer: the call is ${call.state}, not answered here`); return }
        if (body.device !== init.deviceKey) { log.debug({ callId: call.id }, 'ignoring a call-offer for another device'); return }
        const sdp = openSealedSdp(sodium, body.sdp, components.deviceSecretKey)
        if (sdp === undefined) { log.warn({ callId: call.id }, 'offer SDP does not open for this device'); end(call, 'failed', true); return }
        call.relayOnly = body.relayOnly
        media.answer(call.id, sdp, { relayOnly: body.relayOnly }).then(answer => {
          if (call.state === 'connecting') void signal(call, { type: 'call-answer', device: from.deviceKey, sdp: sealSdp(sodium, answer, from.deviceKey) })
        }, (err: Error) => { log.warn({ callId: call.id }, `media answer failed: ${err.message}`); end(call, 'failed', true) })
        return
      }
      case 'call-end': {
        const reason = isEndReason(body.reason) ? body.reason : 'failed'
        // "answered-elsewhere" names the winning device: that is us, or we stop ringing.
        if (reason === 'answered-elsewhere' && body.device === init.deviceKey) return
        end(call, reason, false)
      }
    }
  }

  return {
    async call (to, options = {}) {
      if (to === init.user) throw new CallError('you cannot call yourself')
      if (live().length > 0 && init.callWaiting !== true) throw new CallError('already in a call; hang up first')
      const call: Call = {
        id: randomBytes(12).toString('base64url'), direction: 'outgoing', peer: to, state: 'inviting', startedAt: clock.now(),
        reached: 0, refusals: new Map(), relayOnly: options.relayOnly === true
      }
      calls.set(call.id, call)
      setTimer(call, ringTimeoutMs, () => { end(call, 'no-answer', true) })
      const { delivered } = await signal(call, { type: 'call-invite', at: clock.now() })
      call.reached = delivered
      if (delivered === 0) end(call, 'unreachable', false)
      return call.id
    },
    async answer (callId) {
      const call = pick(callId, ['ringing'], 'incoming')
      call.state = 'connecting'
      call.acceptedAt = clock.now()
      setTimer(call, ANSWER_SETUP_TIMEOUT_MS, () => { end(call, 'failed', true) })
      await signal(call, { type: 'call-accept' })
    },
    decline (callId) {
      end(pick(callId, ['ringing'], 'incoming'), 'declined', true)
    },
    hangup (callId) {
      const call = pick(callId, ['inviting', 'ringing', 'connecting', 'connected'])
      const reason: EndReason = call.state === 'connected' ? 'hangup' : call.direction === 'outgoing' ? 'cancelled' : 'declined'
      end(call, reason, true)
    },
    handleSignal (from, body) {
      if (body.to !== init.user || body.from !== from.user) {
        log.warn({ callId: body.callId, from: from.user }, `ignoring a ${body.type} from ${body.from} to ${body.to}, signed by ${from.user}`)
        return
      }
      if (body.type === 'call-invite') { onInvite(from, body); return }
      const call = calls.get(body.callId)
      // Replays and late duplicates (both ends may hang up at once) are expected: debug, not warn.
      if (call === undefined) { log.debug({ callId: body.callId, from: from.user }, `ignoring a ${body.type} for an unknown call`); return }
      if (call.peer !== from.user) {
        log.warn({ callId: call.id, from: from.user }, `ignoring a ${body.type} from ${from.user}: the call is with ${call.peer}`)
        return
      }
      if (call.state === 'ended') { log.debug({ callId: call.id, from: from.user }, `ignoring a ${body.type} for a call that has ended`); return }
      if (call.direction === 'outgoing') onCallerSide(call, from, body)
      else onCalleeSide(call, from, body)
    },
    mediaConnected (callId, info) {
      const call = calls.get(callId)
      if (call === undefined || call.state !== 'connecting') return
      if (call.timer !== undefined) clock.clearTimeout(call.timer)
      call.state = 'connected'
      call.connectedAt = clock.now()
      call.path = info.path
      init.onEvent({ event: 'connected', callId, peer: call.peer, path: info.path, relay: info.relay, setupMs: clock.now() - (call.acceptedAt ?? call.startedAt) })
    },
    mediaFailed (callId, reason) {
      const call = calls.get(callId)
      if (call === undefined || call.state === 'ended') return
      log.warn({ callId }, `media failed: ${reason}`)
      end(call, 'failed', true)
    },
    calls: () => [...calls.values()].map(view),
    close () {
      for (const call of live()) end(call, call.state === 'connected' ? 'hangup' : 'cancelled', true)
    }
  }
}
