// RTP (RFC 3550) packets as they cross a voxmesh media session, and the Opus payload format
// (RFC 7587): a dynamic payload type the SDP negotiates (111 in voxmesh's offers), a 48 kHz RTP
// clock whatever the encoder's sampling rate, 960 timestamp units per 20 ms frame. RTP and RTCP
// share one port (rtcp-mux, RFC 5761): a packet whose second byte is 192–223 is RTCP.
//
// Parsing is bounded and total: any byte string gives a result object, never an exception.

export const RTP_VERSION = 2
/** Fixed header: V/P/X/CC, M/PT, sequence number, timestamp, SSRC. */
export const RTP_HEADER_BYTES = 12
/** Largest packet parsed (an Ethernet MTU); longer input is refused unread. */
export const MAX_RTP_PACKET_BYTES = 1500
export const MAX_CSRC_COUNT = 15

/**
 * The dynamic payload type voxmesh gives Opus in its offers (a=rtpmap:111 opus/48000/2). A
 * peer's offer may use any other dynamic type (Firefox: 109); the session then uses that one.
 */
export const OPUS_PAYLOAD_TYPE = 111
/** RFC 7587 §4.1: the RTP clock of Opus is always 48 kHz. */
export const OPUS_CLOCK_RATE = 48_000
export const OPUS_FRAME_MS = 20
/** Timestamp advance per 20 ms frame. */
export const OPUS_SAMPLES_PER_FRAME = OPUS_CLOCK_RATE * OPUS_FRAME_MS / 1000
/** RFC 6716 §3.2.1: one Opus frame is at most 1275 bytes. */
export const MAX_OPUS_FRAME_BYTES = 1275
/** RFC 6716 §3.2.5: an Opus packet holds at most 120 ms of audio. */
export const MAX_OPUS_PACKET_SAMPLES = 5760

export interface RtpHeaderExtension {
  /** The 16-bit "defined by profile" field (0xBEDE for RFC 8285 one-byte headers). */
  profile: number
  /** Extension data, a multiple of 4 bytes. */
  data: Uint8Array
}

export interface RtpPacket {
  marker: boolean
  payloadType: number
  sequenceNumber: number
  timestamp: number
  ssrc: number
  csrcs: number[]
  extension?: RtpHeaderExtension
  payload: Uint8Array
  /** Padding bytes after the payload (the last one counts them); 0 when the P bit is clear. */
  paddingLength: number
}

export type RtpPacketInit =
  Pick<RtpPacket, 'payloadType' | 'sequenceNumber' | 'timestamp' | 'ssrc' | 'payload'> &
  Partial<Pick<RtpPacket, 'marker' | 'csrcs' | 'extension' | 'paddingLength'>>

export type RtpParseResult = { ok: true, packet: RtpPacket } | { ok: false, reason: string }

export type PacketKind = 'rtp' | 'rtcp' | 'invalid'

/**
 * RFC 5761 §4 demultiplexing: version 2 and a second byte of 192–223 is RTCP (SR 200, RR 201,
 * SDES 202, BYE 203, APP 204, RTPFB 205, PSFB 206, ...); other version-2 packets are RTP.
 */
export function packetKind (bytes: Uint8Array): PacketKind {
  if (bytes.length < 2 || bytes.length > MAX_RTP_PACKET_BYTES) return 'invalid'
  if ((bytes[0] as number) >> 6 !== RTP_VERSION) return 'invalid'
  const second = bytes[1] as number
  if (second >= 192 && second <= 223) return bytes.length >= 8 ? 'rtcp' : 'invalid'
  return bytes.length >= RTP_HEADER_BYTES ? 'rtp' : 'invalid'
}

export function isRtcp (bytes: Uint8Array): boolean {
  return packetKind(bytes) === 'rtcp'
}

function fail (reason: string): RtpParseResult {
  return { ok: false, reason }
}

/** A plain Uint8Array copy (a Buffer's slice() would be a view of the caller's memory). */
function copyOf (bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end))
}

function u16 (bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 8) | (bytes[at + 1] as number)
}

function u32 (bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) |
    ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0
}

/** Parses one RTP packet; RTCP, truncated, oversized or inconsistent input gives `ok: false`. */
export function parseRtp (bytes: Uint8Array): RtpParseResult {
  if (!(bytes instanceof Uint8Array)) return fail('not bytes')
  if (bytes.length > MAX_RTP_PACKET_BYTES) return fail(`longer than ${MAX_RTP_PACKET_BYTES} bytes`)
  if (bytes.length < RTP_HEADER_BYTES) return fail('shorter than the 12-byte RTP header')
  const first = bytes[0] as number
  if (first >> 6 !== RTP_VERSION) return fail(`version ${first >> 6}, not 2`)
  const second = bytes[1] as number
  if (second >= 192 && second <= 223) return fail('an RTCP packet')
  const hasPadding = (first & 0x20) !== 0
  const hasExtension = (first & 0x10) !== 0
  const csrcCount = first & 0x0f
  let offset = RTP_HEADER_BYTES
  if (bytes.length < offset + 4 * csrcCount) return fail('truncated CSRC list')
  const csrcs: number[] = []
  for (let i = 0; i < csrcCount; i++, offset += 4) csrcs.push(u32(bytes, offset))
  let extension: RtpHeaderExtension | undefined
  if (hasExtension) {
    if (bytes.length < offset + 4) return fail('truncated header extension')
    const profile = u16(bytes, offset)
    const words = u16(bytes, offset + 2)
    offset += 4
    if (bytes.length < offset + 4 * words) return fail('header extension longer than the packet')
    extension = { profile, data: copyOf(bytes, offset, offset + 4 * words) }
    offset += 4 * words
  }
  let end = bytes.length
  let paddingLength = 0
  if (hasPadding) {
    paddingLength = bytes[bytes.length - 1] as number
    if (paddingLength === 0) return fail('padding bit set with a zero padding count')
    if (offset + paddingLength > bytes.length) return fail('padding longer than the payload')
    end -= paddingLength
  }
  const packet: RtpPacket = {
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequenceNumber: u16(bytes, 2),
    timestamp: u32(bytes, 4),
    ssrc: u32(bytes, 8),
    csrcs,
    payload: copyOf(bytes, offset, end),
    paddingLength
  }
  if (extension !== undefined) packet.extension = extension
  return { ok: true, packet }
}

function checkUint (name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer in 0..${max}, got ${String(value)}`)
  }
}

/** Serialises an RTP packet; throws RangeError on fields out of range (a caller's bug). */
export function buildRtp (init: RtpPacketInit): Uint8Array {
  const csrcs = init.csrcs ?? []
  const paddingLength = init.paddingLength ?? 0
  checkUint('payloadType', init.payloadType, 127)
  checkUint('sequenceNumber', init.sequenceNumber, 0xffff)
  checkUint('timestamp', init.timestamp, 0xffffffff)
  checkUint('ssrc', init.ssrc, 0xffffffff)
  checkUint('paddingLength', paddingLength, 255)
  if (init.payloadType >= 64 && init.payloadType <= 95) {
    throw new RangeError(`payloadType ${init.payloadType} collides with RTCP under rtcp-mux (RFC 5761 §4)`)
  }
  if (csrcs.length > MAX_CSRC_COUNT) throw new RangeError(`at most ${MAX_CSRC_COUNT} CSRCs`)
  csrcs.forEach((csrc, i) => { checkUint(`csrcs[${i}]`, csrc, 0xffffffff) })
  const extension = init.extension
  if (extension !== undefined) {
    checkUint('extension.profile', extension.profile, 0xffff)
    if (extension.data.length % 4 !== 0 || extension.data.length / 4 > 0xffff) {
      throw new RangeError('extension.data must be a multiple of 4 bytes, at most 262140')
    }
  }
  const extensionBytes = extension === undefined ? 0 : 4 + extension.data.length
  const length = RTP_HEADER_BYTES + 4 * csrcs.length + extensionBytes + init.payload.length + paddingLength
  if (length > MAX_RTP_PACKET_BYTES) throw new RangeError(`an RTP packet of ${length} bytes exceeds ${MAX_RTP_PACKET_BYTES}`)
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  out[0] = (RTP_VERSION << 6) | (paddingLength > 0 ? 0x20 : 0) | (extension !== undefined ? 0x10 : 0) | csrcs.length
  out[1] = (init.marker === true ? 0x80 : 0) | init.payloadType
  view.setUint16(2, init.sequenceNumber)
  view.setUint32(4, init.timestamp)
  view.setUint32(8, init.ssrc)
  let offset = RTP_HEADER_BYTES
  for (const csrc of csrcs) { view.setUint32(offset, csrc); offset += 4 }
  if (extension !== undefined) {
    view.setUint16(offset, extension.profile)
    view.setUint16(offset + 2, extension.data.length / 4)
    out.set(extension.data, offset + 4)
    offset += 4 + extension.data.length
  }
  out.set(init.payload, offset)
  if (paddingLength > 0) out[length - 1] = paddingLength
  return out
}

/** a − b in sequence-number space, in −32768..32767 (positive: a is newer). */
export function sequenceDelta (a: number, b: number): number {
  return ((((a - b) & 0xffff) + 0x8000) & 0xffff) - 0x8000
}

/** a − b in RTP-timestamp space, as a signed 32-bit number (positive: a is later). */
export function timestampDelta (a: number, b: number): number {
  return (a - b) | 0
}

/** The RTP timestamp `samples` 48 kHz units after `timestamp`, wrapping at 2^32. */
export function advanceTimestamp (timestamp: number, samples = OPUS_SAMPLES_PER_FRAME): number {
  return (timestamp + samples) >>> 0
}

// Opus frame sizes per TOC configuration (RFC 6716 §3.1), in 48 kHz samples:
// 0–11 SILK 10/20/40/60 ms, 12–15 hybrid 10/20 ms, 16–31 CELT 2.5/5/10/20 ms.
function opusFrameSamples (config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4] as number
  if (config < 16) return [480, 960][config % 2] as number
  return [120, 240, 480, 960][config % 4] as number
}

/**
 * The audio an Opus packet carries, in 48 kHz samples, from its TOC byte (and frame-count byte
 * for code 3). undefined for an empty packet or one claiming more than 120 ms.
 */
export function opusPacketSamples (payload: Uint8Array): number | undefined {
  if (payload.length === 0 || payload.length > MAX_RTP_PACKET_BYTES) return undefined
  const toc = payload[0] as number
  const perFrame = opusFrameSamples(toc >> 3)
  let frames: number
  switch (toc & 0x03) {
    case 0: frames = 1; break
    case 1: case 2: frames = 2; break
    default: {
      if (payload.length < 2) return undefined
      frames = (payload[1] as number) & 0x3f
      if (frames === 0) return undefined
    }
  }
  const samples = frames * perFrame
  return samples <= MAX_OPUS_PACKET_SAMPLES ? samples : undefined
}

export interface RtcpPacketSummary {
  /** 200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 205 RTPFB, 206 PSFB, ... */
  packetType: number
  /** The 5-bit count / format field. */
  count: number
  /** The first SSRC of the packet (the sender's for SR, RR, RTPFB, PSFB). */
  ssrc: number
  /** Present for a sender report. */
  senderInfo?: { ntpSeconds: number, ntpFraction: number, rtpTimestamp: number, packetCount: number, octetCount: number }
}

export type RtcpParseResult = { ok: true, packets: RtcpPacketSummary[] } | { ok: false, reason: string }

/** Most packets walked in one compound RTCP packet. */
export const MAX_RTCP_PACKETS_PER_COMPOUND = 16

/** Walks a compound RTCP packet (RFC 3550 §6.1), checking every length; never throws. */
export function parseRtcp (bytes: Uint8Array): RtcpParseResult {
  if (!(bytes instanceof Uint8Array)) return { ok: false, reason: 'not bytes' }
  if (bytes.length > MAX_RTP_PACKET_BYTES) return { ok: false, reason: `longer than ${MAX_RTP_PACKET_BYTES} bytes` }
  if (packetKind(bytes) !== 'rtcp') return { ok: false, reason: 'not an RTCP packet' }
  const packets: RtcpPacketSummary[] = []
  let offset = 0
  while (offset < bytes.length) {
    if (packets.length === MAX_RTCP_PACKETS_PER_COMPOUND) return { ok: false, reason: 'too many packets in a compound' }
    if (bytes.length - offset < 8) return { ok: false, reason: 'truncated RTCP header' }
    const first = bytes[offset] as number
    if (first >> 6 !== RTP_VERSION) return { ok: false, reason: 'RTCP version is not 2' }
    const packetType = bytes[offset + 1] as number
    if (packetType < 192 || packetType > 223) return { ok: false, reason: `packet type ${packetType} is not RTCP` }
    const length = 4 * (u16(bytes, offset + 2) + 1)
    if (offset + length > bytes.length) return { ok: false, reason: 'RTCP length field past the end' }
    const summary: RtcpPacketSummary = { packetType, count: first & 0x1f, ssrc: u32(bytes, offset + 4) }
    if (packetType === 200) {
      if (length < 28) return { ok: false, reason: 'sender report too short' }
      summary.senderInfo = {
        ntpSeconds: u32(bytes, offset + 8),
        ntpFraction: u32(bytes, offset + 12),
        rtpTimestamp: u32(bytes, offset + 16),
        packetCount: u32(bytes, offset + 20),
        octetCount: u32(bytes, offset + 24)
      }
    }
    packets.push(summary)
    offset += length
  }
  return { ok: true, packets }
}
