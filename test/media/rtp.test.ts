import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  MAX_RTP_PACKET_BYTES, OPUS_PAYLOAD_TYPE, OPUS_SAMPLES_PER_FRAME, advanceTimestamp, buildRtp, isRtcp, opusPacketSamples,
  packetKind, parseRtcp, parseRtp, sequenceDelta, timestampDelta, type RtpPacket
} from '../../node/media/rtp.js'

function parsed (bytes: Uint8Array): RtpPacket {
  const result = parseRtp(bytes)
  if (!result.ok) throw new Error(`expected RTP, got: ${result.reason}`)
  return result.packet
}

function hex (text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'))
}

// A compound SR + SDES exactly as node-datachannel's RtcpSrReporter sent it in a session.
const CAPTURED_SR = hex('80c80006000008aeeeb1992cf50b48008e8c6269000000010000000481ca0004000008ae0107636e616d652d42000000')
// An RTP packet as node-datachannel's RtpPacketizer sent it: marker set, PT 111, 4-byte payload.
const CAPTURED_RTP = hex('80ef81f6f5f18d51000008aef8fffe00')

describe('RTP header codec', () => {
  it('round-trips a plain Opus packet (12-byte header, version 2)', () => {
    const payload = Uint8Array.from([0xf8, 1, 2, 3, 4])
    const bytes = buildRtp({ payloadType: OPUS_PAYLOAD_TYPE, sequenceNumber: 4242, timestamp: 123456789, ssrc: 0xdeadbeef, payload })
    expect(bytes.length).toBe(12 + payload.length)
    expect(bytes[0]).toBe(0x80)
    expect(bytes[1]).toBe(111)
    const packet = parsed(bytes)
    expect(packet).toEqual({
      marker: false, payloadType: 111, sequenceNumber: 4242, timestamp: 123456789, ssrc: 0xdeadbeef,
      csrcs: [], payload, paddingLength: 0
    })
    expect(packetKind(bytes)).toBe('rtp')
  })

  it('round-trips marker, CSRCs, a header extension and padding', () => {
    const init = {
      marker: true,
      payloadType: 96,
      sequenceNumber: 0xffff,
      timestamp: 0xffffffff,
      ssrc: 1,
      csrcs: [0, 7, 0xffffffff],
      extension: { profile: 0xbede, data: Uint8Array.from([0x10, 0xaa, 0, 0, 0x21, 1, 2, 0]) },
      payload: randomBytes(100),
      paddingLength: 3
    }
    const bytes = buildRtp(init)
    expect(bytes.length).toBe(12 + 12 + 4 + 8 + 100 + 3)
    expect(bytes[0]).toBe(0x80 | 0x20 | 0x10 | 3)
    const packet = parsed(bytes)
    expect(packet.marker).toBe(true)
    expect(packet.payloadType).toBe(96)
    expect(packet.sequenceNumber).toBe(0xffff)
    expect(packet.timestamp).toBe(0xffffffff)
    expect(packet.csrcs).toEqual(init.csrcs)
    expect(packet.extension).toEqual(init.extension)
    expect(Buffer.from(packet.payload).equals(init.payload)).toBe(true)
    expect(packet.paddingLength).toBe(3)
    expect(parsed(buildRtp(packet))).toEqual(packet)
  })

  it('reads what node-datachannel sends', () => {
    const packet = parsed(CAPTURED_RTP)
    expect(packet.payloadType).toBe(OPUS_PAYLOAD_TYPE)
    expect(packet.marker).toBe(true)
    expect(packet.ssrc).toBe(0x8ae)
    expect(packet.sequenceNumber).toBe(0x81f6)
    expect([...packet.payload]).toEqual([0xf8, 0xff, 0xfe, 0x00])
  })

  it('refuses, without throwing, what is not a whole RTP packet', () => {
    const good = buildRtp({ payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: Uint8Array.from([1, 2, 3, 4]) })
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['short header', good.slice(0, 11)],
      ['version 0', Uint8Array.from([0x00, ...good.slice(1)])],
      ['version 1', Uint8Array.from([0x40, ...good.slice(1)])],
      ['version 3', Uint8Array.from([0xc0, ...good.slice(1)])],
      ['RTCP', CAPTURED_SR],
      ['CSRC list past the end', Uint8Array.from([0x8f, ...good.slice(1)])],
      ['extension header past the end', Uint8Array.from([0x90, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde])],
      ['extension longer than the packet', Uint8Array.from([0x90, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 9, 1, 2, 3, 4])],
      ['padding count zero', Uint8Array.from([0xa0, ...good.slice(1, -1), 0])],
      ['padding longer than the payload', Uint8Array.from([0xa0, ...good.slice(1, -1), 200])],
      ['oversized', new Uint8Array(MAX_RTP_PACKET_BYTES + 1).fill(0x80)]
    ]
    for (const [name, bytes] of cases) {
      const result = parseRtp(bytes)
      expect(result.ok, name).toBe(false)
      if (!result.ok) expect(result.reason.length, name).toBeGreaterThan(0)
    }
    expect(parseRtp('not bytes' as unknown as Uint8Array).ok).toBe(false)
  })

  it('never throws on random bytes, and a parse it accepts rebuilds to a packet with the same fields', () => {
    for (let i = 0; i < 5000; i++) {
      const bytes = randomBytes(i % 64 === 0 ? 1600 : (i % 80))
      if (i % 2 === 0 && bytes.length > 0) bytes[0] = 0x80 | ((bytes[0] as number) & 0x3f)
      const result = parseRtp(bytes)
      expect(typeof result.ok).toBe('boolean')
      expect(() => packetKind(bytes)).not.toThrow()
      expect(() => parseRtcp(bytes)).not.toThrow()
      if (result.ok && (result.packet.payloadType < 64 || result.packet.payloadType > 95)) {
        expect(parsed(buildRtp(result.packet))).toEqual(result.packet)
      }
    }
  })

  it('refuses to build fields out of range', () => {
    const base = { payloadType: 111, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array(1) }
    expect(() => buildRtp({ ...base, payloadType: 128 })).toThrow(RangeError)
    expect(() => buildRtp({ ...base, payloadType: 72 })).toThrow(/RTCP/)
    expect(() => buildRtp({ ...base, sequenceNumber: 65536 })).toThrow(RangeError)
    expect(() => buildRtp({ ...base, timestamp: -1 })).toThrow(RangeError)
    expect(() => buildRtp({ ...base, ssrc: 2 ** 32 })).toThrow(RangeError)
    expect(() => buildRtp({ ...base, csrcs: new Array<number>(16).fill(1) })).toThrow(RangeError)
    expect(() => buildRtp({ ...base, extension: { profile: 1, data: new Uint8Array(3) } })).toThrow(RangeError)
    expect(() => buildRtp({ ...base, paddingLength: 256 })).toThrow(RangeError)
    expect(() => buildRtp({ ...base, payload: new Uint8Array(MAX_RTP_PACKET_BYTES) })).toThrow(RangeError)
  })
})

describe('RTP/RTCP demultiplexing (RFC 5761)', () => {
  it('calls second bytes 192–223 RTCP and the rest RTP', () => {
    const header = (second: number): Uint8Array => Uint8Array.from([0x80, second, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(packetKind(header(191))).toBe('rtp')
    expect(packetKind(header(192))).toBe('rtcp')
    expect(packetKind(header(200))).toBe('rtcp')
    expect(packetKind(header(223))).toBe('rtcp')
    expect(packetKind(header(224))).toBe('rtp')
    expect(packetKind(header(111))).toBe('rtp')
    expect(packetKind(Uint8Array.from([0x80, 200, 0, 1]))).toBe('invalid')
    expect(packetKind(Uint8Array.from([0x40, 111, ...new Array<number>(10).fill(0)]))).toBe('invalid')
    expect(isRtcp(CAPTURED_SR)).toBe(true)
    expect(isRtcp(CAPTURED_RTP)).toBe(false)
  })

  it('walks a compound SR + SDES and refuses truncated or inconsistent RTCP', () => {
    const result = parseRtcp(CAPTURED_SR)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.packets.map(p => p.packetType)).toEqual([200, 202])
    const sr = result.packets[0]
    expect(sr?.ssrc).toBe(0x8ae)
    expect(sr?.senderInfo?.ntpSeconds).toBe(0xeeb1992c)
    expect(sr?.senderInfo?.packetCount).toBe(1)
    expect(sr?.senderInfo?.octetCount).toBe(4)
    expect(parseRtcp(CAPTURED_SR.slice(0, 30)).ok).toBe(false)
    expect(parseRtcp(CAPTURED_SR.slice(0, 6)).ok).toBe(false)
    const badLength = CAPTURED_SR.slice()
    badLength[3] = 0x40
    expect(parseRtcp(badLength).ok).toBe(false)
    expect(parseRtcp(CAPTURED_RTP).ok).toBe(false)
    const shortSr = Uint8Array.from([0x80, 200, 0, 1, 0, 0, 0, 1])
    expect(parseRtcp(shortSr).ok).toBe(false)
  })
})

describe('sequence numbers and timestamps', () => {
  it('compare across the wrap', () => {
    expect(sequenceDelta(1, 0xffff)).toBe(2)
    expect(sequenceDelta(0xffff, 1)).toBe(-2)
    expect(sequenceDelta(100, 100)).toBe(0)
    expect(sequenceDelta(0x8000, 0)).toBe(-32768)
    expect(timestampDelta(959, 0xffffffff)).toBe(960)
    expect(timestampDelta(0, 960)).toBe(-960)
  })

  it('advance 960 per 20 ms frame, wrapping at 2^32', () => {
    expect(OPUS_SAMPLES_PER_FRAME).toBe(960)
    expect(advanceTimestamp(0)).toBe(960)
    expect(advanceTimestamp(0xffffffff - 100)).toBe(859)
    expect(advanceTimestamp(10, 1920)).toBe(1930)
  })
})

describe('Opus packet duration from the TOC (RFC 6716 §3.1)', () => {
  it('reads frame sizes and counts', () => {
    expect(opusPacketSamples(Uint8Array.from([0xf8]))).toBe(960) // config 31 CELT FB 20 ms, code 0
    expect(opusPacketSamples(Uint8Array.from([0x78, 0xaa]))).toBe(960) // config 15 hybrid FB 20 ms
    expect(opusPacketSamples(Uint8Array.from([0x08]))).toBe(960) // config 1 SILK NB 20 ms
    expect(opusPacketSamples(Uint8Array.from([0x18]))).toBe(2880) // config 3 SILK NB 60 ms
    expect(opusPacketSamples(Uint8Array.from([0xe0]))).toBe(120) // config 28 CELT FB 2.5 ms
    expect(opusPacketSamples(Uint8Array.from([0xf9, 1]))).toBe(1920) // code 1: two frames
    expect(opusPacketSamples(Uint8Array.from([0xfb, 0x03]))).toBe(2880) // code 3: three frames
    expect(opusPacketSamples(Uint8Array.from([0x1b, 0x03]))).toBe(undefined) // 3 × 60 ms > 120 ms
    expect(opusPacketSamples(Uint8Array.from([0xfb, 0x00]))).toBe(undefined) // code 3, zero frames
    expect(opusPacketSamples(Uint8Array.from([0xfb]))).toBe(undefined) // code 3, no count byte
    expect(opusPacketSamples(new Uint8Array(0))).toBe(undefined)
  })
})
