// One set of call codecs kept ready for the next call. Opening them instantiates opus-decoder's
// wasm module, with its own 28 MiB memory that V8 counts as external memory: 1–12 ms on the main
// thread, often with a GC step. Opened as a call connected, that cost delayed its first audio;
// opened as its media session opened, it delayed ICE and the answer (~17 ms at p50 in
// bench:calls). So the set is made while nothing waits on it: a moment after the call service
// starts, when a call ends, and when a call starts ringing with none left (media-port.ts's
// prepare; a ring gives it time). Back-to-back calls (bench:calls) see the set made at one call's
// end delay the next call's ringback. A call that finds none opens its own. Held: one wasm
// instance per node (28 MiB of address space, ~90 KiB resident).
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { closeCallCodecs, openCallCodecs, type CallCodecs } from './call-audio.js'

export class CodecSpare {
  private spare: Promise<CallCodecs> | undefined
  private timer: TimerHandle | undefined
  private closed = false

  /** `open`: how a set is opened (tests count them). */
  constructor (private readonly clock: Clock, private readonly log: Logger, private readonly open: () => Promise<CallCodecs> = openCallCodecs) {}

  /** The spare set (the taker closes it), or a newly opened one when there is none. */
  take (): Promise<CallCodecs> {
    const codecs = this.spare ?? this.open()
    this.spare = undefined
    return codecs
  }

  /** Opens a spare set `delayMs` from now, unless one is there or coming. */
  refill (delayMs = 0): void {
    if (this.closed || this.spare !== undefined || this.timer !== undefined) return
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      if (this.closed || this.spare !== undefined) return
      const opening = this.open()
      this.spare = opening
      opening.catch((err: Error) => {
        if (this.spare === opening) this.spare = undefined
        this.log.warn({ err: err.message }, 'could not open Opus codecs ahead of the next call; a call will open its own')
      })
    }, delayMs)
  }

  /** Idempotent: the spare is closed and no other is made. */
  close (): void {
    this.closed = true
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    void this.spare?.then(closeCallCodecs, () => {})
    this.spare = undefined
  }
}
