// TURN over TCP framing (RFC 8656 §12.5): STUN and ChannelData back to back on a stream, in any
// split; ChannelData padded to 4 bytes; garbage and oversize messages end the stream with a reason.
import { describe, expect, it } from 'vitest'
import { METHOD } from '../../node/relay/constants.js'
import { encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { encodeStunMessage } from '../../node/relay/stun/message.js'
import {
  fromStreamFrame, MAX_STREAM_FRAME_BYTES, streamFrameSize, toStreamFrame, TurnStreamDecoder
} from '../../node/relay/stun/stream.js'
import { seededRandomBytes } from '../helpers/random.js'

const tx = (n: number): Uint8Array => new Uint8Array(12).fill(n)
const binding = (n: number): Uint8Array => encodeStunMessage({ method: METHOD.BINDING, class: 'request', transactionId: tx(n), attributes: [] }, { fingerprint: true })
const channelData = (length: number, fill = 7): Uint8Array => encodeChannelData(0x4001, new Uint8Array(length).fill(fill), { pad: true })

describe('TurnStreamDecoder', () => {
  it('splits coalesced messages: STUN, padded ChannelData of every length mod 4, STUN', () => {
    const messages = [binding(1), channelData(5), channelData(6), channelData(7), channelData(8), binding(2)]
    const decoder = new TurnStreamDecoder()
    const pushed = decoder.push(Buffer.concat(messages))
    expect(pushed.ok).toBe(true)
    expect(pushed.frames.map(f => Buffer.from(f).toString('hex'))).toEqual(messages.map(m => Buffer.from(m).toString('hex')))
    expect(pushed.frames.slice(1, 5).map(f => f.length)).toEqual([12, 12, 12, 12])
    expect(decoder.buffered).toBe(0)
  })

  it('joins messages split at every byte boundary, one byte per push too', () => {
    const stream = Buffer.concat([channelData(3), binding(3), channelData(161)])
    for (let cut = 1; cut < stream.length; cut++) {
      const decoder = new TurnStreamDecoder()
      const first = decoder.push(stream.subarray(0, cut))
      const second = decoder.push(stream.subarray(cut))
      expect(first.ok && second.ok).toBe(true)
      expect(Buffer.concat([...first.frames, ...second.frames]).equals(stream)).toBe(true)
      expect(first.frames.length + second.frames.length).toBe(3)
    }
    const decoder = new TurnStreamDecoder()
    const frames = [...stream].flatMap(byte => decoder.push(Uint8Array.of(byte)).frames)
    expect(frames.map(f => f.length)).toEqual([8, 28, 168])
  })

  it('returns copies: the socket may reuse the chunk it pushed', () => {
    const chunk = Buffer.from(channelData(4, 9))
    const decoder = new TurnStreamDecoder()
    const [frame] = decoder.push(chunk).frames
    chunk.fill(0)
    expect(frame?.[4]).toBe(9)
  })

  it('refuses a message over the size limit as soon as its header shows it, and everything after', () => {
    const decoder = new TurnStreamDecoder(1024)
    const header = Uint8Array.of(0x40, 0x01, 0x04, 0x00) // ChannelData announcing 1024 bytes: 1028 > 1024
    const pushed = decoder.push(Buffer.concat([binding(1), header]))
    expect(pushed).toEqual({ ok: false, frames: [expect.any(Uint8Array)], reason: 'ChannelData message of 1028 bytes is over the 1024-byte limit' })
    expect(decoder.buffered).toBe(0)
    expect(decoder.push(binding(2))).toEqual({ ok: false, frames: [], reason: 'ChannelData message of 1028 bytes is over the 1024-byte limit' })
  })

  it('names what is wrong with garbage: the first bits, the size, the magic cookie, a STUN length not a multiple of 4', () => {
    expect(new TurnStreamDecoder().push(Uint8Array.of(0xc3, 0, 0, 0))).toMatchObject({ ok: false, reason: 'neither STUN nor ChannelData: first byte 0xc3' })
    // 'G' starts like ChannelData (0b01...): its "length" gives it away.
    expect(new TurnStreamDecoder().push(Buffer.from('GET / HTTP/1.1\r\n'))).toMatchObject({ ok: false, reason: 'ChannelData message of 21540 bytes is over the 8192-byte limit' })
    // A TLS ClientHello starts like STUN (0x16): no magic cookie.
    expect(new TurnStreamDecoder().push(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01))).toMatchObject({ ok: false, reason: 'not STUN: wrong magic cookie' })
    const badCookie = Uint8Array.from(binding(1))
    badCookie[5] = 0
    expect(new TurnStreamDecoder().push(badCookie)).toMatchObject({ ok: false, reason: 'not STUN: wrong magic cookie' })
    const badLength = Uint8Array.from(binding(1))
    badLength[3] = 5
    expect(new TurnStreamDecoder().push(badLength)).toMatchObject({ ok: false, reason: 'not STUN: message length 5 is not a multiple of 4' })
    // A STUN message larger than the limit (the default limit; the header alone is enough).
    expect(streamFrameSize(Uint8Array.of(0, 1, 0xff, 0xfc, 0x21, 0x12, 0xa4, 0x42))).toEqual({ ok: false, reason: 'STUN message of 65552 bytes is over the 8192-byte limit' })
  })

  it('waits for more while a header is incomplete, and holds less than one message', () => {
    const decoder = new TurnStreamDecoder()
    expect(decoder.push(Uint8Array.of(0x00, 0x01, 0x00))).toEqual({ ok: true, frames: [] })
    expect(decoder.buffered).toBe(3)
    expect(streamFrameSize(Uint8Array.of(0x40, 0x01, 0x00))).toBeUndefined()
    expect(streamFrameSize(new Uint8Array(0))).toBeUndefined()
  })

  it('survives random garbage: a result each push, never a throw, never more held than the limit', () => {
    const random = seededRandomBytes('stream-garbage')
    for (let run = 0; run < 500; run++) {
      const decoder = new TurnStreamDecoder(2048)
      for (let i = 0; i < 8; i++) {
        const result = decoder.push(random(1 + (run % 97)))
        expect(decoder.buffered).toBeLessThan(2048)
        if (!result.ok) { expect(result.reason.length).toBeGreaterThan(0); break }
      }
    }
  })

  it('checks its limit', () => {
    expect(() => new TurnStreamDecoder(MAX_STREAM_FRAME_BYTES + 1)).toThrow(RangeError)
    expect(() => new TurnStreamDecoder(4)).toThrow(/maxFrameBytes must be an integer/)
  })
})

describe('datagrams to and from stream frames', () => {
  it('pads ChannelData for the stream and strips the padding for the datagram', () => {
    const datagram = encodeChannelData(0x4002, Uint8Array.of(1, 2, 3, 4, 5))
    expect(datagram.length).toBe(9)
    const frame = toStreamFrame(datagram)
    expect(frame?.length).toBe(12)
    expect(Buffer.from(fromStreamFrame(frame as Uint8Array)).equals(Buffer.from(datagram))).toBe(true)
    // Already padded (up to 3 bytes may follow over UDP): kept as it is.
    const paddedDatagram = encodeChannelData(0x4002, Uint8Array.of(1, 2, 3, 4, 5), { pad: true })
    expect(toStreamFrame(paddedDatagram)).toBe(paddedDatagram)
    expect(toStreamFrame(binding(4))).toEqual(binding(4))
  })

  it('refuses datagrams that are not one whole message', () => {
    expect(toStreamFrame(Uint8Array.of(0xff, 0, 0, 0))).toBeUndefined()
    expect(toStreamFrame(Uint8Array.of(0x40, 0x01))).toBeUndefined()
    expect(toStreamFrame(encodeChannelData(0x4001, new Uint8Array(8)).subarray(0, 10))).toBeUndefined() // truncated
    expect(toStreamFrame(Buffer.concat([encodeChannelData(0x4001, new Uint8Array(8)), new Uint8Array(4)]))).toBeUndefined() // more than padding after it
    expect(toStreamFrame(binding(5).subarray(0, 24))).toBeUndefined() // STUN shorter than its header says
  })
})
