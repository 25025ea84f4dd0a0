// What a session does with each event node-datachannel sends. Nothing happens once the
// session closed or its native state turned terminal.
import { isLive, type SessionContext } from './context.js'
import type { GatherWaiters } from './gather.js'
import type { PeerEvents } from './peer.js'
import { nativeMediaState } from './watchdog.js'

/** `releaseNative` drops the native parts; it runs a turn after a terminal state, off the native callback. */
export function peerEvents (ctx: SessionContext, gatherWaiters: GatherWaiters, releaseNative: () => void): PeerEvents {
  const { log } = ctx
  return {
    onState: text => {
      if (!isLive(ctx)) return
      const state = nativeMediaState(text)
      if (state === undefined) { log.warn({ state: text }, 'unknown native media state'); return }
      if (state === 'failed' || state === 'closed') {
        ctx.ended = true
        setImmediate(releaseNative)
      }
      // Without data channels, libdatachannel's connection is 'connected' once DTLS is.
      if (state === 'connected') ctx.timeline.mark('dtlsConnected')
      ctx.watchdog.nativeStateChanged(state)
    },
    onLocalDescription: sdp => { if (isLive(ctx)) ctx.localSdp = sdp },
    // Our relayed candidates are our TURN allocations (MediaSession.relayedAddresses).
    onLocalCandidate: candidate => {
      if (!isLive(ctx)) return
      ctx.gate.localCandidate(candidate)
      ctx.timeline.localCandidate(candidate)
    },
    onIceState: state => {
      if (!isLive(ctx)) return
      log.debug({ state }, 'ICE state')
      if (state === 'connected' || state === 'completed') ctx.timeline.mark('iceConnected')
      ctx.gate.iceStateChanged(state)
    },
    onGatheringState: state => {
      if (!isLive(ctx)) return
      log.debug({ state }, 'ICE gathering')
      if (state === 'complete') gatherWaiters.complete()
    }
  }
}

/** The gate's release: the held candidates go to ICE under the remote description's mid. */
export function releaseToIce (ctx: SessionContext, candidates: string[], why: string): void {
  if (!isLive(ctx) || ctx.remote === undefined) return
  ctx.log.debug({ candidates: candidates.length, why }, 'adding the offerer\'s candidates')
  ctx.timeline.released(why)
  for (const candidate of candidates) ctx.peer?.addRemoteCandidate(candidate, ctx.remote.mid)
}
