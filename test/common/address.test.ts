// IP forms as sockets report them, and the blocks per-address bounds count by.
import { describe, expect, it } from 'vitest'
import { addressGroupOf, normalizeIp } from '../../common/address.js'

describe('normalizeIp', () => {
  it('gives IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 as eight lower-case groups', () => {
    expect(normalizeIp('127.0.0.1')).toBe('127.0.0.1')
    expect(normalizeIp('::ffff:127.0.0.5')).toBe('127.0.0.5')
    expect(normalizeIp('::FFFF:7f00:1')).toBe('127.0.0.1')
    expect(normalizeIp('::1')).toBe('0:0:0:0:0:0:0:1')
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8:0:0:0:0:0:1')
    expect(normalizeIp('2001:db8:0:0::1')).toBe(normalizeIp('2001:db8::0:1'))
    expect(normalizeIp('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:1')
  })

  it('is undefined for anything that is not an IP', () => {
    for (const text of ['localhost', '', '1.2.3', '::ffff:1.2.3', '1.2.3.4:80', '[::1]']) expect(normalizeIp(text), text).toBeUndefined()
  })
})

describe('addressGroupOf', () => {
  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(addressGroupOf('198.18.0.1')).not.toBe(addressGroupOf('198.18.0.2'))
    expect(addressGroupOf('::ffff:198.18.0.1')).toBe(addressGroupOf('198.18.0.1'))
    expect(addressGroupOf('2001:db8:1:2::1')).toBe(addressGroupOf('2001:db8:1:2:ffff::7'))
    expect(addressGroupOf('2001:db8:1:2::1')).not.toBe(addressGroupOf('2001:db8:1:3::1'))
  })
})
