// What an Opus packet says about itself (RFC 6716 §3.1–3.4): mode, bandwidth, frame count and
// duration, from the TOC byte and the frame-packing header, checked against the RFC's rules
// R1–R7. A packet from the network is checked here before it reaches the decoder.

/** RFC 6716 [R2]: no frame is longer than this. */
export const OPUS_MAX_FRAME_BYTES = 1275
/** RFC 6716 [R5]: a packet holds at most 120 ms (5760 samples at 48 kHz). */
export const OPUS_MAX_PACKET_SAMPLES = 5760
/** Largest packet worth looking at: 120 ms of maximum-size frames plus headers. */
export const OPUS_MAX_PACKET_BYTES = 48 * OPUS_MAX_FRAME_BYTES + 2 + 48 * 2

export type OpusMode = 'silk' | 'hybrid' | 'celt'
export type OpusBandwidth = 'narrowband' | 'mediumband' | 'wideband' | 'superwideband' | 'fullband'

export interface OpusPacketInfo {
  config: number
  mode: OpusMode
  bandwidth: OpusBandwidth
  stereo: boolean
  frameCount: number
  /** Samples per frame at 48 kHz. */
  samplesPerFrame: number
  /** Samples the packet decodes to at 48 kHz. */
  durationSamples: number
}

export class OpusPacketError extends Error {
  override readonly name = 'OpusPacketError'
}

function configInfo (config: number): { mode: OpusMode, bandwidth: OpusBandwidth, samplesPerFrame: number } {
  if (config < 12) {
    const bandwidth: OpusBandwidth = config < 4 ? 'narrowband' : config < 8 ? 'mediumband' : 'wideband'
    return { mode: 'silk', bandwidth, samplesPerFrame: [480, 960, 1920, 2880][config & 3] as number }
  }
  if (config < 16) return { mode: 'hybrid', bandwidth: config < 14 ? 'superwideband' : 'fullband', samplesPerFrame: (config & 1) === 0 ? 480 : 960 }
  const bandwidths: OpusBandwidth[] = ['narrowband', 'wideband', 'superwideband', 'fullband']
  return { mode: 'celt', bandwidth: bandwidths[(config - 16) >> 2] as OpusBandwidth, samplesPerFrame: [120, 240, 480, 960][config & 3] as number }
}

/** Reads a frame length (1 or 2 bytes, RFC 6716 §3.2.1) at `at`; returns [length, bytes used]. */
function frameLength (packet: Uint8Array, at: number): [number, number] {
  const first = packet[at]
  if (first === undefined) throw new OpusPacketError('truncated frame length')
  if (first < 252) return [first, 1]
  const second = packet[at + 1]
  if (second === undefined) throw new OpusPacketError('truncated two-byte frame length')
  return [first + 4 * second, 2]
}

/** Parses and checks a packet; throws OpusPacketError naming the rule it breaks. */
export function parseOpusPacket (packet: Uint8Array): OpusPacketInfo {
  const n = packet.length
  if (n < 1) throw new OpusPacketError('empty packet (R1)')
  if (n > OPUS_MAX_PACKET_BYTES) throw new OpusPacketError(`packet of ${n} bytes is larger than any valid Opus packet`)
  const toc = packet[0] as number
  const config = toc >> 3
  const { mode, bandwidth, samplesPerFrame } = configInfo(config)
  const stereo = (toc & 4) !== 0
  const code = toc & 3
  let frameCount: number
  switch (code) {
    case 0:
      if (n - 1 > OPUS_MAX_FRAME_BYTES) throw new OpusPacketError(`frame of ${n - 1} bytes (R2)`)
      frameCount = 1
      break
    case 1:
      if ((n - 1) % 2 !== 0) throw new OpusPacketError('code 1 packet with an odd payload (R3)')
      if ((n - 1) / 2 > OPUS_MAX_FRAME_BYTES) throw new OpusPacketError(`frames of ${(n - 1) / 2} bytes (R2)`)
      frameCount = 2
      break
    case 2: {
      const [first, used] = frameLength(packet, 1)
      const remaining = n - 1 - used
      if (first > remaining) throw new OpusPacketError(`first frame of ${first} bytes with ${remaining} left (R4)`)
      if (first > OPUS_MAX_FRAME_BYTES || remaining - first > OPUS_MAX_FRAME_BYTES) throw new OpusPacketError('frame over 1275 bytes (R2)')
      frameCount = 2
      break
    }
    default: {
      if (n < 2) throw new OpusPacketError('code 3 packet without a frame count byte (R6)')
      const header = packet[1] as number
      const vbr = (header & 0x80) !== 0
      const padded = (header & 0x40) !== 0
      frameCount = header & 0x3F
      if (frameCount < 1) throw new OpusPacketError('code 3 packet with no frames (R5)')
      if (frameCount * samplesPerFrame > OPUS_MAX_PACKET_SAMPLES) throw new OpusPacketError(`${frameCount} frames make more than 120 ms (R5)`)
      let at = 2
      let padding = 0
      if (padded) {
        for (;;) {
          const p = packet[at++]
          if (p === undefined) throw new OpusPacketError('truncated padding length (R6)')
          padding += p === 255 ? 254 : p
          if (p !== 255) break
        }
      }
      if (vbr) {
        let total = 0
        for (let i = 0; i < frameCount - 1; i++) {
          const [length, used] = frameLength(packet, at)
          if (length > OPUS_MAX_FRAME_BYTES) throw new OpusPacketError(`frame of ${length} bytes (R2)`)
          at += used
          total += length
        }
        const last = n - at - padding - total
        if (last < 0) throw new OpusPacketError('VBR code 3 packet shorter than its frame lengths and padding (R7)')
        if (last > OPUS_MAX_FRAME_BYTES) throw new OpusPacketError(`last frame of ${last} bytes (R2)`)
      } else {
        const payload = n - at - padding
        if (payload < 0 || payload % frameCount !== 0) throw new OpusPacketError('CBR code 3 packet whose payload does not split into equal frames (R6)')
        if (payload / frameCount > OPUS_MAX_FRAME_BYTES) throw new OpusPacketError(`frames of ${payload / frameCount} bytes (R2)`)
      }
    }
  }
  const durationSamples = frameCount * samplesPerFrame
  if (durationSamples > OPUS_MAX_PACKET_SAMPLES) throw new OpusPacketError(`${durationSamples} samples is more than 120 ms (R5)`)
  return { config, mode, bandwidth, stereo, frameCount, samplesPerFrame, durationSamples }
}
