// The audio of one connected call: a 20 ms clock pulls frames from the source,
// encodes them with Opus and hands them to the media session; received packets
// go through the jitter buffer to the decoder (or concealment) and the sink. The playout has a
// timer of its own, set by the jitter buffer: it starts when the buffer says the first packet has
// waited long enough, then pops every 20 ms (sooner by any skip the buffer asks for, which is
// cross-faded). Popping on the send clock instead would wait up to a frame more, half a frame on
// average, for nothing. An RTT probe rides
// in the Opus packets both ways (rtt-probe.ts). Time comes from the injected Clock (the
// monotonic one by default), so a fake clock can drive the pacing in tests.
import type { Logger } from '../../common/logger.js'
import { monotonicClock, type Clock, type TimerHandle } from '../../common/clock.js'
import type { AudioSource } from '../media/audio/sources.js'
import type { AudioSink } from '../media/audio/sinks.js'
import { readInt16Frame } from '../media/audio/sources.js'
import { FRAME_MS, FRAME_SAMPLES } from '../media/audio/pcm.js'
import { createOpusDecoder, createOpusEncoder, type OpusDecoder } from '../media/audio/opus.js'
import { JitterBuffer } from '../media/audio/jitter-buffer.js'
import { createRttProbe } from './rtt-probe.js'

/** Frames sent (or played) at once at most when a 20 ms timer fell behind (a busy event loop). */
const MAX_CATCH_UP_FRAMES = 5
/** Length of the cross-fade over a skip in the playout, samples (2.5 ms: what the jitter buffer leaves of a frame). */
export const SKIP_CROSS_FADE_SAMPLES = 120

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

export interface CallAudioStats {
  framesSent: number
  framesPlayed: number
  framesConcealed: number
  /** Distinct audio packets received (one 20 ms frame each). */
  framesReceived: number
  /** Packets that never arrived: expected over the sequence span seen, less those received. */
  framesLost: number
  jitterMs: number
  lossPct: number
  bufferDelayMs: number
  bytesReceived: number
  /** Round trip of the media path, from the in-band probe; null until the first answer. */
  rttMs: number | null
}

export interface CallAudio {
  /** A received Opus payload with its RTP sequence number and timestamp. */
  receive: (payload: Uint8Array, rtp: { seq: number, timestamp: number }) => void
  setMuted: (muted: boolean) => void
  stats: () => CallAudioStats
  /** How long since the last packet arrived (since the audio started, before the first). */
  silentMs: () => number
  /** Stops both directions and finishes the sink (the recording is complete when it resolves). Idempotent. */
  close: () => Promise<void>
}

export async function startCallAudio (options: {
  source: AudioSource
  sink: AudioSink
  send: (opusPayload: Uint8Array) => void
  log: Logger
  clock?: Clock
}): Promise<CallAudio> {
  const { source, sink, send, log } = options
  const clock = options.clock ?? monotonicClock
  const encoder = await createOpusEncoder({ fec: true })
  const decoder: OpusDecoder = await createOpusDecoder()
  const jitter = new JitterBuffer()
  const probe = createRttProbe()
  const silence = new Int16Array(FRAME_SAMPLES)
  let muted = false
  let framesSent = 0
  let framesPlayed = 0
  let framesConcealed = 0
  let bytesReceived = 0
  let sourceEnded = false
  const started = clock.now()
  let lastReceivedAt = started
  let ticks = 0

  const tick = (): void => {
    // Drift-free: the number of frames due is computed from the start time, not counted per timer.
    // The first frame goes at the start (a source answers what it has: a microphone that captured
    // nothing yet answers silence), so the far end hears the call a frame sooner.
    const due = Math.floor((clock.now() - started) / FRAME_MS) + 1
    let budget = MAX_CATCH_UP_FRAMES
    while (ticks < due && budget-- > 0) {
      ticks++
      const frame = sourceEnded ? null : readInt16Frame(source)
      if (frame === null && !sourceEnded) {
        sourceEnded = true
        log.info({ source: source.description }, 'audio source ended; sending silence')
      }
      send(probe.outgoing(encoder.encode(muted || frame === null ? silence : frame), clock.now()))
      framesSent++
    }
    if (ticks < due) ticks = due // too far behind: drop time rather than burst
  }
  // Ticks at twice the frame rate, so a frame is never more than half a frame late.
  let timer: TimerHandle | undefined
  let closing: Promise<void> | undefined
  const schedule = (): void => {
    timer = clock.setTimeout(() => { tick(); if (closing === undefined) schedule() }, FRAME_MS / 2)
  }
  tick()
  schedule()

  // Playout: the next pop's time while the stream plays; undefined while it waits to start.
  let nextPopAt: number | undefined
  let playoutTimer: TimerHandle | undefined
  const playout = (): void => {
    playoutTimer = undefined
    const now = clock.now()
    if (nextPopAt === undefined) {
      const start = jitter.playoutStartMs()
      if (start === undefined || start > now) { schedulePlayout(); return }
      nextPopAt = now
    }
    let budget = MAX_CATCH_UP_FRAMES
    while (nextPopAt !== undefined && nextPopAt <= now && budget-- > 0) {
      const out = jitter.pop(now)
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
    schedulePlayout()
  }
  /** Sets the playout timer for the next pop, or for the start when the buffer knows it. */
  const schedulePlayout = (): void => {
    if (closing !== undefined) return
    const at = nextPopAt ?? jitter.playoutStartMs()
    if (playoutTimer !== undefined) clock.clearTimeout(playoutTimer)
    playoutTimer = at === undefined ? undefined : clock.setTimeout(playout, Math.max(0, at - clock.now()))
  }

  return {
    receive (payload, rtp) {
      const now = clock.now()
      lastReceivedAt = now
      bytesReceived += payload.length
      const result = jitter.push(rtp.seq, rtp.timestamp, probe.incoming(payload, now), now)
      // The buffer stopped playing (a new stream, a resync): the playout starts again at its time.
      if (result === 'restarted') nextPopAt = undefined
      // While waiting to start, each packet may move the start.
      if (nextPopAt === undefined) schedulePlayout()
    },
    setMuted (next) { muted = next },
    silentMs: () => clock.now() - lastReceivedAt,
    stats () {
      const j = jitter.stats()
      return { framesSent, framesPlayed, framesConcealed, framesReceived: j.received, framesLost: j.lost, jitterMs: j.jitterMs, lossPct: j.lossPercent, bufferDelayMs: j.currentDelayMs, bytesReceived, rttMs: probe.rttMs() }
    },
    close () {
      closing ??= (async () => {
        if (timer !== undefined) clock.clearTimeout(timer)
        if (playoutTimer !== undefined) clock.clearTimeout(playoutTimer)
        source.close()
        encoder.close()
        decoder.close()
        await sink.close()
      })()
      return closing
    }
  }
}
