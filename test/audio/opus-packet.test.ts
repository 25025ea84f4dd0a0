import { describe, expect, it } from 'vitest'
import { OpusPacketError, parseOpusPacket } from '../../node/media/audio/opus-packet.js'

/** TOC byte: config (0–31), stereo flag, frame-count code (0–3). */
const toc = (config: number, code: number, stereo = false): number => (config << 3) | (stereo ? 4 : 0) | code

describe('parseOpusPacket (RFC 6716 §3)', () => {
  it('reads mode, bandwidth and duration from the TOC byte', () => {
    expect(parseOpusPacket(Uint8Array.of(toc(9, 0), 1, 2))).toEqual({
      config: 9, mode: 'silk', bandwidth: 'wideband', stereo: false, frameCount: 1, samplesPerFrame: 960, durationSamples: 960
    })
    expect(parseOpusPacket(Uint8Array.of(toc(3, 0)))).toMatchObject({ mode: 'silk', bandwidth: 'narrowband', samplesPerFrame: 2880 })
    expect(parseOpusPacket(Uint8Array.of(toc(13, 0, true), 0))).toMatchObject({ mode: 'hybrid', bandwidth: 'superwideband', stereo: true, samplesPerFrame: 960 })
    expect(parseOpusPacket(Uint8Array.of(toc(14, 0)))).toMatchObject({ mode: 'hybrid', bandwidth: 'fullband', samplesPerFrame: 480 })
    expect(parseOpusPacket(Uint8Array.of(toc(16, 0)))).toMatchObject({ mode: 'celt', bandwidth: 'narrowband', samplesPerFrame: 120 })
    expect(parseOpusPacket(Uint8Array.of(toc(31, 0)))).toMatchObject({ mode: 'celt', bandwidth: 'fullband', samplesPerFrame: 960 })
  })

  it('counts frames for codes 1, 2 and 3 (CBR, VBR, padded)', () => {
    expect(parseOpusPacket(Uint8Array.of(toc(31, 1), 1, 2, 3, 4)).frameCount).toBe(2)
    expect(parseOpusPacket(Uint8Array.of(toc(31, 2), 1, 9, 8, 7)).frameCount).toBe(2)
    expect(parseOpusPacket(Uint8Array.of(toc(31, 3), 3, 1, 2, 3, 4, 5, 6)).durationSamples).toBe(2880) // CBR 3 × 2 bytes
    expect(parseOpusPacket(Uint8Array.of(toc(31, 3), 0x80 | 3, 1, 2, 9, 8, 8, 7, 7, 7)).frameCount).toBe(3) // VBR 1, 2, rest
    expect(parseOpusPacket(Uint8Array.of(toc(31, 3), 0x40 | 2, 2, 5, 5, 6, 6, 0, 0)).frameCount).toBe(2) // 2 bytes of padding
    const longLength = new Uint8Array(2 + 2 + 300 + 10)
    longLength.set([toc(31, 2), 252, 12]) // first frame 252 + 4 × 12 = 300 bytes
    expect(parseOpusPacket(longLength.subarray(0, 3 + 300 + 10)).frameCount).toBe(2)
  })

  const bad: Array<[string, Uint8Array, RegExp]> = [
    ['an empty packet', new Uint8Array(0), /R1/],
    ['a code 0 frame over 1275 bytes', Uint8Array.from({ length: 1277 }, (_, i) => i === 0 ? toc(31, 0) : 0), /R2/],
    ['a code 1 packet with an odd payload', Uint8Array.of(toc(31, 1), 1, 2, 3), /R3/],
    ['a code 2 first frame longer than the packet', Uint8Array.of(toc(31, 2), 9, 1, 2), /R4/],
    ['a code 2 length cut off', Uint8Array.of(toc(31, 2), 253), /truncated/],
    ['a code 3 packet without a count byte', Uint8Array.of(toc(31, 3)), /R6/],
    ['a code 3 packet with no frames', Uint8Array.of(toc(31, 3), 0), /R5/],
    ['a code 3 packet over 120 ms', Uint8Array.of(toc(3, 3), 3, 0, 0, 0), /R5/], // 3 × 60 ms
    ['a CBR code 3 payload that does not split evenly', Uint8Array.of(toc(31, 3), 2, 1, 2, 3), /R6/],
    ['a VBR code 3 packet shorter than its lengths', Uint8Array.of(toc(31, 3), 0x80 | 2, 9, 1), /R7/],
    ['padding longer than the packet', Uint8Array.of(toc(31, 3), 0x40 | 1, 200, 1), /R6/],
    ['padding length cut off', Uint8Array.of(toc(31, 3), 0x40 | 1, 255), /truncated padding/]
  ]
  for (const [name, packet, message] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => parseOpusPacket(packet)).toThrow(OpusPacketError)
      expect(() => parseOpusPacket(packet)).toThrow(message)
    })
  }
})
