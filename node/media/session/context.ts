// A session's parts and mutable state, in one object the functions acting on the session take
// (signaling.ts, peer-events.ts), so the state they share is written down in one place.
import type { Logger } from '../../../common/logger.js'
import type { AudioSdpSummary } from '../sdp-guard.js'
import type { CandidateGate } from './candidate-gate.js'
import type { NativePeer } from './peer.js'
import type { MediaRole } from './types.js'
import type { SetupTimeline } from './setup-timeline.js'
import type { MediaWatchdog } from './watchdog.js'

export interface SessionContext {
  readonly role: MediaRole
  readonly log: Logger
  readonly gate: CandidateGate
  readonly watchdog: MediaWatchdog
  readonly timeline: SetupTimeline
  /** Undefined once the native parts are released. */
  peer: NativePeer | undefined
  closed: boolean
  /** Native state is terminal (failed/closed): native parts released, nothing more happens. */
  ended: boolean
  started: boolean
  /** Our description as node-datachannel first gave it. */
  localSdp: string | undefined
  /** The peer's checked description, once applied. */
  remote: AudioSdpSummary | undefined
  /** Adds our audio track with `mid`, Opus on `opusPayloadType`; a problem, or undefined. */
  addTrack: (mid: string, opusPayloadType: number) => string | undefined
}

export function isLive (ctx: SessionContext): boolean {
  return !ctx.closed && !ctx.ended
}
