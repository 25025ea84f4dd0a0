// STUN and ChannelData on a byte stream (TURN over TCP, RFC 8656 §12.5 / RFC 6062 framing):
// messages follow each other with no length prefix of their own. A STUN message is its 20-byte
// header plus the length it announces; ChannelData is its 4-byte header plus its data, padded
// to a multiple of 4 bytes. The first two bits tell them apart (00 STUN, 01 ChannelData).
//
// TurnStreamDecoder is sans-IO: push() the chunks a socket reads, in any split, and get back
// the whole messages in them. It holds at most one partial message (bounded by maxFrameBytes).
// Garbage or an oversize message is a reason: the stream cannot be resynchronised after it,
// so the connection is closed (the decoder refuses everything after its first error).
import { CHANNEL_DATA_HEADER_BYTES, HEADER_BYTES, MAGIC_COOKIE } from '../constants.js'
import { padded, readU16, readU32 } from './bytes.js'

/**
 * The largest message a TURN stream carries by default, padding included: the largest
 * datagram voxmesh relays (audio RTP, DTLS records and ICE checks stay under an Ethernet MTU)
 * with room to spare. Peers' datagrams larger than this are not relayed over a stream.
 */
export const DEFAULT_MAX_STREAM_FRAME_BYTES = 8 * 1024
/** What maxFrameBytes may be set to: a ChannelData message with 65535 bytes of data, padded. */
export const MAX_STREAM_FRAME_BYTES = CHANNEL_DATA_HEADER_BYTES + padded(0xffff)

export type StreamPushResult =
  | { ok: true, frames: Uint8Array[] }
  /** `frames` are the whole messages that came before the error. */
  | { ok: false, frames: Uint8Array[], reason: string }

type FrameSize = { ok: true, size: number } | { ok: false, reason: string } | undefined

/**
 * The size on the stream of the message starting at `bytes`, once enough of it is there to tell
 * (undefined until then), or why it is not a message this stream may carry.
 */
export function streamFrameSize (bytes: Uint8Array, maxFrameBytes = DEFAULT_MAX_STREAM_FRAME_BYTES): FrameSize {
  if (bytes.length === 0) return undefined
  const top = (bytes[0] as number) >> 6
  if (top !== 0 && top !== 1) return { ok: false, reason: `neither STUN nor ChannelData: first byte 0x${(bytes[0] as number).toString(16).padStart(2, '0')}` }
  if (bytes.length < (top === 1 ? CHANNEL_DATA_HEADER_BYTES : 8)) return undefined
  const length = readU16(bytes, 2)
  if (top === 0 && readU32(bytes, 4) !== MAGIC_COOKIE) return { ok: false, reason: 'not STUN: wrong magic cookie' }
  if (top === 0 && (length & 3) !== 0) return { ok: false, reason: `not STUN: message length ${length} is not a multiple of 4` }
  const size = top === 1 ? CHANNEL_DATA_HEADER_BYTES + padded(length) : HEADER_BYTES + length
  if (size > maxFrameBytes) return { ok: false, reason: `${top === 1 ? 'ChannelData' : 'STUN'} message of ${size} bytes is over the ${maxFrameBytes}-byte limit` }
  return { ok: true, size }
}

export class TurnStreamDecoder {
  private pending: Buffer = Buffer.alloc(0)
  private failure: string | undefined

  constructor (private readonly maxFrameBytes = DEFAULT_MAX_STREAM_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < HEADER_BYTES || maxFrameBytes > MAX_STREAM_FRAME_BYTES) {
      throw new RangeError(`maxFrameBytes must be an integer in ${HEADER_BYTES}..${MAX_STREAM_FRAME_BYTES}, got ${String(maxFrameBytes)}`)
    }
  }

  /** Bytes of an incomplete message held (at most maxFrameBytes - 1). */
  get buffered (): number {
    return this.pending.length
  }

  /** The whole messages `chunk` completes, each a copy; after an error, every push repeats it. */
  push (chunk: Uint8Array): StreamPushResult {
    if (this.failure !== undefined) return { ok: false, frames: [], reason: this.failure }
    let bytes = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk])
    const frames: Uint8Array[] = []
    for (;;) {
      const size = streamFrameSize(bytes, this.maxFrameBytes)
      if (size === undefined) break
      if (!size.ok) {
        this.failure = size.reason
        this.pending = Buffer.alloc(0)
        return { ok: false, frames, reason: size.reason }
      }
      if (bytes.length < size.size) break
      frames.push(Uint8Array.prototype.slice.call(bytes, 0, size.size))
      bytes = bytes.subarray(size.size)
    }
    // A copy: the socket may reuse the chunk's memory.
    this.pending = Buffer.from(bytes)
    return { ok: true, frames }
  }
}

/**
 * A datagram (a whole STUN message or ChannelData) as it goes on a stream, ChannelData padded to
 * 4 bytes; undefined when it is neither, or its length disagrees with its header.
 */
export function toStreamFrame (datagram: Uint8Array): Uint8Array | undefined {
  const top = datagram.length < CHANNEL_DATA_HEADER_BYTES ? -1 : (datagram[0] as number) >> 6
  if (top === 0) return datagram.length === HEADER_BYTES + readU16(datagram, 2) ? datagram : undefined
  if (top !== 1) return undefined
  const length = CHANNEL_DATA_HEADER_BYTES + readU16(datagram, 2)
  // Over UDP the padding is optional (RFC 8656 §12.5): up to 3 bytes of it may follow.
  if (datagram.length < length || datagram.length > padded(length)) return undefined
  if (datagram.length === padded(length)) return datagram
  const out = new Uint8Array(padded(length))
  out.set(datagram)
  return out
}

/** A stream frame as a datagram: ChannelData without its padding (STUN has none to remove). */
export function fromStreamFrame (frame: Uint8Array): Uint8Array {
  if (frame.length < CHANNEL_DATA_HEADER_BYTES || ((frame[0] as number) >> 6) !== 1) return frame
  return frame.subarray(0, Math.min(frame.length, CHANNEL_DATA_HEADER_BYTES + readU16(frame, 2)))
}
