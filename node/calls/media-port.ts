// The node's MediaPort: opens a node-datachannel session per call (ICE through
// our supernode's TURN relay), attaches it to the call as its media side, and
// starts the call's audio once media flows. libjuice speaks TURN over UDP only:
// where UDP does not reach the relay, the call's ICE gets a local bridge that
// carries its TURN traffic over TCP (relay/bridge), closed with the call.
// A connected call whose session goes silent is recovered by the signaling: a
// re-offer (generation 1, 2, …) opens another session here, with fresh TURN
// credentials from the supernode we are attached to now; it takes over once it connects.
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { Host } from '../overlay/host.js'
import { createMediaSession, type MediaIceServer, type MediaSession } from '../media/media-session.js'
import { createCallIce } from './call-ice.js'
import type { Call } from './call.js'
import { CallMedia } from './call-media.js'
import { startCallAudio } from './call-audio.js'
import { callStatsOf } from './call-stats.js'
import type { AudioSource } from '../media/audio/sources.js'
import type { AudioSink } from '../media/audio/sinks.js'
import { planAudio, sinkFor, sourceFor, type CallDefaults } from './audio-choice.js'
import type { CallProgressEvent } from './call-types.js'
import type { CallSignaling, MediaPort } from './signaling/signaling.js'
import type { TurnTcpBridge } from '../relay/index.js'
import { CALL_STATS_INTERVAL_MS, MEDIA_FAILURE_GRACE_MS, MEDIA_FIRST_PACKET_TIMEOUT_MS, MEDIA_SILENCE_TIMEOUT_MS } from './constants.js'

export interface CallMediaPortComponents {
  clock: Clock
  log: Logger
  host: Host
  /** The signaling, told when media connects or fails (set once both exist). */
  signaling: () => CallSignaling
  emit: (event: CallProgressEvent) => void
}

export interface CallMediaPortInit {
  defaults: CallDefaults
  /** ICE gathers only on this address (tests on one machine). */
  bindAddress?: string
}

/**
 * The call's call-stats event every CALL_STATS_INTERVAL_MS until its media closes. ICE may connect
 * on one pair and nominate a better one a moment later (libjuice waits up to 2 s for a higher-priority
 * pair still being checked): logged once it does, as the path reported on connecting was another.
 */
function emitStats (callId: string, media: CallMedia, connectedPair: string | undefined, log: Logger, emit: (event: CallProgressEvent) => void): void {
  let pair = connectedPair
  media.every(CALL_STATS_INTERVAL_MS, () => {
    const now = callStatsOf(media, true)
    const latest = media.session.stats().selectedPair
    if (latest !== pair) log.info({ callId, path: now.path, pair: latest }, `call media moved to ${now.path}: ${latest ?? 'no selected pair'} (was ${pair ?? 'none'})`)
    pair = latest
    emit({ event: 'call-stats', callId, ...now })
  })
}

/**
 * Starts the call's audio on its media (the source and sink its plan names): undefined when it runs,
 * 'closed' when the call ended meanwhile, else what went wrong (whatever had opened is closed again).
 */
async function openCallAudio (call: Call, media: CallMedia, defaults: CallDefaults, log: Logger): Promise<string | undefined> {
  let opened: { source?: AudioSource, sink?: AudioSink } = {}
  try {
    const plan = call.audio ?? planAudio({}, defaults)
    opened.source = sourceFor(plan)
    const { sink, recording } = sinkFor(call.id, plan, defaults)
    opened.sink = sink
    media.recording = recording
    // Sends on whichever session carries the call at the time (a recovery swaps it).
    const audio = await startCallAudio({ source: opened.source, sink, send: payload => { media.session.sendAudio(payload) }, log })
    opened = {}
    media.audio = audio
    audio.setMuted(call.muted)
    // Ended while the codec loaded: close() ran before there was audio to close.
    if (media.closed) { await audio.close(); return 'closed' }
    return undefined
  } catch (err) {
    // What opened before the failure is closed here (an empty recording is removed).
    opened.source?.close()
    await opened.sink?.close()
    media.recording = undefined
    return (err as Error).message
  }
}

/** A session went silent or failed: a connected call recovers, one still setting up fails. */
function onMediaLost (components: CallMediaPortComponents, call: Call, generation: number, state: string, reason: string | undefined): void {
  if (call.state === 'connected') {
    components.signaling().mediaInterrupted(call.id, generation, reason ?? `media ${state}`, call.media?.silentMs?.() ?? 0)
    return
  }
  const why = `media ${state}${reason === undefined ? '' : `: ${reason}`}`
  // The peer's hangup usually closes its media a moment before its call-end
  // signal arrives: give signaling the chance to say why before calling it a failure.
  if (generation === 0) components.clock.setTimeout(() => { components.signaling().mediaFailed(call.id, why) }, MEDIA_FAILURE_GRACE_MS)
}

export function createCallMediaPort (components: CallMediaPortComponents, init: CallMediaPortInit): MediaPort {
  const { clock, log, host } = components

  const ice = createCallIce({ clock, log, host, bindAddress: init.bindAddress })
  /** The calls' media whose audio was started (it loads the codec asynchronously). */
  const audioOpened = new WeakSet<CallMedia>()

  const open = async (call: Call, role: 'offerer' | 'answerer', relayOnly: boolean, generation: number): Promise<MediaSession> => {
    // A recovery's session: our supernode (and its relay) may be what died. One that died closed
    // our link (we are re-homing); one that went dark without a close is found by a quick ping.
    if (generation > 0) {
      await host.checkSupernode()
      await ice.attached()
    }
    const { servers, bridge } = await ice.servers()
    try {
      return openSession(call, role, relayOnly, generation, servers, bridge)
    } catch (err) {
      void bridge?.close()
      throw err
    }
  }

  const openSession = (call: Call, role: 'offerer' | 'answerer', relayOnly: boolean, generation: number, servers: MediaIceServer[], bridge?: TurnTcpBridge): MediaSession => {
    if (relayOnly && servers.length === 0) throw new Error('relay-only call, but our supernode offers no TURN relay')
    if (bridge !== undefined) log.debug({ callId: call.id, bridge: `${bridge.address}:${bridge.port}` }, 'call relays over TCP through a local bridge: UDP does not reach our relay')
    let media: CallMedia | undefined
    const session = createMediaSession({
      role,
      iceServers: servers,
      relayOnly,
      bindAddress: init.bindAddress,
      mediaTimeoutMs: MEDIA_SILENCE_TIMEOUT_MS,
      firstPacketTimeoutMs: MEDIA_FIRST_PACKET_TIMEOUT_MS,
      log,
      // Only the session that carries the call plays (a re-offer's takes over when it connects).
      onAudio: (payload, rtp) => { if (media?.session === session) media.audio?.receive(payload, rtp) },
      onState: (state, reason) => {
        if (media === undefined) return
        if (state === 'connected') void onConnected(call, media, generation)
        else if (state === 'failed' || state === 'closed' || state === 'disconnected') onMediaLost(components, call, generation, state, reason)
      }
    })
    const leg = {
      generation,
      session,
      releaseRelay: (relayed: Array<{ ip: string, port: number }>) => {
        host.releaseTurn(relayed)
        // Its TCP connection closing ends the allocation on the relay as well.
        void bridge?.close()
      }
    }
    const existing = call.media as CallMedia | undefined
    if (generation > 0 && existing !== undefined) {
      media = existing
      media.addPending(leg)
    } else {
      media = new CallMedia(leg, clock)
      call.media = media
    }
    // The call may have ended while ICE servers were fetched: its close already ran.
    if (!call.live) void media.close()
    return session
  }

  const onConnected = async (call: Call, media: CallMedia, generation: number): Promise<void> => {
    if (generation > 0) { await onReconnected(call, media, generation); return }
    // A session that reconnects on its own reports connected again: its audio runs already.
    if (audioOpened.has(media)) return
    audioOpened.add(media)
    // The audio starts at once; the selected pair can show up a moment after the state change,
    // and the first audio should not wait for it (only the connected event names the path).
    const starting = openCallAudio(call, media, init.defaults, log)
    const { path, relay, pair } = await ice.settledPath(media.session)
    if (!media.closed) {
      log.info({ callId: call.id, path, pair }, `call media connected ${path}: ${pair ?? 'no selected pair yet'}`)
      components.signaling().mediaConnected(call.id, { path, relay })
    }
    const problem = await starting
    if (problem === 'closed' || media.closed) return
    if (problem !== undefined) {
      log.warn({ callId: call.id }, `call audio could not start: ${problem}`)
      components.signaling().mediaFailed(call.id, `audio: ${problem}`)
      return
    }
    emitStats(call.id, media, pair, log, components.emit)
  }

  /** A recovery's session connected: it carries the call (and its running audio) from now on. */
  const onReconnected = async (call: Call, media: CallMedia, generation: number): Promise<void> => {
    if (!media.promote(generation)) return
    const { path, relay, pair } = await ice.settledPath(media.session)
    if (media.closed) return
    log.info({ callId: call.id, generation, path, pair }, `call media reconnected ${path} on session ${generation}: ${pair ?? 'no selected pair yet'}`)
    components.signaling().mediaConnected(call.id, { path, relay, generation })
  }

  return {
    async offer (call, { relayOnly, generation = 0 }) {
      const session = await open(call, 'offerer', relayOnly, generation)
      session.start()
      return await session.gathered()
    },
    async answer (call, offerSdp, { relayOnly, generation = 0 }) {
      const session = await open(call, 'answerer', relayOnly, generation)
      // A refused offer would otherwise only show as a gathering timeout: say why, at once.
      const applied = session.setRemoteDescription(offerSdp, 'offer')
      if (!applied.ok) throw new Error(`offer refused: ${applied.reason}`)
      return await session.gathered()
    },
    accept (call, answerSdp, generation = 0) {
      const session = (call.media as CallMedia | undefined)?.sessionOf(generation)
      if (session === undefined) throw new Error(`no media session ${generation} for this call`)
      const applied = session.setRemoteDescription(answerSdp, 'answer')
      if (!applied.ok) throw new Error(applied.reason)
    }
  }
}
