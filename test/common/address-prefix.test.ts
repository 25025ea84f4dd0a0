import { describe, expect, it } from 'vitest'
import { addressPrefix } from '../../common/address.js'

describe('addressPrefix', () => {
  it('keeps the /24 of an IPv4 address', () => {
    expect(addressPrefix('203.0.113.7')).toBe('203.0.113.0/24')
    expect(addressPrefix('203.0.113.255')).toBe('203.0.113.0/24')
    expect(addressPrefix('203.0.114.7')).toBe('203.0.114.0/24')
    expect(addressPrefix('127.0.0.1')).toBe('127.0.0.0/24')
  })

  it('counts IPv4-mapped IPv6 as its IPv4 address, in every spelling', () => {
    expect(addressPrefix('::ffff:203.0.113.7')).toBe('203.0.113.0/24')
    expect(addressPrefix('::FFFF:203.0.113.9')).toBe('203.0.113.0/24')
    expect(addressPrefix('::ffff:cb00:7107')).toBe('203.0.113.0/24')
    expect(addressPrefix('0:0:0:0:0:ffff:203.0.113.7')).toBe('203.0.113.0/24')
  })

  it('keeps the /64 of an IPv6 address, however it is written', () => {
    const prefix = '2001:db8:1:2::/64'
    expect(addressPrefix('2001:db8:1:2::1')).toBe(prefix)
    expect(addressPrefix('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(prefix)
    expect(addressPrefix('2001:0DB8:0001:0002:0000:0000:0000:0001')).toBe(prefix)
    expect(addressPrefix('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(addressPrefix('2001:db8::1')).toBe('2001:db8::/64')
    expect(addressPrefix('2001:db8:0:0:1::')).toBe('2001:db8::/64')
    expect(addressPrefix('::1')).toBe('::/64')
    expect(addressPrefix('fe80::1%eth0')).toBe('fe80::/64')
    // Not mapped: ::ffff:0:0/96 only.
    expect(addressPrefix('::fffe:203.0.113.7')).toBe('::/64')
    expect(addressPrefix('64:ff9b::203.0.113.7')).toBe('64:ff9b::/64')
  })

  it('returns anything else unchanged', () => {
    expect(addressPrefix('unknown')).toBe('unknown')
    expect(addressPrefix('')).toBe('')
  })
})
