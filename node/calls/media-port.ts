// The node's MediaPort: opens a node-datachannel session per call (ICE through
// our supernode's TURN relay), attaches it to the call as its media side, and
// starts the call's audio once media flows (media-events.ts). While a call rings,
// the caller's offer is gathered and the callee's relay credentials fetched
// (ringing-prep.ts), so an answer waits for neither. libjuice speaks TURN over UDP only:
// where UDP does not reach the relay, the call's ICE gets a local bridge that
// carries its TURN traffic over TCP (relay/bridge), closed with the call.
// A connected call whose session goes silent is recovered by the signaling: a
// re-offer (generation 1, 2, …) opens another session here, with fresh TURN
// credentials from the supernode we are attached to now; it takes over once it connects.
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { Host } from '../overlay/host.js'
import { createMediaSession, type MediaIceServer, type MediaSession } from '../media/media-session.js'
import type { TurnTcpBridge } from '../relay/index.js'
import type { CallDefaults } from './audio-choice.js'
import { createCallIce } from './call-ice.js'
import { CallMedia } from './call-media.js'
import type { CallProgressEvent } from './call-types.js'
import type { Call } from './call.js'
import type { CodecSpare } from './codec-spare.js'
import { MEDIA_FIRST_PACKET_TIMEOUT_MS, MEDIA_SILENCE_TIMEOUT_MS } from './constants.js'
import { onMediaConnected, onMediaLost, type MediaEventContext } from './media-events.js'
import { RingingPrep } from './ringing-prep.js'
import type { CallSignaling, MediaPort } from './signaling/signaling.js'

export interface CallMediaPortComponents {
  clock: Clock
  log: Logger
  host: Host
  /** The signaling, told when media connects or fails (set once both exist). */
  signaling: () => CallSignaling
  /** Each call's codecs, opened ahead of it. */
  codecs: CodecSpare
  emit: (event: CallProgressEvent) => void
}

export interface CallMediaPortInit {
  defaults: CallDefaults
  /** ICE gathers only on this address (tests on one machine). */
  bindAddress?: string
  /** Whether others' packets reach us unasked (we are a supernode): who serves DTLS on a call we answer. */
  reachable?: () => boolean
}

export function createCallMediaPort (components: CallMediaPortComponents, init: CallMediaPortInit): MediaPort {
  const { clock, log, host } = components

  const ice = createCallIce({ clock, log, host, bindAddress: init.bindAddress })
  const events: MediaEventContext = { components, defaults: init.defaults, ice, audioOpened: new WeakSet() }

  const ready = new RingingPrep(() => host.supernode)

  const open = async (call: Call, role: 'offerer' | 'answerer', relayOnly: boolean, generation: number): Promise<MediaSession> => {
    // A recovery's session: our supernode (and its relay) may be what died. One that died closed
    // our link (we are re-homing); one that went dark without a close is found by a quick ping.
    if (generation > 0) {
      await host.checkSupernode()
      await ice.attached()
    }
    const { servers, bridge } = await ice.servers(generation === 0 ? ready.takeCredentials(call) : undefined)
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
      reachable: init.reachable?.() === true,
      clock,
      mediaTimeoutMs: MEDIA_SILENCE_TIMEOUT_MS,
      firstPacketTimeoutMs: MEDIA_FIRST_PACKET_TIMEOUT_MS,
      log,
      // Only the session that carries the call plays (a re-offer's takes over when it connects).
      onAudio: (payload, rtp) => { if (media?.session === session) media.audio?.receive(payload, rtp) },
      onState: (state, reason) => {
        if (media === undefined) return
        if (state === 'connected') void onMediaConnected(events, call, media, generation)
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
      // Codecs opened ahead of the call: neither ICE nor the first frame waits for them.
      media = new CallMedia(leg, clock, call.live ? components.codecs.take() : undefined)
      call.media = media
    }
    // The call may have ended while ICE servers were fetched: its close already ran.
    if (!call.live) void media.close()
    return session
  }

  const openOffer = async (call: Call, relayOnly: boolean, generation: number): Promise<string> => {
    const session = await open(call, 'offerer', relayOnly, generation)
    session.start()
    return await session.gathered()
  }

  return {
    prepare (call) {
      // The codecs its session will take, unless a set is ready already.
      components.codecs.refill()
      if (call.direction === 'outgoing') ready.offer(call, openOffer(call, call.relayOnly, 0))
      else ready.credentials(call, ice.credentials())
    },
    async offer (call, { relayOnly, generation = 0 }) {
      const prepared = generation === 0 ? ready.takeOffer(call) : undefined
      if (prepared !== undefined) {
        const sdp = await prepared.sdp.catch(() => undefined)
        if (sdp !== undefined && !prepared.stale) return sdp
        // It failed, or came through an attachment we have left: its session gives way to a new one.
        await (call.media as CallMedia | undefined)?.close()
        call.media = undefined
      }
      return await openOffer(call, relayOnly, generation)
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
      return true
    },
    answerApplied (call, generation) {
      (call.media as CallMedia | undefined)?.sessionOf(generation)?.peerHasAnswer()
    }
  }
}
