import { describe, expect, it } from 'vitest'
import { createOpusDecoder, createOpusEncoder, OPUS_DEFAULT_BITRATE, type OpusEncoder } from '../../node/media/audio/opus.js'
import { parseOpusPacket } from '../../node/media/audio/opus-packet.js'
import { FRAME_SAMPLES, SAMPLE_RATE, floatToInt16, int16ToFloat } from '../../node/media/audio/pcm.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { tone } from './helpers.js'

function frames (signal: Float32Array): Int16Array[] {
  const out: Int16Array[] = []
  for (let at = 0; at + FRAME_SAMPLES <= signal.length; at += FRAME_SAMPLES) out.push(floatToInt16(signal.subarray(at, at + FRAME_SAMPLES)))
  return out
}

function join (parts: Int16Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(int16ToFloat(p), at); at += p.length }
  return out
}

/** Largest sample-to-sample step: a click shows as a step far above a smooth tone's. */
function maxStep (signal: Float32Array): number {
  let max = 0
  for (let i = 1; i < signal.length; i++) max = Math.max(max, Math.abs((signal[i] as number) - (signal[i - 1] as number)))
  return max
}

const TONE_LEVEL_DBFS = -6
const toneFrames = frames(tone(440, SAMPLE_RATE, 2, 10 ** (TONE_LEVEL_DBFS / 20)))

describe('Opus encoder and decoder', () => {
  for (const backend of ['native', 'wasm'] as const) {
    it(`${backend}: a 440 Hz tone comes back at 440 ± 2 Hz, within 3 dB, 960 samples a frame, at about the set bitrate`, async () => {
      const encoder = createOpusEncoder({ fec: true, backend })
      expect(encoder.backend).toBe(backend)
      const decoder = await createOpusDecoder()
      const packets = toneFrames.map(f => encoder.encode(f))
      const decoded = packets.map(p => decoder.decode(p))
      for (const frame of decoded) expect(frame.length).toBe(FRAME_SAMPLES)
      const out = join(decoded)
      expect(out.length).toBe(toneFrames.length * FRAME_SAMPLES) // 2 s in, 2 s out
      const steady = out.subarray(SAMPLE_RATE / 4) // past the codec's start-up
      expect(Math.abs(dominantFrequency(steady, SAMPLE_RATE) - 440)).toBeLessThan(2)
      expect(Math.abs(levelDbfs(steady) - TONE_LEVEL_DBFS)).toBeLessThan(3)
      const kbps = packets.reduce((n, p) => n + p.length, 0) * 8 / 2 / 1000
      expect(kbps).toBeGreaterThan(OPUS_DEFAULT_BITRATE / 1000 * 0.5)
      expect(kbps).toBeLessThan(OPUS_DEFAULT_BITRATE / 1000 * 1.5)
      expect(decoder.stats).toMatchObject({ decoded: packets.length, concealed: 0, corrupt: 0 })
      encoder.close()
      decoder.close()
    })
  }

  it('is set up for calls: bitrate, FEC with 10% expected loss, 20 ms single-frame packets, 312 samples of look-ahead', () => {
    const encoder = createOpusEncoder({ fec: true })
    expect(encoder.settings()).toEqual({ bitrate: 24000, fec: true, expectedLossPercent: 10 })
    expect(encoder.lookaheadSamples).toBe(312)
    encoder.setBitrate(32000)
    encoder.setExpectedLoss(25)
    expect(encoder.settings()).toEqual({ bitrate: 32000, fec: true, expectedLossPercent: 25 })
    const info = parseOpusPacket(encoder.encode(toneFrames[0] as Int16Array))
    expect(info.frameCount).toBe(1)
    expect(info.durationSamples).toBe(FRAME_SAMPLES)
    expect(createOpusEncoder({ fec: false }).settings().fec).toBe(false)
  })

  it('refuses frames of the wrong size and bad settings', () => {
    const encoder: OpusEncoder = createOpusEncoder({ fec: true })
    expect(() => encoder.encode(new Int16Array(480))).toThrow(/960 samples/)
    expect(() => createOpusEncoder({ fec: true, bitrate: 100 })).toThrow(RangeError)
    expect(() => encoder.setExpectedLoss(101)).toThrow(RangeError)
    encoder.close()
    expect(() => encoder.encode(new Int16Array(FRAME_SAMPLES))).toThrow(/after close/)
  })

  it('conceals lost packets: 960 samples each, the tone carries on then fades, and the seam back is smooth', async () => {
    const encoder = createOpusEncoder({ fec: true })
    const decoder = await createOpusDecoder()
    const packets = toneFrames.map(f => encoder.encode(f))
    const out: Int16Array[] = []
    const lost = new Set([30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 60])
    for (let i = 0; i < packets.length; i++) {
      out.push(lost.has(i) ? decoder.decodeMissing(packets[i + 1]) : decoder.decode(packets[i] as Uint8Array))
    }
    for (const frame of out) expect(frame.length).toBe(FRAME_SAMPLES)
    expect(decoder.stats).toMatchObject({ decoded: packets.length - lost.size, concealed: lost.size, fecAvailable: lost.size })
    const audio = join(out)
    const frame = (i: number): Float32Array => audio.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES)
    // The first concealed frames continue the tone (libopus repeats the pitch period it last saw); a long gap fades out.
    expect(Math.abs(dominantFrequency(audio.subarray(30 * FRAME_SAMPLES, 33 * FRAME_SAMPLES), SAMPLE_RATE) - 440)).toBeLessThan(15)
    expect(levelDbfs(frame(30))).toBeGreaterThan(TONE_LEVEL_DBFS - 10)
    expect(levelDbfs(frame(39))).toBeLessThan(levelDbfs(frame(30)) - 10)
    // A 440 Hz sine at -6 dBFS moves at most 2π·440/48000·0.5 ≈ 0.029 per sample; allow the codec some slack, not a click.
    const smooth = 2 * Math.PI * 440 / SAMPLE_RATE * 0.5
    expect(maxStep(audio.subarray(29 * FRAME_SAMPLES, 42 * FRAME_SAMPLES))).toBeLessThan(3 * smooth)
    expect(maxStep(audio.subarray(59 * FRAME_SAMPLES, 62 * FRAME_SAMPLES))).toBeLessThan(3 * smooth)
    // And the tone is back after the gap.
    expect(Math.abs(dominantFrequency(audio.subarray(45 * FRAME_SAMPLES, 59 * FRAME_SAMPLES), SAMPLE_RATE) - 440)).toBeLessThan(2)
    decoder.close()
  })

  it('conceals before any packet with silence, and malformed packets without throwing', async () => {
    const decoder = await createOpusDecoder()
    const first = decoder.decodeMissing()
    expect(first.length).toBe(FRAME_SAMPLES)
    expect(first.every(v => v === 0)).toBe(true)
    for (const bad of [new Uint8Array(0), Uint8Array.of(0x03), Uint8Array.of(0x01, 1, 2, 3), new Uint8Array(4000)]) {
      expect(decoder.decode(bad).length).toBe(FRAME_SAMPLES)
    }
    expect(decoder.stats).toMatchObject({ decoded: 0, corrupt: 4, concealed: 5, fecAvailable: 0 })
    decoder.close()
    decoder.close()
    expect(() => decoder.decode(Uint8Array.of(0xF8, 0xFF, 0xFE))).toThrow(/after close/)
  })
})
