// The one owner of a session's node-datachannel objects: the PeerConnection and the audio track
// on it. Every native call is wrapped so a libdatachannel exception becomes a logged result,
// never a crash; close() closes the track, then the connection, and drops every reference
// (callbacks keep native objects alive).
import { PeerConnection, cleanup, type DescriptionType, type RtcConfig } from 'node-datachannel'
import type { Logger } from '../../../common/logger.js'
import type { GuardResult, SdpType } from '../sdp-guard.js'
import { addAudioTrack, type AudioTrack, type AudioTrackInit } from './audio-track.js'
import { errorText } from './callbacks.js'
import type { SelectedPair } from './stats.js'

export interface PeerEvents {
  /** node-datachannel's connection state, as text. */
  onState: (state: string) => void
  onLocalDescription: (sdp: string, type: SdpType) => void
  /** One of our gathered candidates, "candidate:..." without the "a=" node-datachannel puts in front. */
  onLocalCandidate: (candidate: string) => void
  onIceState: (state: string) => void
  onGatheringState: (state: string) => void
}

export interface NativePeer {
  /** Adds the audio track once (later calls are no-ops); a problem, or undefined. */
  addAudioTrack: (init: AudioTrackInit) => string | undefined
  /** Sends on the track; false without one. */
  sendAudio: (opusPayload: Uint8Array, samples: number) => boolean
  /** The track sends (and accepts) Opus on `payloadType` from now on; a problem, or undefined. */
  useOpusPayloadType: (payloadType: number) => string | undefined
  /** Starts the offer (it arrives through onLocalDescription); node-datachannel's error text, or undefined. */
  createOffer: () => string | undefined
  setRemoteDescription: (sdp: string, type: SdpType) => GuardResult
  addRemoteCandidate: (candidate: string, mid: string) => GuardResult
  /** Our description as it is now, candidates gathered so far included. */
  localDescription: () => string | undefined
  selectedPair: () => SelectedPair | undefined
  /** Idempotent. */
  close: () => void
}

/** Creates the PeerConnection and registers `events`; throws when node-datachannel does. */
export function openPeer (name: string, config: RtcConfig, log: Logger, events: PeerEvents): NativePeer {
  let pc: PeerConnection | undefined
  let track: AudioTrack | undefined
  try {
    pc = new PeerConnection(name, config)
    pc.onStateChange(events.onState)
    pc.onLocalDescription((sdp: string, type: DescriptionType) => {
      if (type !== 'offer' && type !== 'answer') { log.warn({ type }, 'ignoring a local description of an unexpected type'); return }
      events.onLocalDescription(sdp, type)
    })
    pc.onLocalCandidate((candidate: string) => { events.onLocalCandidate(candidate.startsWith('a=') ? candidate.slice(2) : candidate) })
    pc.onIceStateChange(events.onIceState)
    pc.onGatheringStateChange(events.onGatheringState)
  } catch (err) {
    try { pc?.close() } catch {}
    throw new Error(`creating the peer connection failed: ${errorText(err)}`)
  }

  return {
    addAudioTrack (init) {
      if (pc === undefined) return 'closed'
      if (track !== undefined) return undefined
      try {
        track = addAudioTrack(pc, init)
        return undefined
      } catch (err) {
        return `adding the audio track failed: ${errorText(err)}`
      }
    },

    sendAudio: (opusPayload, samples) => track?.send(opusPayload, samples) ?? false,

    useOpusPayloadType (payloadType) {
      if (track === undefined) return 'no audio track'
      try {
        track.usePayloadType(payloadType)
        return undefined
      } catch (err) {
        return `switching the audio track to payload type ${payloadType} failed: ${errorText(err)}`
      }
    },

    createOffer () {
      try {
        pc?.setLocalDescription('offer')
        return undefined
      } catch (err) {
        return errorText(err)
      }
    },

    setRemoteDescription (sdp, type) {
      if (pc === undefined) return { ok: false, reason: 'closed' }
      try {
        pc.setRemoteDescription(sdp, type)
        return { ok: true }
      } catch (err) {
        log.warn({ err: errorText(err) }, 'node-datachannel refused the remote description')
        return { ok: false, reason: `refused: ${errorText(err)}` }
      }
    },

    addRemoteCandidate (candidate, mid) {
      if (pc === undefined) return { ok: false, reason: 'closed' }
      try {
        pc.addRemoteCandidate(candidate, mid)
        return { ok: true }
      } catch (err) {
        log.warn({ err: errorText(err) }, 'node-datachannel refused a remote candidate')
        return { ok: false, reason: `refused: ${errorText(err)}` }
      }
    },

    localDescription () {
      try {
        return pc?.localDescription()?.sdp
      } catch {
        return undefined
      }
    },

    selectedPair () {
      if (pc === undefined) return undefined
      try {
        const pair = pc.getSelectedCandidatePair()
        return pair === null || typeof pair !== 'object' ? undefined : pair
      } catch (err) {
        log.debug({ err: errorText(err) }, 'reading the selected candidate pair failed')
        return undefined
      }
    },

    close () {
      const closing = pc
      pc = undefined
      track?.close()
      track = undefined
      if (closing === undefined) return
      try { closing.close() } catch (err) { log.warn({ err: errorText(err) }, 'closing the peer connection failed') }
    }
  }
}

let shutDown = false

/**
 * Process-wide: closes every node-datachannel object and joins its threads. Call once at
 * process exit (and at the end of a forked test file), after the sessions were closed.
 */
export function shutdownMedia (): void {
  if (shutDown) return
  shutDown = true
  try {
    cleanup()
  } catch {
    // cleanup() throws when a native thread does not stop in time; the process is exiting anyway.
  }
}
