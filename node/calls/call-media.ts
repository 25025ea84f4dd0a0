// The media side of one call: its node-datachannel sessions, its audio (once
// media flows), the stats timer and the recording. Owned by the call
// (call.media); close() releases all of it, children first, once.
// A call has one session that carries it and, while it recovers, one more being
// set up (a re-offer): when that one connects it takes over and the old one is
// closed. The audio (and so the recording) runs on across sessions.
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { MediaSession } from '../media/media-session.js'
import { closeCallCodecs, type CallAudio, type CallCodecs } from './call-audio.js'
import type { CallChild } from './call.js'

/** One media session of the call: its generation (0 the first, then each re-offer's) and what to release with it. */
export interface MediaLeg {
  readonly generation: number
  readonly session: MediaSession
  /** Called with the relayed addresses our ICE agent allocated, once the session is closed. */
  readonly releaseRelay: (relayed: Array<{ ip: string, port: number }>) => void
}

export class CallMedia implements CallChild {
  audio?: CallAudio
  recording?: string
  /** Bytes received at the last stats tick (for the bitrate). */
  lastBytes = 0
  /** The pair the first session connected on. */
  connectedPair?: string
  /** The first session, kept (closed or not) for how the call set up. */
  readonly first: MediaSession
  private current: MediaLeg
  private pending?: MediaLeg
  private readonly closedLegs = new WeakSet<MediaLeg>()
  private statsTimer?: TimerHandle
  private closing?: Promise<void>
  /** Taken from the node's spare (codec-spare.ts) as the first session opened; the audio takes them when it starts. */
  private codecs?: Promise<CallCodecs>

  constructor (first: MediaLeg, private readonly clock: Clock, codecs?: Promise<CallCodecs>) {
    this.current = first
    this.first = first.session
    this.codecs = codecs
    // A failure is reported by the audio that takes them; one never taken has no one to tell.
    codecs?.catch(() => {})
  }

  /** The codecs opened for this call, once: whoever takes them closes them. */
  takeCodecs (): Promise<CallCodecs> | undefined {
    const codecs = this.codecs
    this.codecs = undefined
    return codecs
  }

  /** The session that carries the call. */
  get session (): MediaSession { return this.current.session }
  get generation (): number { return this.current.generation }
  get closed (): boolean { return this.closing !== undefined }
  silentMs (): number { return this.audio?.silentMs() ?? 0 }

  /** The session of `generation`, while it is the current or the pending one. */
  sessionOf (generation: number): MediaSession | undefined {
    if (this.current.generation === generation) return this.current.session
    return this.pending?.generation === generation ? this.pending.session : undefined
  }

  /** A re-offer's session, set up beside the current one; it replaces (closes) an earlier one still being set up. */
  addPending (leg: MediaLeg): void {
    if (this.closed) { this.closeLeg(leg); return }
    if (this.pending !== undefined) this.closeLeg(this.pending)
    this.pending = leg
  }

  /** The pending session `generation` connected: it carries the call from now on, and the old one is closed. */
  promote (generation: number): boolean {
    const next = this.pending
    if (next === undefined || next.generation !== generation || this.closed) return false
    const old = this.current
    this.current = next
    this.pending = undefined
    this.closeLeg(old)
    return true
  }

  /** Calls `tick` every `ms` until the media closes. */
  every (ms: number, tick: () => void): void {
    const next = (): void => {
      this.statsTimer = this.clock.setTimeout(() => { tick(); if (!this.closed) next() }, ms)
    }
    next()
  }

  close (): Promise<void> {
    this.closing ??= (async () => {
      if (this.statsTimer !== undefined) this.clock.clearTimeout(this.statsTimer)
      if (this.pending !== undefined) this.closeLeg(this.pending)
      this.closeLeg(this.current)
      void this.takeCodecs()?.then(closeCallCodecs, () => {})
      await this.audio?.close()
      // A recording that got no audio was removed when it closed (sinkFor): there is none to name.
      if (this.audio?.stats().framesPlayed === 0) this.recording = undefined
    })()
    return this.closing
  }

  /** Idempotent per leg. */
  private closeLeg (leg: MediaLeg): void {
    if (this.closedLegs.has(leg)) return
    this.closedLegs.add(leg)
    const relayed = leg.session.relayedAddresses()
    leg.session.close()
    // Our ICE agent leaves its allocations on our supernode's relay open until they expire.
    leg.releaseRelay(relayed)
  }
}
