// The MediaPort of a call whose media end is a browser page (the web client): the page's own
// RTCPeerConnection sends and plays the audio, and this port only carries its steps. Each step
// the signaling asks for (offer, answer, accept) goes to the page as a `browser-media` event on the
// event stream, and the page replies through the control API (`reply`): its SDP, then whether its
// media connected. The signaling is the node's as for any call (sealed SDP, signed envelopes), so
// the DTLS fingerprint the other side checks is the browser's.
// The port is sans-IO: events out through `emit`, replies in through `reply`, timers on the clock.
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { checkRemoteSdp } from '../media/sdp-guard.js'
import type { TurnServerCredentials } from '../overlay/host.js'
import type { Call, CallChild } from './call.js'
import type { BrowserIceServer, BrowserMediaEvent, BrowserMediaReply, CallProgressEvent, CallStats } from './call-types.js'
import { callMos } from './call-stats.js'
import { BROWSER_SDP_TIMEOUT_MS, BROWSER_SILENT_TIMEOUT_MS } from './constants.js'
import { callError } from './errors.js'
import type { CallSignaling, MediaPort } from './signaling/signaling.js'

export interface BrowserMediaPortComponents {
  clock: Clock
  log: Logger
  /** Our relay's credentials from our supernode; undefined when it offers none. */
  turnCredentials: () => Promise<TurnServerCredentials | undefined>
  signaling: () => CallSignaling
  emit: (event: BrowserMediaEvent | CallProgressEvent) => void
}

export interface BrowserMediaPort extends MediaPort {
  /** A reply from the page for one of its calls; throws a call error the control API reports when it fits no step. */
  reply: (call: Call, reply: BrowserMediaReply) => void
  /** The last stats the page sent for a browser call. */
  statsOf: (call: Call) => CallStats | undefined
}

/** A browser call's media side: what the node knows of the page's media, and the way to close it there. */
class BrowserCallMedia implements CallChild {
  connected = false
  stats?: CallStats
  /** The SDP the page owes us, while it is asked for. */
  waiting?: { resolve: (sdp: string) => void, reject: (err: Error) => void }
  /** Ends a connected call whose page stopped reporting (a closed tab sends nothing more). */
  watchdog?: TimerHandle
  closed = false

  constructor (readonly page: string, private readonly clock: Clock, private readonly onClose: () => void) {}

  close (): void {
    if (this.closed) return
    this.closed = true
    if (this.watchdog !== undefined) this.clock.clearTimeout(this.watchdog)
    this.waiting?.reject(new Error('the call ended'))
    this.onClose()
  }
}

export function createBrowserMediaPort (components: BrowserMediaPortComponents): BrowserMediaPort {
  const { clock, log, emit } = components
  /** The outgoing calls' offers, asked for as soon as the call rings (`prepare`). */
  const offers = new WeakMap<Call, Promise<string>>()

  const iceServers = async (): Promise<BrowserIceServer[]> => browserIceServers(await components.turnCredentials().catch(() => undefined))

  const mediaOf = (call: Call): BrowserCallMedia => {
    if (call.media instanceof BrowserCallMedia) return call.media
    const page = call.mediaPage
    if (page === undefined) throw new Error('not a browser call')
    const media = new BrowserCallMedia(page, clock, () => { emit({ event: 'browser-media', page, callId: call.id, step: 'close' }) })
    call.media = media
    return media
  }

  /** Asks the page for its SDP (the event is sent once we listen for the reply), checked before it goes to the peer. */
  const askSdp = async (call: Call, event: BrowserMediaEvent): Promise<string> => {
    const media = mediaOf(call)
    // The call may have ended while the relay's credentials were fetched: nothing to ask the page then.
    if (media.closed || !call.live) throw new Error('the call ended')
    if (media.waiting !== undefined) throw new Error('the page is already asked for its SDP')
    const sdp = await new Promise<string>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        media.waiting = undefined
        reject(new Error(`the page gave no SDP within ${BROWSER_SDP_TIMEOUT_MS / 1000} s`))
      }, BROWSER_SDP_TIMEOUT_MS)
      media.waiting = {
        resolve: sdp => { clock.clearTimeout(timer); media.waiting = undefined; resolve(sdp) },
        reject: err => { clock.clearTimeout(timer); media.waiting = undefined; reject(err) }
      }
      emit(event)
    })
    const type = event.step === 'offer' ? 'offer' : 'answer'
    const checked = checkRemoteSdp(sdp, type)
    if (!checked.ok) throw new Error(`the page's ${type} was refused: ${checked.reason}`)
    return sdp
  }

  const askOffer = async (call: Call): Promise<string> => {
    const page = mediaOf(call).page
    return await askSdp(call, { event: 'browser-media', page, callId: call.id, step: 'offer', relayOnly: call.relayOnly, iceServers: await iceServers() })
  }

  /** (Re)arms the watchdog of a connected call: the page reports every second while its media runs. */
  const watch = (call: Call, media: BrowserCallMedia): void => {
    if (media.watchdog !== undefined) clock.clearTimeout(media.watchdog)
    media.watchdog = clock.setTimeout(() => {
      log.warn({ callId: call.id }, `the browser page stopped reporting for ${BROWSER_SILENT_TIMEOUT_MS / 1000} s: ending its call`)
      components.signaling().mediaFailed(call.id, 'the browser page stopped reporting (closed or asleep)')
    }, BROWSER_SILENT_TIMEOUT_MS)
  }

  /** A browser call does not recover on a new session: the page has no second connection to set up. */
  const firstOnly = (generation: number | undefined): void => {
    if ((generation ?? 0) > 0) throw new Error('a browser call does not recover its media')
  }

  return {
    prepare (call) {
      if (call.direction !== 'outgoing' || offers.has(call)) return
      const offer = askOffer(call)
      offer.catch(() => {})
      offers.set(call, offer)
    },
    async offer (call, { generation }) {
      firstOnly(generation)
      const prepared = offers.get(call)
      offers.delete(call)
      return await (prepared ?? askOffer(call))
    },
    async answer (call, offerSdp, { relayOnly, generation }) {
      firstOnly(generation)
      // The peer's offer passed nothing else before: the same guard as for our own media.
      const checked = checkRemoteSdp(offerSdp, 'offer')
      if (!checked.ok) throw new Error(`offer refused: ${checked.reason}`)
      const page = mediaOf(call).page
      return await askSdp(call, { event: 'browser-media', page, callId: call.id, step: 'answer', offer: offerSdp, relayOnly, iceServers: await iceServers() })
    },
    accept (call, answerSdp, generation) {
      firstOnly(generation)
      const checked = checkRemoteSdp(answerSdp, 'answer')
      if (!checked.ok) throw new Error(checked.reason)
      const media = mediaOf(call)
      emit({ event: 'browser-media', page: media.page, callId: call.id, step: 'accept', answer: answerSdp })
      // The page applies it when it gets this: the callee is not told it is applied.
      return false
    },
    reply (call, { page, ...reply }) {
      const media = call.media
      // Only the page that placed or answered the call speaks for its media.
      if (!(media instanceof BrowserCallMedia) || !call.live || media.page !== page) throw callError('no_such_call', 'no browser call of this page with this id is in progress')
      switch (reply.step) {
        case 'sdp':
          if (media.waiting === undefined) throw callError('not_expected', 'the node asked for no SDP for this call')
          media.waiting.resolve(reply.sdp)
          return
        case 'connected':
          if (media.connected) return
          media.connected = true
          watch(call, media)
          log.info({ callId: call.id, path: reply.path }, `browser call media connected ${reply.path}`)
          components.signaling().mediaConnected(call.id, { path: reply.path, relay: reply.path === 'relay' ? 'a supernode\'s relay' : undefined })
          return
        case 'failed':
          // A connected browser call has no second session to recover on: it ends as failed either way.
          log.warn({ callId: call.id }, `browser call media failed: ${reply.reason}`)
          components.signaling().mediaFailed(call.id, `browser media: ${reply.reason}`)
          return
        case 'stats': {
          const { step: _, bufferDelayMs, ...measured } = reply
          media.stats = { ...measured, mos: callMos(reply.rttMs, bufferDelayMs, reply.lossPct) }
          watch(call, media)
          emit({ event: 'call-stats', callId: call.id, ...media.stats })
        }
      }
    },
    statsOf: call => call.media instanceof BrowserCallMedia ? call.media.stats : undefined
  }
}

/** Our relay as RTCPeerConnection takes an ICE server (TURN over UDP; the page reaches it directly). */
function browserIceServers (turn: TurnServerCredentials | undefined): BrowserIceServer[] {
  if (turn === undefined) return []
  return [{ urls: `turn:${turn.host.includes(':') ? `[${turn.host}]` : turn.host}:${turn.port}?transport=udp`, username: turn.username, credential: turn.password }]
}

/** One port for the signaling: each step goes to the call's media end, the browser page that placed or answered it, else the node's own. */
export function byMediaEnd (node: MediaPort, browser: MediaPort): MediaPort {
  const portOf = (call: Call): MediaPort => call.mediaPage === undefined ? node : browser
  return {
    prepare: call => { portOf(call).prepare?.(call) },
    offer: async (call, options) => await portOf(call).offer(call, options),
    answer: async (call, offerSdp, options) => await portOf(call).answer(call, offerSdp, options),
    accept: (call, answerSdp, generation) => portOf(call).accept(call, answerSdp, generation),
    answerApplied: (call, generation) => { portOf(call).answerApplied?.(call, generation) }
  }
}
