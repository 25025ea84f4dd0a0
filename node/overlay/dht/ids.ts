// 256-bit ids and keys: hex form, XOR distance, bucket index, key derivation.
import { createHash } from 'node:crypto'
import { ID_BITS, ID_BYTES } from './constants.js'

/** 64 lowercase hex characters. Lowercase only, so that every id has one spelling. */
export const HEX_ID_PATTERN = '^[0-9a-f]{64}$'
const HEX_ID = new RegExp(HEX_ID_PATTERN)

export function isHexId (value: unknown): value is string {
  return typeof value === 'string' && HEX_ID.test(value)
}

/** DHT key of a string (e.g. a normalized username): sha256 of its UTF-8 bytes, in hex. */
export function keyFor (text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

export function idToBytes (id: string): Uint8Array {
  return Uint8Array.from(Buffer.from(id, 'hex'))
}

export function bytesToId (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** XOR distance of two ids, as 32 big-endian bytes. */
export function xorDistance (a: string, b: string): Uint8Array {
  const x = idToBytes(a)
  const y = idToBytes(b)
  const out = new Uint8Array(ID_BYTES)
  for (let i = 0; i < ID_BYTES; i++) out[i] = (x[i] as number) ^ (y[i] as number)
  return out
}

/** Orders distances: negative when `a` is closer. */
export function compareDistance (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const diff = (a[i] as number) - (b[i] as number)
    if (diff !== 0) return diff
  }
  return 0
}

/** Number of leading bits two ids share: 0..256 (256 only for equal ids). */
export function commonPrefixLength (a: string, b: string): number {
  const distance = xorDistance(a, b)
  for (let i = 0; i < ID_BYTES; i++) {
    const byte = distance[i] as number
    if (byte !== 0) return i * 8 + Math.clz32(byte) - 24
  }
  return ID_BITS
}

/** Sorts items by the XOR distance of their id to `target`, closest first (a new array). */
export function sortByDistance<T extends { id: string }> (items: Iterable<T>, target: string): T[] {
  return [...items]
    .map(item => ({ item, distance: xorDistance(item.id, target) }))
    .sort((a, b) => compareDistance(a.distance, b.distance))
    .map(({ item }) => item)
}

/**
 * A random id whose common prefix with `self` is exactly `cpl` bits, i.e. an id that
 * falls into bucket `cpl` of self's routing table.
 */
export function randomIdInBucket (self: string, cpl: number, randomBytes: (n: number) => Uint8Array): string {
  if (!Number.isInteger(cpl) || cpl < 0 || cpl >= ID_BITS) throw new RangeError(`bucket index ${cpl} out of range`)
  const selfBytes = idToBytes(self)
  const out = Uint8Array.from(randomBytes(ID_BYTES))
  const byteIndex = Math.floor(cpl / 8)
  const bit = 7 - (cpl % 8)
  // Copy self's first cpl bits, flip bit cpl, keep the rest random.
  for (let i = 0; i < byteIndex; i++) out[i] = selfBytes[i] as number
  const keepMask = (0xff << (bit + 1)) & 0xff
  const selfByte = selfBytes[byteIndex] as number
  const flipped = (selfByte ^ (1 << bit)) & (1 << bit)
  out[byteIndex] = (selfByte & keepMask) | flipped | ((out[byteIndex] as number) & ((1 << bit) - 1))
  return bytesToId(out)
}
