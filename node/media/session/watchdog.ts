// The session's state as its owner sees it, and the media watchdog, on an injected Clock.
// libdatachannel notices a vanished peer only after ~30 s (ICE consent), and a peer's close()
// sends nothing the other side sees, so the watchdog reports 'disconnected' when no packet has
// arrived for mediaTimeoutMs on a connected session (firstPacketTimeoutMs until the first packet
// came: the peer's audio starts a moment after connecting), and 'connected' again when packets
// resume. Time our own event loop stood still (a tick that came late) does not count as silence:
// the packets of that time are still queued for us.
// 'connected' itself waits for both the native connection and the audio track. Sans-IO: fed
// native states, track events and packets; it reports each change once.
import type { Clock, TimerHandle } from '../../../common/clock.js'
import { WATCHDOG_STALL_MS as STALL_MS, WATCHDOG_TICK_MS } from './constants.js'
import type { MediaState } from './types.js'

const NATIVE_STATES: Record<string, MediaState> = {
  new: 'new', connecting: 'connecting', connected: 'connected', disconnected: 'disconnected', failed: 'failed', closed: 'closed'
}

/** node-datachannel's connection state as a MediaState; undefined for a state it should not send. */
export function nativeMediaState (text: string): MediaState | undefined {
  return Object.hasOwn(NATIVE_STATES, text) ? NATIVE_STATES[text] : undefined
}

export interface MediaWatchdogInit {
  clock: Clock
  /** 0 turns the silence check off. */
  mediaTimeoutMs: number
  /** The silence allowed before the first packet after connecting (default: mediaTimeoutMs). */
  firstPacketTimeoutMs?: number
  tickMs?: number
  /** A state change (never the same state twice in a row); nothing after stop(). */
  report: (state: MediaState, reason?: string) => void
  /** Connection and track are both up, just before 'connected' is reported. */
  onConnected: () => void
}

export interface MediaWatchdog {
  /** The last state reported ('new' at first). */
  state: () => MediaState
  nativeStateChanged: (state: MediaState) => void
  trackOpened: () => void
  trackClosed: () => void
  trackIsOpen: () => boolean
  /** Any message on the track (RTP, RTCP or garbage): the peer is there. */
  packetArrived: () => void
  /** Setup failed on our side (the track or the offer could not be made). */
  reportFailure: (reason: string) => void
  /** Starts the silence check, every tickMs. */
  start: () => void
  /** Idempotent: stops the check; nothing is reported after it. */
  stop: () => void
}

export function createMediaWatchdog (init: MediaWatchdogInit): MediaWatchdog {
  const { clock, mediaTimeoutMs } = init
  const tickMs = init.tickMs ?? WATCHDOG_TICK_MS
  let nativeState: MediaState = 'new'
  let reported: MediaState = 'new'
  let trackOpen = false
  let lastPacketAt = 0
  let packetSinceConnected = false
  const firstPacketTimeoutMs = init.firstPacketTimeoutMs ?? mediaTimeoutMs
  /** When the next tick is due: a tick that comes later than that tells of a stall of our own. */
  let tickDueAt = 0
  let stopped = false
  let timer: TimerHandle | undefined

  function report (state: MediaState, reason?: string): void {
    if (stopped || state === reported) return
    reported = state
    init.report(state, reason)
  }

  function updateConnected (): void {
    if (nativeState !== 'connected' || !trackOpen) return
    lastPacketAt = clock.now()
    packetSinceConnected = false
    init.onConnected()
    report('connected')
  }

  function check (): void {
    const late = clock.now() - tickDueAt
    if (late > STALL_MS) lastPacketAt += late
    if (stopped || mediaTimeoutMs === 0 || nativeState !== 'connected' || !trackOpen) return
    const silent = clock.now() - lastPacketAt
    const limit = packetSinceConnected ? mediaTimeoutMs : firstPacketTimeoutMs
    if (silent > limit && reported === 'connected') {
      const seconds = (silent / 1000).toFixed(1)
      report('disconnected', packetSinceConnected ? `no audio for ${seconds} s` : `no audio in the ${seconds} s since connecting`)
    }
  }

  function arm (): void {
    tickDueAt = clock.now() + tickMs
    timer = clock.setTimeout(() => {
      timer = undefined
      check()
      if (!stopped) arm()
    }, tickMs)
  }

  return {
    state: () => reported,

    nativeStateChanged (state) {
      nativeState = state
      switch (state) {
        case 'connected': updateConnected(); break
        case 'connecting': case 'new': report(state); break
        case 'disconnected': report('disconnected', 'ICE connectivity lost'); break
        case 'failed': report('failed', 'ICE or DTLS failed'); break
        case 'closed': report('closed', 'closed by the transport'); break
      }
    },

    trackOpened () {
      trackOpen = true
      updateConnected()
    },

    trackClosed () { trackOpen = false },

    trackIsOpen: () => trackOpen,

    packetArrived () {
      lastPacketAt = clock.now()
      packetSinceConnected = true
      if (reported === 'disconnected' && nativeState === 'connected' && trackOpen) report('connected')
    },

    reportFailure (reason) { report('failed', reason) },

    start () {
      if (!stopped && timer === undefined && mediaTimeoutMs > 0) arm()
    },

    stop () {
      stopped = true
      trackOpen = false
      if (timer !== undefined) { clock.clearTimeout(timer); timer = undefined }
    }
  }
}
