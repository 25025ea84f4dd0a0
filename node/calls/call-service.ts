// Calls on a running node: the signaling state machines wired to the overlay
// (signed, routed envelopes), to the media port (node-datachannel sessions and
// per-call audio), and to the node's events. Each call is one Call object:
// its signaling state and, as its child, its media side.
import type { Sodium } from '../../common/sodium.js'
import type { Clock, TimerHandle } from '../../common/clock.js'
import { invalidPhoneNumberMessage, isPhoneNumber } from '../../common/phone-numbers.js'
import type { Logger } from '../../common/logger.js'
import type { Host } from '../overlay/host.js'
import { createCallSignaling, type CallEvent, type CallSignaling } from './signaling/signaling.js'
import { createCallMediaPort } from './media-port.js'
import { byMediaEnd, createBrowserMediaPort, type BrowserMediaPort } from './browser-media-port.js'
import { CodecSpare } from './codec-spare.js'
import { callSetupOf, callStatsOf } from './call-stats.js'
import { CallMedia } from './call-media.js'
import type { Call, CallView } from './call.js'
import { planAudio, type CallDefaults } from './audio-choice.js'
import type { BrowserMediaReply, CallAudioOptions, CallInfo, CallMediaSummary, CallOptions, CallProgressEvent } from './call-types.js'
import { isCallBody, type EndReason } from './call-bodies.js'
import { callTargetOf } from './call-target.js'
import { callError } from './errors.js'
import { CLOSE_HANGUP_WAIT_MS, CODEC_SPARE_START_DELAY_MS } from './constants.js'

export type { CallDefaults } from './audio-choice.js'

export interface CallServiceComponents {
  sodium: Sodium
  clock: Clock
  log: Logger
  host: Host
  /** This device's Ed25519 secret key (to open SDP sealed to us). */
  deviceSecretKey: Uint8Array
}

export interface CallServiceInit {
  user: string
  deviceKey: string
  isContact: (user: string) => boolean
  /** A service every user may call and be called by (the PSTN gateway). */
  isService: (user: string) => boolean
  /** Asks the login server again whether `user` is a service (one added since we logged in). */
  findService: (user: string) => Promise<boolean>
  /** Makes a peer reachable before a signal goes to it (a service's node asks the login server). */
  reach: (user: string) => Promise<void>
  /** We are a service (the PSTN gateway): we may call any user, not only contacts. */
  reachesAnyone?: boolean
  defaults: CallDefaults
  emit: (event: CallProgressEvent) => void
  /** ICE gathers only on this address (tests on one machine). */
  bindAddress?: string
  /** Whether others' packets reach us unasked (we are a supernode): who serves DTLS on a call we answer. */
  reachable?: () => boolean
}

export interface CallService {
  placeCall: (to: string, options?: CallOptions) => Promise<{ callId: string }>
  answerCall: (callId?: string, options?: CallAudioOptions) => Promise<{ callId: string }>
  declineCall: (callId?: string, reason?: EndReason) => void
  hangup: (callId?: string, reason?: EndReason) => void
  setMuted: (muted: boolean, callId?: string) => void
  /** A reply from the browser page that is a call's media end (its SDP, its media's state). */
  browserMediaReply: (callId: string, reply: BrowserMediaReply) => void
  calls: () => CallInfo[]
  /** A body the overlay delivered without interpreting it: acted on when it is call signaling, else logged and dropped. */
  handleSignal: (from: { user: string, deviceKey: string }, body: unknown) => void
  /** Hangs up every call (waiting up to CLOSE_HANGUP_WAIT_MS for the word to go out), then waits until their media (and recordings) are closed. */
  close: () => Promise<void>
}

/** What a finished call's media did (undefined when its audio never started). */
function mediaSummary (call: Call, media: CallMedia | undefined): CallMediaSummary | undefined {
  const audio = media?.audio?.stats()
  if (media === undefined || audio === undefined) return undefined
  const { path, selectedPair } = media.session.stats()
  const setup = callSetupOf(media, call)
  return { path, selectedPair, framesSent: audio.framesSent, framesReceived: audio.framesReceived, framesLost: audio.framesLost, framesConcealed: audio.framesConcealed, setup }
}

/** What an invite shows: what a caller dialed (it matters to the gateway), a phone caller's number (from a service only: signaling drops others). */
function incomingEvent (event: Extract<CallEvent, { event: 'incoming' }>): CallProgressEvent {
  const { callId, from, number, callerNumber } = event
  return { event: 'call-incoming', callId, from, ...(number === undefined ? {} : { number }), ...(callerNumber === undefined ? {} : { callerNumber }) }
}

/** A call as `calls` lists it, with its media's latest figures (the page's, for a browser call). */
function callInfoOf (view: CallView, call: Call | undefined, browserMedia: BrowserMediaPort): CallInfo {
  // A browser call's media is the page's (BrowserCallMedia): its figures come from the page, and it has no setup timeline of ours.
  const callMedia = call?.media instanceof CallMedia ? call.media : undefined
  const stats = call?.mediaPage !== undefined ? browserMedia.statsOf(call) : callMedia?.audio === undefined ? undefined : callStatsOf(callMedia, false)
  return {
    callId: view.id,
    direction: view.direction,
    peer: view.peer,
    state: view.state,
    startedAt: view.startedAt,
    connectedAt: view.connectedAt,
    muted: call?.muted ?? false,
    stats,
    ...(callMedia === undefined || call === undefined ? {} : { setup: callSetupOf(callMedia, call) }),
    ...(view.number === undefined ? {} : { number: view.number }),
    ...(view.callerNumber === undefined ? {} : { callerNumber: view.callerNumber })
  }
}

export function createCallService (components: CallServiceComponents, init: CallServiceInit): CallService {
  const { clock, log, host } = components
  const { defaults, emit } = init
  const codecs = new CodecSpare(clock, log)
  codecs.refill(CODEC_SPARE_START_DELAY_MS)
  const nodeMedia = createCallMediaPort({ clock, log, host, signaling: () => signaling, emit, codecs }, { defaults, bindAddress: init.bindAddress, reachable: init.reachable })
  const browserMedia = createBrowserMediaPort({ clock, log, turnCredentials: async () => await host.turnCredentials(), signaling: () => signaling, emit })
  const media = byMediaEnd(nodeMedia, browserMedia)

  const onCallEvent = (event: CallEvent, call: Call): void => {
    switch (event.event) {
      case 'incoming':
        emit(incomingEvent(event))
        if (defaults.autoAnswer === true) {
          void service.answerCall(event.callId).catch((err: Error) => {
            // Declined rather than left ringing: the caller learns at once (a bad default --play, say).
            log.warn({ callId: event.callId }, `auto-answer failed, declining the call: ${err.message}`)
            if (call.state === 'ringing') signaling.decline(call.id)
          })
        }
        return
      case 'ringing':
        emit({ event: 'call-ringing', callId: event.callId, peer: event.peer })
        return
      case 'connected':
        emit({ event: 'call-connected', callId: event.callId, peer: event.peer, path: event.path, relay: event.relay, setupMs: event.setupMs })
        return
      case 'recovering':
        emit({ event: 'call-recovering', callId: event.callId, peer: event.peer, reason: event.reason })
        return
      case 'recovered':
        emit({ event: 'call-recovered', callId: event.callId, peer: event.peer, recoveryMs: event.recoveryMs, path: event.path })
        return
      case 'ended':
        // The recording is complete only once the call's media side has closed.
        void call.close().then(() => {
          codecs.refill()
          const media = call.media as CallMedia | undefined
          emit({ event: 'call-ended', callId: event.callId, peer: event.peer, reason: event.reason, message: event.message, durationMs: event.durationMs, recording: media?.recording, media: mediaSummary(call, media) })
        })
    }
  }

  const signaling: CallSignaling = createCallSignaling(
    { sodium: components.sodium, clock, log, media, send: async (to, body) => { await init.reach(to); return await host.send(to, body) }, deviceSecretKey: components.deviceSecretKey },
    {
      user: init.user,
      deviceKey: init.deviceKey,
      mayCall: from => defaults.anyone === true || init.isContact(from) || init.isService(from),
      isService: init.isService,
      callWaiting: defaults.callWaiting,
      ringTimeoutMs: defaults.ringTimeoutMs,
      onEvent: onCallEvent
    }
  )

  const service: CallService = {
    async placeCall (to, callOptions = {}) {
      const { peer, number } = callTargetOf(to)
      if (number !== undefined && !await init.findService(peer)) throw callError('no_gateway')
      // Our supernode finds only our contacts and the services (with the lookup capabilities the login
      // server gave us for them), and the login server does not tell who else exists: others are refused here.
      if (peer !== init.user && !init.isContact(peer) && !init.isService(peer) && init.reachesAnyone !== true) {
        throw callError('not_a_contact', `no user named ${peer} among your contacts (only contacts can be called; send a contact request first)`)
      }
      if (callOptions.callerNumber !== undefined && !isPhoneNumber(callOptions.callerNumber)) throw callError('invalid_number', invalidPhoneNumberMessage(callOptions.callerNumber))
      if (host.supernode === undefined) throw callError('not_connected')
      // Every file the call names is checked before the callee's devices ring.
      const { mediaPage } = callOptions
      const audio = mediaPage === undefined ? planAudio(callOptions, defaults) : undefined
      const callId = await signaling.call(peer, { relayOnly: callOptions.relayOnly, number, callerNumber: callOptions.callerNumber, mediaPage })
      const call = signaling.get(callId)
      if (call !== undefined) call.audio = audio
      return { callId }
    },
    async answerCall (callId, audioOptions = {}) {
      const call = signaling.pick(callId, c => c.state === 'ringing' && c.direction === 'incoming', 'no incoming call to act on')
      // A refused file leaves the call ringing: the user can answer again with another one.
      if (audioOptions.mediaPage === undefined) call.audio = planAudio(audioOptions, defaults)
      call.mediaPage = audioOptions.mediaPage
      await signaling.answer(call.id)
      return { callId: call.id }
    },
    declineCall (callId, reason) { signaling.decline(callId, reason) },
    hangup (callId, reason) { signaling.hangup(callId, reason) },
    setMuted (muted, callId) {
      const call = signaling.pick(callId, () => true, 'no call to mute')
      call.muted = muted
      ;(call.media as CallMedia | undefined)?.audio?.setMuted(muted)
    },
    browserMediaReply (callId, reply) {
      const call = signaling.get(callId)
      if (call === undefined) throw callError('no_such_call')
      browserMedia.reply(call, reply)
    },
    calls: () => signaling.calls().map(view => callInfoOf(view, signaling.get(view.id), browserMedia)),
    handleSignal (from, body) {
      if (isCallBody.Check(body)) signaling.handleSignal(from, body)
      else log.warn({ from: from.user, type: (body as { type?: unknown }).type }, 'dropped a delivered body that is not call signaling of a known shape')
    },
    async close () {
      // Hang up (or cancel) every call and let the word reach our supernode, for a bounded while, before
      // the node closes its link: the other side then ends at once instead of after a media timeout.
      let timer: TimerHandle | undefined
      await Promise.race([signaling.close(), new Promise<void>(resolve => { timer = clock.setTimeout(() => { resolve() }, CLOSE_HANGUP_WAIT_MS) })])
      if (timer !== undefined) clock.clearTimeout(timer)
      await Promise.all(signaling.calls().map(view => signaling.get(view.id)?.close())).finally(() => { codecs.close() })
    }
  }
  return service
}
