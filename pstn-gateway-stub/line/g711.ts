// ITU-T G.711 μ-law: the companding the simulated telephone line carries (8000 samples/s, 8 bits
// each, as a real PSTN trunk or a PCMU RTP stream). Encoding is the classic CCITT reference
// algorithm (the widely copied public-domain routine of Reese and Campbell), bit for bit: sign
// and magnitude first, magnitude plus bias 0x84, clipped at 32635, a segment (exponent) search,
// four mantissa bits, then every bit inverted (so -1 → 0x7F; variants that shift to 14 bits
// before taking the magnitude, like Sun's g711.c, give 0x7E there). Decoding reads a 256-entry
// table built with the reference's inverse, so each code decodes to the middle of its
// quantisation interval (0xFF and 0x7F are +0 and -0, both 0; 0x80 and 0x00 are ±32124).

/** G.711 samples at 8 kHz. */
export const LINE_SAMPLE_RATE = 8000
/** The line moves 20 ms frames, like the node's calls: 160 samples (bytes, once encoded). */
export const LINE_FRAME_SAMPLES = LINE_SAMPLE_RATE * 20 / 1000

/** Added to the magnitude before the segment search, so every segment's codes are evenly spaced. */
const MULAW_BIAS = 0x84
/** Largest magnitude encoded; anything louder takes the top code (32635 + bias = 0x7FFF). */
const MULAW_CLIP = 32635
/** The upper end (inclusive) of each segment's biased magnitude: segment s spans up to 0xFF << s. */
const SEGMENT_ENDS = [0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF] as const

/** One Int16 sample (any number is rounded and clipped to Int16 first) → its μ-law byte. */
export function linearToMulaw (sample: number): number {
  let value = Math.round(sample)
  value = value > 32767 ? 32767 : value < -32768 ? -32768 : (value || 0)
  let sign = 0
  if (value < 0) {
    sign = 0x80
    value = -value
  }
  if (value > MULAW_CLIP) value = MULAW_CLIP
  value += MULAW_BIAS
  let segment = 0
  while (value > (SEGMENT_ENDS[segment] as number)) segment++
  const mantissa = (value >> (segment + 3)) & 0x0F
  return ~(sign | (segment << 4) | mantissa) & 0xFF
}

/** The reference decoder, used once to build the table. */
function decodeReference (code: number): number {
  const inverted = ~code & 0xFF
  const magnitude = ((((inverted & 0x0F) << 3) + MULAW_BIAS) << ((inverted & 0x70) >> 4)) - MULAW_BIAS
  return (inverted & 0x80) !== 0 ? -magnitude : magnitude
}

const DECODE_TABLE = Int16Array.from({ length: 256 }, (_, code) => decodeReference(code))

/** One μ-law byte (0–255; higher bits ignored) → its Int16 value. */
export function mulawToLinear (code: number): number {
  return DECODE_TABLE[code & 0xFF] as number
}

/** Int16 linear PCM → μ-law, one byte per sample. */
export function encodeMulaw (pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length)
  for (let i = 0; i < pcm.length; i++) out[i] = linearToMulaw(pcm[i] as number)
  return out
}

/** μ-law bytes → Int16 linear PCM, one sample per byte. */
export function decodeMulaw (bytes: Uint8Array): Int16Array {
  const out = new Int16Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) out[i] = DECODE_TABLE[bytes[i] as number] as number
  return out
}
