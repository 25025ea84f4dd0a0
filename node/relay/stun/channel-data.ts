// TURN ChannelData framing (RFC 8656 §12.4): a 4-byte header (channel number, length) and the
// application data, the compact alternative to Send and Data indications once a channel is bound.
import { CHANNEL_DATA_HEADER_BYTES } from '../constants.js'
import { TurnError } from '../errors.js'
import { padded, readU16, writeU16 } from './bytes.js'

export type ChannelDataDecodeResult = { ok: true, channel: number, data: Uint8Array } | { ok: false, reason: string }

/** A ChannelData message; `pad` rounds it to a multiple of 4 bytes (required over TCP, optional over UDP). */
export function encodeChannelData (channel: number, data: Uint8Array, options: { pad?: boolean } = {}): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0x4000 || channel > 0x7fff) throw new TurnError('ERR_INVALID_ARGUMENT', `channel 0x${channel.toString(16)} is not in 0x4000..0x7FFF`)
  if (data.length > 0xffff) throw new TurnError('ERR_INVALID_ARGUMENT', `ChannelData carries at most 65535 bytes, got ${data.length}`)
  const size = CHANNEL_DATA_HEADER_BYTES + (options.pad === true ? padded(data.length) : data.length)
  // From Node's buffer pool, not a fresh backing store: every packet a peer sends through the
  // relay is encoded here. Every byte is written below (the padding explicitly).
  const pooled = Buffer.allocUnsafe(size)
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, size)
  writeU16(out, 0, channel)
  writeU16(out, 2, data.length)
  out.set(data, CHANNEL_DATA_HEADER_BYTES)
  out.fill(0, CHANNEL_DATA_HEADER_BYTES + data.length)
  return out
}

export function decodeChannelData (bytes: Uint8Array): ChannelDataDecodeResult {
  if (bytes.length < CHANNEL_DATA_HEADER_BYTES) return { ok: false, reason: `truncated ChannelData: ${bytes.length} bytes` }
  const channel = readU16(bytes, 0)
  if ((channel & 0xc000) !== 0x4000) return { ok: false, reason: `not ChannelData: channel 0x${channel.toString(16)}` }
  const length = readU16(bytes, 2)
  const end = CHANNEL_DATA_HEADER_BYTES + length
  if (end > bytes.length) return { ok: false, reason: `truncated ChannelData: announces ${length} bytes, ${bytes.length - CHANNEL_DATA_HEADER_BYTES} arrived` }
  if (bytes.length - end > 3) return { ok: false, reason: `${bytes.length - end} bytes after the ChannelData payload, more than padding` }
  return { ok: true, channel, data: bytes.subarray(CHANNEL_DATA_HEADER_BYTES, end) }
}
