// Side data carried inside Opus packets as padding (RFC 6716 §3.2.5): every Opus decoder skips
// padding, so a peer that knows nothing of it still plays the audio unchanged. Calls use it for
// their RTT probe (node/calls/rtt-probe.ts): it rides the media path itself, encrypted by SRTP,
// through the TURN relay when there is one, at no extra packet.
//
// Only a code 0 packet (one frame) takes padding: it becomes a code 3 packet of one CBR frame,
//   TOC|3, 0b0100_0001 (v=0, p=1, M=1), padding length (one byte, < 255), frame, padding;
// and only padding that starts with PADDING_MAGIC is taken back off, restoring the exact code 0
// packet. Anything else passes through untouched; nothing here throws on network bytes.
import { MAX_OPUS_FRAME_BYTES } from '../rtp.js'

/** Marks voxmesh side data, so a foreign encoder's padding is left alone. */
export const PADDING_MAGIC = Uint8Array.of(0x56, 0x58) // "VX"
/** Most side data bytes (after the magic): one padding-length byte holds at most 254. */
export const MAX_SIDE_DATA_BYTES = 254 - PADDING_MAGIC.length

/** The packet with `data` as padding, or undefined when it cannot carry it (not code 0, or past the largest Opus packet sendAudio takes). */
export function attachSideData (packet: Uint8Array, data: Uint8Array): Uint8Array | undefined {
  if (packet.length < 1 || ((packet[0] as number) & 0x03) !== 0) return undefined
  if (data.length === 0 || data.length > MAX_SIDE_DATA_BYTES) return undefined
  const padding = PADDING_MAGIC.length + data.length
  const frame = packet.subarray(1)
  const out = new Uint8Array(3 + frame.length + padding)
  if (out.length > MAX_OPUS_FRAME_BYTES) return undefined
  out[0] = (packet[0] as number) | 0x03
  out[1] = 0x41
  out[2] = padding
  out.set(frame, 3)
  out.set(PADDING_MAGIC, 3 + frame.length)
  out.set(data, 3 + frame.length + PADDING_MAGIC.length)
  return out
}

/** The original packet and the side data it carried; `data` undefined when it carried none. */
export function detachSideData (packet: Uint8Array): { packet: Uint8Array, data?: Uint8Array } {
  if (packet.length < 3 || ((packet[0] as number) & 0x03) !== 3 || packet[1] !== 0x41) return { packet }
  const padding = packet[2] as number
  if (padding < PADDING_MAGIC.length || padding === 255 || 3 + padding > packet.length) return { packet }
  const frameEnd = packet.length - padding
  if (packet[frameEnd] !== PADDING_MAGIC[0] || packet[frameEnd + 1] !== PADDING_MAGIC[1]) return { packet }
  const original = new Uint8Array(1 + frameEnd - 3)
  original[0] = (packet[0] as number) & ~0x03
  original.set(packet.subarray(3, frameEnd), 1)
  return { packet: original, data: packet.slice(frameEnd + PADDING_MAGIC.length) }
}
