import { describe, expect, it } from 'vitest'
import {
  bytesToId, commonPrefixLength, compareDistance, isHexId, keyFor, randomIdInBucket, sortByDistance, xorDistance
} from '../../node/overlay/dht/ids.js'
import { seededRandomBytes } from '../helpers/random.js'

const ZERO = '0'.repeat(64)
const idWithByte = (index: number, byte: number): string => {
  const bytes = new Uint8Array(32)
  bytes[index] = byte
  return bytesToId(bytes)
}

describe('ids', () => {
  it('keyFor is sha256 hex of the UTF-8 text', () => {
    expect(keyFor('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(keyFor('alice')).not.toBe(keyFor('Alice'))
    expect(isHexId(keyFor('anything'))).toBe(true)
  })

  it('accepts only 64 lowercase hex characters as an id', () => {
    expect(isHexId(ZERO)).toBe(true)
    expect(isHexId('A'.repeat(64))).toBe(false)
    expect(isHexId('0'.repeat(63))).toBe(false)
    expect(isHexId('0'.repeat(65))).toBe(false)
    expect(isHexId('g'.repeat(64))).toBe(false)
    expect(isHexId(42)).toBe(false)
  })

  it('XOR distance is symmetric, zero to itself, and bytewise XOR', () => {
    const a = keyFor('a')
    const b = keyFor('b')
    expect(xorDistance(a, b)).toEqual(xorDistance(b, a))
    expect(xorDistance(a, a)).toEqual(new Uint8Array(32))
    const expected = Buffer.from(a, 'hex').map((byte, i) => byte ^ (Buffer.from(b, 'hex')[i] as number))
    expect(Buffer.from(xorDistance(a, b))).toEqual(Buffer.from(expected))
  })

  it('orders distances as big-endian numbers', () => {
    const near = xorDistance(ZERO, idWithByte(31, 0xff))
    const far = xorDistance(ZERO, idWithByte(0, 0x01))
    expect(compareDistance(near, far)).toBeLessThan(0)
    expect(compareDistance(far, near)).toBeGreaterThan(0)
    expect(compareDistance(near, near)).toBe(0)
    const sorted = sortByDistance([{ id: idWithByte(0, 0x80) }, { id: idWithByte(5, 1) }, { id: idWithByte(0, 1) }], ZERO)
    expect(sorted.map(p => p.id)).toEqual([idWithByte(5, 1), idWithByte(0, 1), idWithByte(0, 0x80)])
  })

  it('common prefix length counts leading equal bits (the bucket index)', () => {
    expect(commonPrefixLength(ZERO, idWithByte(0, 0x80))).toBe(0)
    expect(commonPrefixLength(ZERO, idWithByte(0, 0x40))).toBe(1)
    expect(commonPrefixLength(ZERO, idWithByte(0, 0x01))).toBe(7)
    expect(commonPrefixLength(ZERO, idWithByte(1, 0x80))).toBe(8)
    expect(commonPrefixLength(ZERO, idWithByte(31, 0x01))).toBe(255)
    expect(commonPrefixLength(ZERO, ZERO)).toBe(256)
  })

  it('randomIdInBucket lands in the asked bucket', () => {
    const self = keyFor('self')
    const random = seededRandomBytes('ids')
    for (const cpl of [0, 1, 7, 8, 9, 100, 254, 255]) {
      for (let i = 0; i < 5; i++) expect(commonPrefixLength(self, randomIdInBucket(self, cpl, random))).toBe(cpl)
    }
    expect(() => randomIdInBucket(self, 256, random)).toThrow(RangeError)
  })
})
