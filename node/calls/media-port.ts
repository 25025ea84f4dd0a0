// The node's MediaPort: opens a node-datachannel session per call (ICE through
// our supernode's TURN relay), attaches it to the call as its media side, and
// starts the call's audio once media flows. libjuice speaks TURN over UDP only:
// where UDP does not reach the relay, the call's ICE gets a local bridge that
// carries its TURN traffic over TCP (relay/bridge), closed with the call.
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { Host } from '../overlay/host.js'
import { createMediaSession, type MediaIceServer, type MediaSession } from '../media/media-session.js'
import type { Call } from './call.js'
import { CallMedia } from './call-media.js'
import { startCallAudio } from './call-audio.js'
import { callStatsOf } from './call-stats.js'
import type { AudioSource } from '../media/audio/sources.js'
import type { AudioSink } from '../media/audio/sinks.js'
import { planAudio, sinkFor, sourceFor, type CallDefaults } from './audio-choice.js'
import type { CallProgressEvent } from './call-types.js'
import type { CallSignaling, MediaPort } from './signaling/signaling.js'
import { createRelayRouter, type TurnTcpBridge } from '../relay/index.js'
import { CALL_STATS_INTERVAL_MS, MEDIA_FAILURE_GRACE_MS, PATH_SETTLE_POLL_MS, PATH_SETTLE_TIMEOUT_MS } from './constants.js'

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

export function createCallMediaPort (components: CallMediaPortComponents, init: CallMediaPortInit): MediaPort {
  const { clock, log, host } = components

  const router = createRelayRouter({ log, bindAddress: init.bindAddress })

  /** Our relay for one call, and the TCP bridge to it when UDP does not get there (the caller closes it). */
  const iceServers = async (): Promise<{ servers: MediaIceServer[], bridge?: TurnTcpBridge }> => {
    const turn = await host.turnCredentials().catch(() => undefined)
    if (turn === undefined) return { servers: [] }
    const route = await router.route(turn)
    const bridge = route.via === 'tcp' ? route.bridge : undefined
    return { servers: [{ hostname: route.host, port: route.port, username: turn.username, password: turn.password, relayType: 'TurnUdp' }], bridge }
  }

  const open = async (call: Call, role: 'offerer' | 'answerer', relayOnly: boolean): Promise<MediaSession> => {
    const { servers, bridge } = await iceServers()
    try {
      return openSession(call, role, relayOnly, servers, bridge)
    } catch (err) {
      void bridge?.close()
      throw err
    }
  }

  const openSession = (call: Call, role: 'offerer' | 'answerer', relayOnly: boolean, servers: MediaIceServer[], bridge?: TurnTcpBridge): MediaSession => {
    if (relayOnly && servers.length === 0) throw new Error('relay-only call, but our supernode offers no TURN relay')
    if (bridge !== undefined) log.debug({ callId: call.id, bridge: `${bridge.address}:${bridge.port}` }, 'call relays over TCP through a local bridge: UDP does not reach our relay')
    let media: CallMedia | undefined
    const session = createMediaSession({
      role,
      iceServers: servers,
      relayOnly,
      bindAddress: init.bindAddress,
      log,
      onAudio: (payload, rtp) => { media?.audio?.receive(payload, rtp) },
      onState: (state, reason) => {
        if (state === 'connected' && media !== undefined) void onConnected(call, media)
        else if (state === 'failed' || state === 'closed' || state === 'disconnected') {
          // The peer's hangup usually closes its media a moment before its call-end
          // signal arrives: give signaling the chance to say why before calling it a failure.
          clock.setTimeout(() => { components.signaling().mediaFailed(call.id, `media ${state}${reason === undefined ? '' : `: ${reason}`}`) }, MEDIA_FAILURE_GRACE_MS)
        }
      }
    })
    media = new CallMedia(session, clock, relayed => {
      host.releaseTurn(relayed)
      // Its TCP connection closing ends the allocation on the relay as well.
      void bridge?.close()
    })
    call.media = media
    // The call may have ended while ICE servers were fetched: its close already ran.
    if (!call.live) void media.close()
    return session
  }

  const onConnected = async (call: Call, media: CallMedia): Promise<void> => {
    if (media.audio !== undefined) return
    // The selected candidate pair can show up a little after the state change.
    let stats = media.session.stats()
    for (let waited = 0; stats.path === 'unknown' && waited < PATH_SETTLE_TIMEOUT_MS; waited += PATH_SETTLE_POLL_MS) {
      await new Promise(resolve => clock.setTimeout(() => { resolve(undefined) }, PATH_SETTLE_POLL_MS))
      stats = media.session.stats()
    }
    if (media.closed) return
    const path = stats.path === 'relay' ? 'relay' : 'direct'
    const relay = path === 'relay' ? relayName(stats.localCandidateType === 'relay') : undefined
    log.info({ callId: call.id, path, pair: stats.selectedPair }, `call media connected ${path}: ${stats.selectedPair ?? 'no selected pair yet'}`)
    components.signaling().mediaConnected(call.id, { path, relay })
    let opened: { source?: AudioSource, sink?: AudioSink } = {}
    try {
      const plan = call.audio ?? planAudio({}, init.defaults)
      opened.source = sourceFor(plan)
      const { sink, recording } = sinkFor(call.id, plan, init.defaults)
      opened.sink = sink
      media.recording = recording
      const audio = await startCallAudio({ source: opened.source, sink, send: payload => { media.session.sendAudio(payload) }, log })
      opened = {}
      media.audio = audio
      audio.setMuted(call.muted)
      // Ended while the codec loaded: close() ran before there was audio to close.
      if (media.closed) { await audio.close(); return }
    } catch (err) {
      // What opened before the failure is closed here (an empty recording is removed).
      opened.source?.close()
      await opened.sink?.close()
      media.recording = undefined
      log.warn({ callId: call.id }, `call audio could not start: ${(err as Error).message}`)
      components.signaling().mediaFailed(call.id, `audio: ${(err as Error).message}`)
      return
    }
    emitStats(call.id, media, stats.selectedPair, log, components.emit)
  }

  /** The relaying supernode: ours when our relay candidate was chosen, else the other side's. */
  const relayName = (ours: boolean): string => {
    const sn = host.supernode
    return ours && sn !== undefined ? `${sn.user ?? 'supernode'}@${sn.address}` : 'the other side\'s supernode'
  }

  return {
    async offer (call, { relayOnly }) {
      const session = await open(call, 'offerer', relayOnly)
      session.start()
      return await session.gathered()
    },
    async answer (call, offerSdp, { relayOnly }) {
      const session = await open(call, 'answerer', relayOnly)
      // A refused offer would otherwise only show as a gathering timeout: say why, at once.
      const applied = session.setRemoteDescription(offerSdp, 'offer')
      if (!applied.ok) throw new Error(`offer refused: ${applied.reason}`)
      return await session.gathered()
    },
    accept (call, answerSdp) {
      const session = (call.media as CallMedia | undefined)?.session
      if (session === undefined) throw new Error('no media session for this call')
      const applied = session.setRemoteDescription(answerSdp, 'answer')
      if (!applied.ok) throw new Error(applied.reason)
    }
  }
}
