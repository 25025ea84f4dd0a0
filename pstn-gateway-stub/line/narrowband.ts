// The line codec: converts a call's audio (48 kHz mono Int16, 20 ms frames of 960 samples) to what
// the simulated telephone line carries (8 kHz G.711 μ-law, 20 ms frames of 160 bytes) and back,
// frame by frame. Each direction keeps one streaming resampler (the node's polyphase Kaiser
// windowed-sinc) across frames, so the filter's history spans frame seams and nothing clicks;
// its cutoff (0.9 × 4 kHz = 3.6 kHz) also makes this the line's band limit.
//
// The node's resampler has no delay of its own (output n sits at input time n·in/out) but holds
// outputs back until it has the filter's half width of future input, so the first frame yields
// fewer samples than a whole frame. Each direction therefore starts with exactly that shortfall of
// silence queued in front of its output: every frame then comes out whole, and the signal is
// late by a constant, whole number of output samples (toLineDelay, fromLineDelay).
// Sans-IO: no clocks, no sockets; the gateway calls toLine/fromLine once per 20 ms frame.
import { FRAME_SAMPLES, Resampler, SAMPLE_RATE, floatToInt16, int16ToFloat } from '../../node/index.js'
import { LINE_FRAME_SAMPLES, LINE_SAMPLE_RATE, decodeMulaw, encodeMulaw } from './g711.js'

export interface LineCodec {
  /** One call frame (960 samples at 48 kHz) → one line frame (160 μ-law bytes). */
  toLine: (frame48k: Int16Array) => Uint8Array
  /** One line frame (160 μ-law bytes) → one call frame (960 samples at 48 kHz). */
  fromLine: (mulaw: Uint8Array) => Int16Array
  /** Line samples (8 kHz) by which toLine's output lags its input. */
  readonly toLineDelay: number
  /** Call samples (48 kHz) by which fromLine's output lags its input. */
  readonly fromLineDelay: number
}

/**
 * A streaming resampler that turns each whole input frame into exactly one whole output frame
 * (the frame lengths must be in the rates' ratio), by queueing its startup shortfall as silence.
 */
class FrameResampler {
  /** Output samples of silence in front of the signal. */
  readonly delay: number
  private readonly resampler: Resampler
  private queue: Float32Array
  private queued: number

  constructor (inRate: number, outRate: number, private readonly inFrame: number, private readonly outFrame: number) {
    if (inFrame * outRate !== outFrame * inRate) {
      throw new RangeError(`FrameResampler: ${inFrame} samples at ${inRate} Hz are not ${outFrame} at ${outRate} Hz`)
    }
    this.resampler = new Resampler(inRate, outRate)
    // What the first frame yields is the same for any input: measure it on a spare resampler
    // (the filter tables are shared, so this costs one frame of arithmetic). Each later frame
    // moves every output's look-ahead on by a whole frame, so yields exactly outFrame.
    const firstYield = new Resampler(inRate, outRate).process(new Float32Array(inFrame)).length
    this.delay = Math.max(0, outFrame - firstYield)
    this.queue = new Float32Array(2 * outFrame + this.delay)
    this.queued = this.delay // already zero: the leading silence
  }

  process (frame: Float32Array): Float32Array {
    if (frame.length !== this.inFrame) {
      throw new RangeError(`FrameResampler: expected ${this.inFrame} samples, got ${frame.length}`)
    }
    const produced = this.resampler.process(frame)
    if (this.queued + produced.length > this.queue.length) {
      const grown = new Float32Array(this.queued + produced.length)
      grown.set(this.queue.subarray(0, this.queued))
      this.queue = grown
    }
    this.queue.set(produced, this.queued)
    this.queued += produced.length
    if (this.queued < this.outFrame) {
      // Cannot happen with frames in the rates' ratio (see the constructor); a bug if it does.
      throw new Error(`FrameResampler: ${this.queued} samples queued, a frame needs ${this.outFrame}`)
    }
    const out = this.queue.slice(0, this.outFrame)
    this.queue.copyWithin(0, this.outFrame, this.queued)
    this.queued -= this.outFrame
    return out
  }
}

/** A line codec for one call: keep one per call (it holds both directions' filter state). */
export function createLineCodec (): LineCodec {
  const down = new FrameResampler(SAMPLE_RATE, LINE_SAMPLE_RATE, FRAME_SAMPLES, LINE_FRAME_SAMPLES)
  const up = new FrameResampler(LINE_SAMPLE_RATE, SAMPLE_RATE, LINE_FRAME_SAMPLES, FRAME_SAMPLES)
  return {
    toLine: (frame48k) => encodeMulaw(floatToInt16(down.process(int16ToFloat(frame48k)))),
    fromLine: (mulaw) => floatToInt16(up.process(int16ToFloat(decodeMulaw(mulaw)))),
    toLineDelay: down.delay,
    fromLineDelay: up.delay
  }
}
