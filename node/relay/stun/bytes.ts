// Byte helpers of the STUN codec: big-endian integers, 4-byte padding, copies.
export const utf8 = new TextEncoder()
export const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
export const padded = (n: number): number => (n + 3) & ~3
/** A copy (a Buffer's slice() is a view: writing to it would change the caller's bytes). */
export const copy = (bytes: Uint8Array, start: number, end = bytes.length): Uint8Array => Uint8Array.prototype.slice.call(bytes, start, end)

export function readU16 (bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number)
}
export function readU32 (bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] as number) << 24) | ((bytes[offset + 1] as number) << 16) |
    ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number)) >>> 0
}
export function writeU16 (bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff
  bytes[offset + 1] = value & 0xff
}
export function writeU32 (bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff
  bytes[offset + 1] = (value >>> 16) & 0xff
  bytes[offset + 2] = (value >>> 8) & 0xff
  bytes[offset + 3] = value & 0xff
}
