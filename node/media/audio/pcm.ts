// The one audio format calls carry inside a node: 48 kHz mono, 20 ms frames (RFC 7587's
// Opus RTP clock), as Float32 in [-1, 1] or Int16. Conversions between the two live here.

export const SAMPLE_RATE = 48_000
export const FRAME_MS = 20
/** Samples in one 20 ms frame at 48 kHz. */
export const FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS / 1000

/** Float32 [-1, 1] → Int16, rounded and clipped (NaN becomes 0). */
export function floatToInt16 (samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length)
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round((samples[i] as number) * 32767)
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : (v || 0)
  }
  return out
}

/** Int16 → Float32 in [-1, 1). */
export function int16ToFloat (samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length)
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i] as number) / 32768
  return out
}

/**
 * Cuts a stream of sample chunks of any length into whole frames of `frameSamples`.
 * A partial frame waits for the next push; `flush()` pads it with silence.
 */
export class FrameChunker {
  private pending: Float32Array
  private filled = 0

  constructor (private readonly frameSamples: number = FRAME_SAMPLES) {
    this.pending = new Float32Array(frameSamples)
  }

  /** Returns the frames completed by this chunk (often none, sometimes several). */
  push (chunk: Float32Array): Float32Array[] {
    const frames: Float32Array[] = []
    let offset = 0
    while (offset < chunk.length) {
      const take = Math.min(this.frameSamples - this.filled, chunk.length - offset)
      this.pending.set(chunk.subarray(offset, offset + take), this.filled)
      this.filled += take
      offset += take
      if (this.filled === this.frameSamples) {
        frames.push(this.pending)
        this.pending = new Float32Array(this.frameSamples)
        this.filled = 0
      }
    }
    return frames
  }

  /** Samples waiting for a whole frame. */
  get buffered (): number {
    return this.filled
  }

  /** The partial frame padded with silence, or null when nothing is pending. */
  flush (): Float32Array | null {
    if (this.filled === 0) return null
    const frame = this.pending
    this.pending = new Float32Array(this.frameSamples)
    this.filled = 0
    return frame
  }
}
