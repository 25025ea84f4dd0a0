// The audio of one connected call: a 20 ms clock pulls frames from the source,
// encodes them with Opus and hands them to the media session; received packets
// go through the jitter buffer to the playout (playout.ts: decoder or concealment, then the
// sink, on a timer of its own). An RTT probe rides in the Opus packets both ways
// (rtt-probe.ts). Time comes from the injected Clock (the monotonic one by default), so a fake
// clock can drive the pacing in tests.
import type { Logger } from '../../common/logger.js'
import { monotonicClock, type Clock, type TimerHandle } from '../../common/clock.js'
import type { AudioSource } from '../media/audio/sources.js'
import type { AudioSink } from '../media/audio/sinks.js'
import { readInt16Frame } from '../media/audio/sources.js'
import { FRAME_MS, FRAME_SAMPLES } from '../media/audio/pcm.js'
import { createOpusDecoder, createOpusEncoder, type OpusDecoder, type OpusEncoder } from '../media/audio/opus.js'
import { JitterBuffer } from '../media/audio/jitter-buffer.js'
import { MAX_CATCH_UP_FRAMES } from './constants.js'
import { startPlayout } from './playout.js'
import { createRttProbe } from './rtt-probe.js'

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
  /**
   * A received Opus payload with its RTP sequence number, timestamp and SSRC. A call's recovery
   * brings a new session whose stream has another SSRC, a random sequence and a random timestamp:
   * the jitter buffer starts over on it (RFC 3550 §8: a new SSRC is a new source).
   */
  receive: (payload: Uint8Array, rtp: { seq: number, timestamp: number, ssrc: number }) => void
  setMuted: (muted: boolean) => void
  stats: () => CallAudioStats
  /** How long since the last packet arrived (since the audio started, before the first). */
  silentMs: () => number
  /** Stops both directions and finishes the sink (the recording is complete when it resolves). Idempotent. */
  close: () => Promise<void>
}

/** A call's Opus encoder and decoder. */
export interface CallCodecs {
  encoder: OpusEncoder
  decoder: OpusDecoder
}

/**
 * Opens a call's codecs. Calls take a set opened ahead (codec-spare.ts), so that neither the setup
 * nor the first frame waits for the decoder's wasm instance.
 */
export async function openCallCodecs (): Promise<CallCodecs> {
  const encoder = createOpusEncoder({ fec: true })
  try {
    return { encoder, decoder: await createOpusDecoder() }
  } catch (err) {
    encoder.close()
    throw err
  }
}

export function closeCallCodecs (codecs: CallCodecs): void {
  codecs.encoder.close()
  codecs.decoder.close()
}

/** Starts a call's audio. It owns `codecs` (closes them with itself); without them it opens its own. */
export async function startCallAudio (options: {
  source: AudioSource
  sink: AudioSink
  send: (opusPayload: Uint8Array) => void
  log: Logger
  clock?: Clock
  codecs?: Promise<CallCodecs>
}): Promise<CallAudio> {
  const { source, sink, send, log } = options
  const clock = options.clock ?? monotonicClock
  const { encoder, decoder } = await (options.codecs ?? openCallCodecs())
  const jitter = new JitterBuffer()
  const probe = createRttProbe()
  const silence = new Int16Array(FRAME_SAMPLES)
  let muted = false
  let framesSent = 0
  let bytesReceived = 0
  let sourceEnded = false
  const started = clock.now()
  let lastReceivedAt = started
  let receivedSsrc: number | undefined
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

  const playout = startPlayout({ clock, jitter, decoder, sink })

  return {
    receive (payload, rtp) {
      const now = clock.now()
      lastReceivedAt = now
      bytesReceived += payload.length
      // A sequence within JITTER_MAX_SEQUENCE_JUMP of the old stream's would otherwise be taken as
      // late (dropped) or far ahead (waited for): up to 20 s of silence after a recovery.
      const newSource = receivedSsrc !== undefined && rtp.ssrc !== receivedSsrc
      receivedSsrc = rtp.ssrc
      if (newSource) jitter.restart()
      const result = jitter.push(rtp.seq, rtp.timestamp, probe.incoming(payload, now), now)
      playout.pushed(newSource || result === 'restarted')
    },
    setMuted (next) { muted = next },
    silentMs: () => clock.now() - lastReceivedAt,
    stats () {
      const j = jitter.stats()
      return { framesSent, framesPlayed: playout.framesPlayed, framesConcealed: playout.framesConcealed, framesReceived: j.received, framesLost: j.lost, jitterMs: j.jitterMs, lossPct: j.lossPercent, bufferDelayMs: j.currentDelayMs, bytesReceived, rttMs: probe.rttMs() }
    },
    close () {
      closing ??= (async () => {
        if (timer !== undefined) clock.clearTimeout(timer)
        playout.stop()
        source.close()
        encoder.close()
        decoder.close()
        await sink.close()
      })()
      return closing
    }
  }
}
