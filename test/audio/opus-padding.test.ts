// Side data as Opus padding: round trips, stays playable by any decoder, and leaves every other
// packet alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attachSideData, detachSideData, MAX_SIDE_DATA_BYTES } from '../../node/media/audio/opus-padding.js'
import { parseOpusPacket } from '../../node/media/audio/opus-packet.js'
import { createOpusDecoder, createOpusEncoder, type OpusDecoder, type OpusEncoder } from '../../node/media/audio/opus.js'
import { FRAME_SAMPLES, floatToInt16 } from '../../node/media/audio/pcm.js'
import { tone } from './helpers.js'

let encoder: OpusEncoder
let packets: Uint8Array[]
beforeAll(async () => {
  encoder = createOpusEncoder({ fec: true })
  const pcm = floatToInt16(tone(440, 48_000, 0.2))
  packets = []
  for (let at = 0; at + FRAME_SAMPLES <= pcm.length; at += FRAME_SAMPLES) packets.push(encoder.encode(pcm.subarray(at, at + FRAME_SAMPLES)))
})
afterAll(() => { encoder.close() })

const data = Uint8Array.of(1, 0, 0, 0, 7)

describe('Opus side data (padding, RFC 6716 §3.2.5)', () => {
  it('round-trips: the original packet comes back byte for byte, with the data', () => {
    for (const packet of packets) {
      expect((packet[0] as number) & 0x03).toBe(0)
      const tagged = attachSideData(packet, data) as Uint8Array
      expect(tagged.length).toBe(packet.length + 2 + 2 + data.length)
      expect(parseOpusPacket(tagged)).toMatchObject({ frameCount: 1, durationSamples: 960 })
      const back = detachSideData(tagged)
      expect(Buffer.from(back.packet).equals(Buffer.from(packet))).toBe(true)
      expect([...(back.data as Uint8Array)]).toEqual([...data])
    }
  })

  it('a decoder that knows nothing of it plays the tagged packet exactly like the original', async () => {
    const plain: OpusDecoder = await createOpusDecoder()
    const tagged: OpusDecoder = await createOpusDecoder()
    try {
      for (const packet of packets) {
        const a = plain.decode(packet)
        const b = tagged.decode(attachSideData(packet, Uint8Array.from({ length: MAX_SIDE_DATA_BYTES }, (_, i) => i)) as Uint8Array)
        expect(b.length).toBe(FRAME_SAMPLES)
        expect([...b]).toEqual([...a])
      }
    } finally {
      plain.close()
      tagged.close()
    }
  })

  it('does not tag multi-frame packets, empty data or data past one padding byte', () => {
    const packet = packets[0] as Uint8Array
    expect(attachSideData(Uint8Array.of((packet[0] as number) | 1, 1, 2), data)).toBeUndefined()
    expect(attachSideData(packet, new Uint8Array(0))).toBeUndefined()
    expect(attachSideData(packet, new Uint8Array(MAX_SIDE_DATA_BYTES + 1))).toBeUndefined()
    expect(attachSideData(new Uint8Array(0), data)).toBeUndefined()
  })

  it('leaves foreign padding, other packet codes and truncated packets untouched', () => {
    const foreign = Uint8Array.of(0x7b, 0x41, 3, 9, 9, 0, 0, 0) // padding without the magic
    expect(detachSideData(foreign)).toEqual({ packet: foreign })
    const code0 = packets[0] as Uint8Array
    expect(detachSideData(code0)).toEqual({ packet: code0 })
    const tagged = attachSideData(code0, data) as Uint8Array
    expect(detachSideData(tagged.subarray(0, 3 + 1))).toEqual({ packet: tagged.subarray(0, 4) }) // padding longer than the packet
    expect(detachSideData(Uint8Array.of(0x7b, 0x41, 255, 0x56, 0x58)).data).toBeUndefined()
  })

  it('never throws on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: i % 40 }, () => Math.floor(Math.random() * 256))
      if (i % 3 === 0 && bytes.length > 2) { bytes[0] = (bytes[0] as number) | 3; bytes[1] = 0x41 }
      const out = detachSideData(bytes)
      expect(out.packet.length).toBeLessThanOrEqual(bytes.length)
    }
  })
})
