// The FINGERPRINT attribute's checksum (RFC 8489 §14.7): CRC-32 of the message before it,
// XORed with 0x5354554e.
import { FINGERPRINT_XOR } from '../constants.js'

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (ISO 3309 / ITU-T V.42, as zlib and RFC 8489 §14.7). */
export function crc32 (bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

/** The FINGERPRINT value of a message whose bytes before the attribute are `prefix`. */
export function fingerprintOf (prefix: Uint8Array): number {
  return (crc32(prefix) ^ FINGERPRINT_XOR) >>> 0
}
