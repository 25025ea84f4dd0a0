// The receiving half of a call's audio: the jitter buffer's packets, decoded (or concealed), to
// the sink, on a timer of the playout's own. It starts when the buffer says the first packet has
// waited long enough, then pops every 20 ms (sooner by any skip the buffer asks for, cross-faded).
// Popping on the send clock instead would wait up to a frame more, half a frame on average.
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { AudioSink } from '../media/audio/sinks.js'
import { FRAME_MS, FRAME_SAMPLES } from '../media/audio/pcm.js'
import type { OpusDecoder } from '../media/audio/opus.js'
import { JITTER_SKIP_KEEP_MS, type JitterBuffer } from '../media/audio/jitter-buffer.js'
import { MAX_CATCH_UP_FRAMES } from './constants.js'

/** Length of the cross-fade over a skip in the playout, samples: what the jitter buffer leaves of a frame. */
export const SKIP_CROSS_FADE_SAMPLES = JITTER_SKIP_KEEP_MS * FRAME_SAMPLES / FRAME_MS

/**
 * The frame without its first `skip` samples, for a playout brought forward: the first samples
 * fade from the frame's start (which continues what was played before) into the audio after the
 * skip, so the seam does not click. The fade is shorter when less than its length is left.
 */
export function skipWithCrossFade (pcm: Int16Array, skip: number): Int16Array {
  if (skip <= 0) return pcm
  const out = pcm.slice(Math.min(skip, pcm.length))
  const fade = Math.min(SKIP_CROSS_FADE_SAMPLES, out.length)
  for (let i = 0; i < fade; i++) {
    const w = (i + 1) / (fade + 1)
    out[i] = Math.round((1 - w) * (pcm[i] as number) + w * (out[i] as number))
  }
  return out
}

export interface Playout {
  /** A packet went into the jitter buffer (`restarted`: the buffer began a new stream). */
  pushed: (restarted: boolean) => void
  readonly framesPlayed: number
  readonly framesConcealed: number
  /** Stops the timer (the decoder and sink belong to the caller). */
  stop: () => void
}

export function startPlayout ({ clock, jitter, decoder, sink }: { clock: Clock, jitter: JitterBuffer, decoder: OpusDecoder, sink: AudioSink }): Playout {
  let framesPlayed = 0
  let framesConcealed = 0
  let stopped = false
  // The next pop's time while the stream plays; undefined while it waits to start.
  let nextPopAt: number | undefined
  let timer: TimerHandle | undefined
  let deferred = false

  const play = (): void => {
    timer = undefined
    const now = clock.now()
    // More than a frame late: our process stalled, and the packets that came meanwhile are still
    // unread (timers run before I/O). Pop once they are read, one turn of the event loop later.
    if (nextPopAt !== undefined && now - nextPopAt > FRAME_MS && !deferred) {
      deferred = true
      timer = clock.setTimeout(play, 0)
      return
    }
    deferred = false
    if (nextPopAt === undefined) {
      const start = jitter.playoutStartMs()
      if (start === undefined || start > now) { schedule(); return }
      nextPopAt = now
    }
    let budget = MAX_CATCH_UP_FRAMES
    while (nextPopAt !== undefined && nextPopAt <= now && budget-- > 0) {
      // Each frame is judged at the time it was due: a timer that fired late catches up by
      // playing the frames it owes, so the buffer must not also see the lateness as excess delay.
      const out = jitter.pop(nextPopAt)
      if (out.kind === 'empty') {
        nextPopAt = undefined // paused: the next packet starts the playout again
      } else if (out.kind === 'packet') {
        const skipMs = out.skipMs ?? 0
        sink.write(skipWithCrossFade(decoder.decode(out.payload), Math.round(skipMs * FRAME_SAMPLES / FRAME_MS)))
        framesPlayed++
        nextPopAt += FRAME_MS - skipMs
      } else {
        sink.write(decoder.decodeMissing(out.nextPayload))
        framesPlayed++
        framesConcealed++
        nextPopAt += FRAME_MS
      }
    }
    if (nextPopAt !== undefined && nextPopAt <= now) nextPopAt = now // too far behind: drop time rather than burst
    schedule()
  }
  /** Sets the timer for the next pop, or for the start when the buffer knows it. */
  const schedule = (): void => {
    if (stopped) return
    const at = nextPopAt ?? jitter.playoutStartMs()
    if (timer !== undefined) clock.clearTimeout(timer)
    timer = at === undefined ? undefined : clock.setTimeout(play, Math.max(0, at - clock.now()))
  }

  return {
    pushed (restarted) {
      // The buffer stopped playing (a new stream, a resync): the playout starts again at its time.
      if (restarted) nextPopAt = undefined
      // While waiting to start, each packet may move the start.
      if (nextPopAt === undefined) schedule()
    },
    get framesPlayed () { return framesPlayed },
    get framesConcealed () { return framesConcealed },
    stop () {
      stopped = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
    }
  }
}
