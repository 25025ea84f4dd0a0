import { describe, expect, it } from 'vitest'
import { canonicalDecode, canonicalEncode } from '../../common/canonical.js'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { formatHostPort, parseHostPort } from '../../common/address.js'
import { parseDurationSeconds } from '../../common/duration.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

describe('canonical encoding', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(text(canonicalEncode({ b: 1, a: { d: 'x', c: [2, 1] } }))).toBe('{"a":{"c":[2,1],"d":"x"},"b":1}')
  })

  it('round-trips values and keeps non-ASCII strings as UTF-8', () => {
    const value = { user: 'zoë', n: 9007199254740991, ok: true, list: ['a', 'ß'] }
    const bytes = canonicalEncode(value)
    expect(canonicalDecode(bytes)).toEqual(value)
    expect(text(bytes)).toContain('zoë')
  })

  it('refuses floats, -0, unsafe integers and null', () => {
    expect(() => canonicalEncode({ x: 1.5 })).toThrow(/safe integers/)
    expect(() => canonicalEncode({ x: -0 })).toThrow(/safe integers/)
    expect(() => canonicalEncode({ x: 2 ** 53 })).toThrow(/safe integers/)
    expect(() => canonicalEncode({ x: null as unknown as string })).toThrow(/null/)
  })

  it('rejects bytes that are not the one canonical form', () => {
    const bad = ['{"b":1,"a":2}', '{"a": 1}', '{"a":1.0}', '{"a":1e3}', '{"a":"\\u0061"}', ' {"a":1}', '{"a":1', '\xff']
    for (const input of bad) expect(canonicalDecode(new TextEncoder().encode(input)), input).toBeUndefined()
    expect(canonicalDecode(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]))).toBeUndefined() // invalid UTF-8
  })
})

describe('base64url', () => {
  it('round-trips all byte values without padding', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
    const encoded = toBase64url(bytes)
    expect(encoded).not.toMatch(/[+/=]/)
    expect(fromBase64url(encoded)).toEqual(bytes)
  })

  it('rejects padding, the standard alphabet, impossible lengths and stray bits', () => {
    expect(fromBase64url('AA==')).toBeUndefined()
    expect(fromBase64url('a+b/')).toBeUndefined()
    expect(fromBase64url('AAAAA')).toBeUndefined()
    expect(fromBase64url('AB')).toBeUndefined() // 'AB' has low bits set that 'AA' does not
    expect(fromBase64url('AA')).toEqual(new Uint8Array([0]))
  })
})

describe('HOST:PORT', () => {
  it('parses IPv4, hostnames and bracketed IPv6', () => {
    expect(parseHostPort('127.0.0.1:7700')).toEqual({ host: '127.0.0.1', port: 7700 })
    expect(parseHostPort('sn1.example.org:443')).toEqual({ host: 'sn1.example.org', port: 443 })
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 })
    expect(formatHostPort({ host: '::1', port: 80 })).toBe('[::1]:80')
  })

  it('rejects what is not an address', () => {
    for (const bad of ['nohost', 'host:99999', '[zz]:1', ':80', 'a b:1', '1.2.3.4:0', '::1:80', 'x:-1', 'x:80/path']) {
      expect(parseHostPort(bad), bad).toBeUndefined()
    }
    expect(parseHostPort('0.0.0.0:0', true)).toEqual({ host: '0.0.0.0', port: 0 })
  })
})

describe('durations', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(parseDurationSeconds('90')).toBe(90)
    expect(parseDurationSeconds('10m')).toBe(600)
    expect(parseDurationSeconds('12h')).toBe(43200)
    expect(parseDurationSeconds('2d')).toBe(172800)
    expect(parseDurationSeconds('1.5h')).toBeUndefined()
    expect(parseDurationSeconds('-1')).toBeUndefined()
  })
})
