// The media side of one call: its node-datachannel session, its audio (once
// media flows), the stats timer and the recording. Owned by the call
// (call.media); close() releases all of it, children first, once.
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { MediaSession } from '../media/media-session.js'
import type { CallAudio } from './call-audio.js'
import type { CallChild } from './call.js'

export class CallMedia implements CallChild {
  audio?: CallAudio
  recording?: string
  /** Bytes received at the last stats tick (for the bitrate). */
  lastBytes = 0
  private statsTimer?: TimerHandle
  private closing?: Promise<void>

  constructor (
    readonly session: MediaSession,
    private readonly clock: Clock,
    /** Called with the relayed addresses our ICE agent allocated, once the session is closed. */
    private readonly releaseRelay: (relayed: Array<{ ip: string, port: number }>) => void
  ) {}

  get closed (): boolean { return this.closing !== undefined }

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
      const relayed = this.session.relayedAddresses()
      this.session.close()
      // Our ICE agent leaves its allocations on our supernode's relay open until they expire.
      this.releaseRelay(relayed)
      await this.audio?.close()
      // A recording that got no audio was removed when it closed (sinkFor): there is none to name.
      if (this.audio?.stats().framesPlayed === 0) this.recording = undefined
    })()
    return this.closing
  }
}
