// The media leg of a call: one node-datachannel PeerConnection with one Opus audio track
// (RTP, RFC 7587, DTLS-SRTP). Only this module and session/ touch node-datachannel; every
// string from the network passes sdp-guard before any native call, and every native call is
// wrapped so a libdatachannel exception becomes a logged result, never a crash. The parts, in
// node/media/session/: ice-config (the RtcConfig), peer (owner of the native objects),
// audio-track (sending and receiving RTP), candidate-gate (which remote candidates ICE gets,
// and when; sans-IO), watchdog (the reported state and the silence check; sans-IO), gather
// (gathered()), signaling (start() and the remote description), stats.
//
// Shape of a session:
// - signaling sends one offer and one answer, each with every candidate inside (gathered());
// - both ends add a SendRecv audio track with their own SSRC (a=ssrc in their description) and
//   the same mid, so each end's packets reach the other's track (onTrack is never relied on: it
//   fires only on the answerer, and a track it hands out carries no local SSRC);
// - the offerer adds its track in start() and creates the offer; the answerer adds its track
//   when the offer arrives (with the offer's mid) and node-datachannel answers by itself;
// - Opus goes on the payload type the peer's description gives it (sdp-guard's opusPayloadType,
//   any dynamic type: Firefox offers 109). libdatachannel answers with the answerer's track
//   description as it is, so the answerer's track is made with the offer's number; the offerer
//   offers OPUS_PAYLOAD_TYPE (111) and, should an answer name another, switches its track to it
//   before media flows;
// - libdatachannel hands ICE the remote credentials a moment before it records the remote
//   description, and verifies the peer's DTLS certificate against that record: when the peer's
//   ICE checks and DTLS handshake land inside that moment (loopback, a busy machine), the
//   offerer fails with "certificate verify failed" and then "Got a remote candidate without ICE
//   transport". So the answerer must not reach the offerer before the offerer holds the answer:
//   the answerer holds the offerer's candidates (those inside the offer) until the offerer says
//   it applied the answer (peerHasAnswer(), the call signaling's call-answer-applied), its ICE
//   connects (the offerer's checks reached it), or ANSWERER_CANDIDATE_HOLD_MS have passed (a
//   peer that sends no such word). Behind a NAT that drops the offerer's first checks, the
//   hold is the call's setup time: the word cut it from 1 s to one signaling trip;
// - libdatachannel 0.24.5 (node-datachannel 0.33) can deadlock the whole process when a DTLS
//   server's ClientHello is already queued as its own ICE turns connected (libdatachannel #1630,
//   fixed upstream after this release): every later call into node-datachannel then blocks the
//   main thread; a ClientHello that arrives that early can also cost a 1 s DTLS retransmission.
//   So the side whose ICE connects first serves DTLS: the offerer where its checks reach the
//   answerer unasked (same machine or LAN, a reachable answerer), else the answerer, whose own
//   checks open the path (it rewrites the offer's a=setup:actpass to active).
//   candidate-gate.ts has the reasoning. A relayed answerer (relay-only, or offered only relay
//   candidates) serves too, and skips the hold: as the server it cannot land a handshake before
//   the offerer holds the answer. In the call benchmark serving on relayed paths took relay-only
//   freezes from 2 in 26 connections to 0 in 80;
// - libdatachannel notices a vanished peer only after ~30 s (ICE consent), and a peer's close()
//   sends nothing the other side sees, so a media watchdog reports 'disconnected' when no
//   packet has arrived for mediaTimeoutMs, and 'connected' again when packets resume. The call
//   layer still ends calls with its own hangup message.
import { systemClock } from '../../common/clock.js'
import { OPUS_SAMPLES_PER_FRAME } from './rtp.js'
import { sdpFingerprint } from './sdp-guard.js'
import { cryptoRandom, trackIdentity } from './session/audio-track.js'
import { createDeliver } from './session/callbacks.js'
import { createCandidateGate } from './session/candidate-gate.js'
import { DEFAULT_GATHER_TIMEOUT_MS } from './session/constants.js'
import { isLive, type SessionContext } from './session/context.js'
import { createGatherWaiters } from './session/gather.js'
import { buildRtcConfig, checkMediaTimeout } from './session/ice-config.js'
import { openPeer } from './session/peer.js'
import { peerEvents, releaseToIce } from './session/peer-events.js'
import { createSetupTimeline, dtlsRoleOf } from './session/setup-timeline.js'
import { machineNetworks, onNetworks } from './session/networks.js'
import { applyRemoteDescription, startOffer } from './session/signaling.js'
import { UNKNOWN_PATH, classifyPath, newCounters, type PathInfo } from './session/stats.js'
import type { MediaSession, MediaSessionInit } from './session/types.js'
import { createMediaWatchdog } from './session/watchdog.js'

export * from './session/constants.js'
export type { MediaSetup, SetupSteps } from './session/setup-timeline.js'
export type { MediaIceServer, MediaPath, MediaRole, MediaSession, MediaSessionInit, MediaState, MediaStats, ReceivedRtp } from './session/types.js'
export { shutdownMedia } from './session/peer.js'

export function createMediaSession (init: MediaSessionInit): MediaSession {
  const { role, log } = init
  if (role !== 'offerer' && role !== 'answerer') throw new TypeError(`role must be offerer or answerer, got ${String(role)}`)
  const config = buildRtcConfig(init)
  const mediaTimeoutMs = checkMediaTimeout(init.mediaTimeoutMs)
  const clock = init.clock ?? systemClock
  const identity = trackIdentity(init.random ?? cryptoRandom)
  const deliver = createDeliver(log)
  const counters = newCounters()
  /** The last selected pair seen; kept after close so a finished call still reports its path. */
  let pathInfo: PathInfo = UNKNOWN_PATH

  const ctx: SessionContext = {
    role,
    log,
    gate: createCandidateGate({
      role,
      relayOnly: init.relayOnly === true,
      clock,
      release: (candidates, why) => { releaseToIce(ctx, candidates, why) },
      reachable: init.reachable === true,
      onOurNetwork: role === 'answerer' ? onNetworks(init.localNetworks ?? machineNetworks()) : undefined
    }),
    watchdog: createMediaWatchdog({
      clock,
      mediaTimeoutMs,
      firstPacketTimeoutMs: init.firstPacketTimeoutMs === undefined ? undefined : checkMediaTimeout(init.firstPacketTimeoutMs),
      onConnected: refreshPath,
      report: (state, reason) => {
        log.debug({ state, reason }, 'media state')
        deliver('onState', () => { init.onState(state, reason) })
      }
    }),
    timeline: createSetupTimeline(clock),
    peer: undefined,
    closed: false,
    ended: false,
    started: false,
    localSdp: undefined,
    remote: undefined,
    addTrack: (mid, payloadType) => ctx.peer === undefined ? 'closed' : ctx.peer.addAudioTrack({
      mid,
      payloadType,
      identity,
      log,
      counters,
      live: () => isLive(ctx),
      onOpen: () => { ctx.watchdog.trackOpened() },
      onClosed: () => { ctx.watchdog.trackClosed() },
      onPacket: () => {
        ctx.timeline.mark('firstPacket')
        ctx.watchdog.packetArrived()
      },
      onAudio: (payload, rtp) => { deliver('onAudio', () => { init.onAudio(payload, rtp) }) }
    })
  }
  const gatherWaiters = createGatherWaiters({ clock, log, currentSdp: () => ctx.peer === undefined ? undefined : ctx.peer.localDescription() ?? ctx.localSdp })

  function refreshPath (): void {
    const pair = ctx.peer?.selectedPair()
    if (pair !== undefined) pathInfo = classifyPath(pair, ctx.gate.remoteCandidateType)
  }

  function releaseNative (): void {
    ctx.gate.close()
    gatherWaiters.fail(ctx.closed ? 'the media session was closed' : 'the media session ended')
    refreshPath()
    ctx.watchdog.stop()
    const peer = ctx.peer
    ctx.peer = undefined
    peer?.close()
  }

  ctx.peer = openPeer(`voxmesh-${role}`, config, log, peerEvents(ctx, gatherWaiters, releaseNative))

  const session: MediaSession = {
    role,
    start: () => { startOffer(ctx) },
    gathered (timeoutMs = DEFAULT_GATHER_TIMEOUT_MS) {
      if (!isLive(ctx) || ctx.peer === undefined) return Promise.reject(new Error('the media session is closed'))
      return gatherWaiters.wait(timeoutMs)
    },
    setRemoteDescription: (sdp, type) => applyRemoteDescription(ctx, sdp, type),
    peerHasAnswer: () => { if (isLive(ctx)) ctx.gate.peerHasAnswer() },
    sendAudio: (opusPayload, samples = OPUS_SAMPLES_PER_FRAME) =>
      isLive(ctx) && ctx.watchdog.trackIsOpen() && (ctx.peer?.sendAudio(opusPayload, samples) ?? false),
    stats () {
      refreshPath()
      return { state: session.state(), ...pathInfo, ...counters, localSsrc: identity.ssrc }
    },
    setup: () => ctx.timeline.report(dtlsRoleOf(ctx.localSdp, ctx.remote?.setup)),
    state: () => ctx.closed ? 'closed' : ctx.watchdog.state(),
    relayedAddresses: () => ctx.gate.relayedAddresses(),
    localFingerprint: () => ctx.localSdp === undefined ? undefined : sdpFingerprint(ctx.localSdp),
    remoteFingerprint: () => ctx.remote?.fingerprint,
    close () {
      if (ctx.closed) return
      ctx.closed = true
      releaseNative()
    }
  }
  ctx.watchdog.start()
  return session
}
