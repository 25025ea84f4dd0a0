// The relay's denied peers (peer-ranges.ts): every range at both ends, every IPv6 spelling that
// carries an IPv4 address (the CVE-2020-26262 kind of bypass), the lab flag, and public peers
// that must stay reachable.
import { describe, expect, it } from 'vitest'
import { bytesToIp, ipToBytes } from '../../node/relay/ip.js'
import { DENIED_PEER_RANGES, deniedPeerReason } from '../../node/relay/peer-ranges.js'

/** The first and last address of a CIDR range, as canonical text. */
function ends (cidr: string): [string, string] {
  const [address, bits] = cidr.split('/') as [string, string]
  const first = ipToBytes(address) as Uint8Array
  const last = Uint8Array.from(first)
  for (let bit = Number(bits); bit < last.length * 8; bit++) last[bit >> 3] = (last[bit >> 3] as number) | (0x80 >> (bit & 7))
  return [bytesToIp(first), bytesToIp(last)]
}

/** An IPv4 address in the IPv6 forms that carry one. */
function carriers (v4: string): Record<string, string> {
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number]
  const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  return {
    'IPv4-mapped dotted': `::ffff:${v4}`,
    'IPv4-mapped hex': `::ffff:${hex}`,
    'IPv4-mapped uncompressed': `0:0:0:0:0:FFFF:${hex.toUpperCase()}`,
    'IPv4-compatible': `::${v4}`,
    NAT64: `64:ff9b::${v4}`,
    'NAT64 hex': `64:ff9b::${hex}`,
    'IPv4-translated': `::ffff:0:${v4}`
  }
}

describe('deniedPeerReason', () => {
  it.each(DENIED_PEER_RANGES.map(range => [range.cidr, range.why]))('refuses both ends of %s (%s)', (cidr, why) => {
    for (const address of ends(cidr)) {
      // 255.255.255.255 is the end of 240/4 but is listed on its own, as broadcast.
      expect(deniedPeerReason(address), address).toMatch(address === '255.255.255.255' ? /^broadcast/ : new RegExp(`^${why.replace(/[()]/g, '\\$&')}`))
    }
  })

  it('refuses the addresses an attacker aims at: loopback, the private networks, cloud metadata, CGNAT', () => {
    for (const [ip, why] of [
      ['127.0.0.1', 'loopback (127.0.0.0/8)'],
      ['127.255.255.254', 'loopback (127.0.0.0/8)'],
      ['10.0.0.1', 'private network (10.0.0.0/8)'],
      ['172.16.0.1', 'private network (172.16.0.0/12)'],
      ['172.31.255.255', 'private network (172.16.0.0/12)'],
      ['192.168.1.1', 'private network (192.168.0.0/16)'],
      ['169.254.169.254', 'link-local (169.254.0.0/16)'],
      ['100.64.0.1', 'carrier-grade NAT (100.64.0.0/10)'],
      ['198.18.0.1', 'benchmarking (198.18.0.0/15)'],
      ['0.0.0.0', 'unspecified ("this network") (0.0.0.0/8)'],
      ['239.255.255.250', 'multicast (224.0.0.0/4)'],
      ['255.255.255.255', 'broadcast (255.255.255.255/32)'],
      ['::1', 'loopback (::1/128)'],
      ['::', 'unspecified (::/128)'],
      ['fd12:3456::1', 'unique-local (fc00::/7)'],
      ['fe80::1', 'link-local (fe80::/10)'],
      ['ff02::1', 'multicast (ff00::/8)']
    ]) expect(deniedPeerReason(ip as string), ip).toBe(why)
  })

  it('refuses every denied IPv4 range in every IPv6 spelling that carries it (CVE-2020-26262 was such a bypass)', () => {
    for (const range of DENIED_PEER_RANGES.filter(r => !r.cidr.includes(':'))) {
      for (const v4 of ends(range.cidr)) {
        for (const [form, ip] of Object.entries(carriers(v4))) {
          expect(deniedPeerReason(ip), `${form} ${ip}`).toBeDefined()
        }
      }
    }
    expect(deniedPeerReason('::ffff:127.0.0.1')).toBe('IPv4-mapped form of 127.0.0.1: loopback (127.0.0.0/8)')
    expect(deniedPeerReason('::ffff:0.0.0.0')).toBe('IPv4-mapped form of 0.0.0.0: unspecified ("this network") (0.0.0.0/8)')
    expect(deniedPeerReason('64:ff9b::a9fe:a9fe')).toBe('NAT64 form of 169.254.169.254: link-local (169.254.0.0/16)')
    expect(deniedPeerReason('::10.0.0.1')).toBe('IPv4-compatible form of 10.0.0.1: private network (10.0.0.0/8)')
  })

  it('refuses the other spellings of unspecified and loopback, zones and upper case included', () => {
    for (const ip of ['0::0', '0:0:0:0:0:0:0:0', '::0.0.0.0', '0:0:0:0:0:0:0:1', '::0.0.0.1', 'FE80::1', 'fe80::1%eth0', 'FD00::1', '::FFFF:7F00:1', '2002:7f00:1::1', '2001::7f00:1']) {
      expect(deniedPeerReason(ip), ip).toBeDefined()
    }
  })

  it('refuses what is not an IP literal (shorthand, octal and hex forms never reach the relay as text)', () => {
    for (const text of ['127.1', '0177.0.0.1', '0x7f.0.0.1', '2130706433', 'localhost', '', '127.0.0.1 ', '::ffff:127.0.0.1.1']) {
      expect(deniedPeerReason(text), JSON.stringify(text)).toBe('not an IP address')
    }
  })

  it('lets public peers through, also next to the denied ranges and through NAT64 or mapped forms of public addresses', () => {
    for (const ip of [
      '8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0',
      '198.17.255.255', '198.20.0.0', '223.255.255.255', '11.0.0.1', '126.255.255.255', '128.0.0.0',
      '2606:4700::1111', '2a00:1450:4001::1', '64:ff9b::8.8.8.8', '::ffff:8.8.8.8', '2001:200::1'
    ]) expect(deniedPeerReason(ip), ip).toBeUndefined()
  })

  it('the lab flag lifts loopback, private and benchmark ranges, never unspecified, multicast or broadcast', () => {
    for (const ip of ['127.0.0.1', '127.0.0.2', '10.1.2.3', '192.168.0.1', '198.18.0.5', '169.254.1.1', '::1', 'fd00::1', '::ffff:127.0.0.1', '64:ff9b::10.0.0.1']) {
      expect(deniedPeerReason(ip, true), ip).toBeUndefined()
    }
    for (const ip of ['0.0.0.0', '0.1.2.3', '224.0.0.1', '255.255.255.255', '::', 'ff02::1', '::ffff:0.0.0.0', '64:ff9b::224.0.0.1']) {
      expect(deniedPeerReason(ip, true), ip).toBeDefined()
    }
  })
})
