// The peers a relay refuses (RFC 8656 §21.3 "the server may refuse to relay to some peers"):
// one table of ranges, one function.
//
// A member who holds relay credentials must not use the relay to reach the supernode's own
// machine or the networks behind it (loopback services, a home router, cloud metadata at
// 169.254.169.254). The table is coturn's recommended `denied-peer-ip` list, plus multicast and
// the ranges no public peer can have. An IPv6 address that carries an IPv4 address (IPv4-mapped,
// IPv4-compatible, NAT64, SIIT) is judged by the IPv4 address it carries: CVE-2020-26262 was
// coturn relaying to loopback through exactly such spellings (0.0.0.0, [::], [::ffff:127.0.0.1]).
//
// `--relay-allow-private` (labs and tests on loopback) lifts the ranges marked `lab: true`; the
// others (unspecified, multicast, broadcast) are never a peer.
import { ipToBytes } from './ip.js'

interface DeniedRange {
  /** "address/prefix length". */
  cidr: string
  why: string
  /** Whether the lab flag lifts it (true: private-use ranges a lab may put peers in). */
  lab: boolean
}

export const DENIED_PEER_RANGES: readonly DeniedRange[] = [
  // IPv4 (RFC 6890 special-purpose registry)
  { cidr: '0.0.0.0/8', why: 'unspecified ("this network")', lab: false },
  { cidr: '10.0.0.0/8', why: 'private network', lab: true },
  { cidr: '100.64.0.0/10', why: 'carrier-grade NAT', lab: true },
  { cidr: '127.0.0.0/8', why: 'loopback', lab: true },
  { cidr: '169.254.0.0/16', why: 'link-local', lab: true },
  { cidr: '172.16.0.0/12', why: 'private network', lab: true },
  { cidr: '192.0.0.0/24', why: 'IETF protocol assignments', lab: true },
  { cidr: '192.0.2.0/24', why: 'documentation', lab: true },
  { cidr: '192.88.99.0/24', why: '6to4 relay anycast', lab: true },
  { cidr: '192.168.0.0/16', why: 'private network', lab: true },
  { cidr: '198.18.0.0/15', why: 'benchmarking', lab: true },
  { cidr: '198.51.100.0/24', why: 'documentation', lab: true },
  { cidr: '203.0.113.0/24', why: 'documentation', lab: true },
  { cidr: '224.0.0.0/4', why: 'multicast', lab: false },
  { cidr: '255.255.255.255/32', why: 'broadcast', lab: false },
  { cidr: '240.0.0.0/4', why: 'reserved', lab: true },
  // IPv6 (RFC 6890, RFC 4291)
  { cidr: '::/128', why: 'unspecified', lab: false },
  { cidr: '::1/128', why: 'loopback', lab: true },
  { cidr: '64:ff9b:1::/48', why: 'local-use NAT64', lab: true },
  { cidr: '100::/64', why: 'discard-only', lab: true },
  { cidr: '2001::/23', why: 'IETF protocol assignments (Teredo, ORCHID, benchmarking)', lab: true },
  { cidr: '2001:db8::/32', why: 'documentation', lab: true },
  { cidr: '2002::/16', why: '6to4', lab: true },
  { cidr: '3fff::/20', why: 'documentation', lab: true },
  { cidr: 'fc00::/7', why: 'unique-local', lab: true },
  { cidr: 'fe80::/10', why: 'link-local', lab: true },
  { cidr: 'fec0::/10', why: 'site-local', lab: true },
  { cidr: 'ff00::/8', why: 'multicast', lab: false }
]

/** IPv6 prefixes whose last 32 bits are an IPv4 address (checked after the table's own IPv6 ranges). */
const IPV4_CARRIERS: ReadonlyArray<{ cidr: string, form: string }> = [
  { cidr: '::ffff:0:0/96', form: 'IPv4-mapped' },
  { cidr: '::/96', form: 'IPv4-compatible' },
  { cidr: '64:ff9b::/96', form: 'NAT64' },
  { cidr: '::ffff:0:0:0/96', form: 'IPv4-translated' }
]

interface Prefix { bytes: Uint8Array, length: number }

function prefixOf (cidr: string): Prefix {
  const [address, length] = cidr.split('/') as [string, string]
  const bytes = ipToBytes(address)
  if (bytes === undefined) throw new Error(`bad range ${cidr}`)
  return { bytes, length: Number(length) }
}

function inPrefix (bytes: Uint8Array, prefix: Prefix): boolean {
  if (bytes.length !== prefix.bytes.length) return false
  const whole = prefix.length >> 3
  for (let i = 0; i < whole; i++) if (bytes[i] !== prefix.bytes[i]) return false
  const rest = prefix.length & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return ((bytes[whole] as number) & mask) === ((prefix.bytes[whole] as number) & mask)
}

const RANGES = DENIED_PEER_RANGES.map(range => ({ ...range, prefix: prefixOf(range.cidr) }))
const CARRIERS = IPV4_CARRIERS.map(carrier => ({ ...carrier, prefix: prefixOf(carrier.cidr) }))

/**
 * Why the relay must not send to `ip` (an IPv4 or IPv6 literal in any spelling Node accepts), or
 * undefined when it may. `allowPrivate` is the lab flag: it lifts the ranges marked `lab`.
 */
export function deniedPeerReason (ip: string, allowPrivate = false): string | undefined {
  const bytes = ipToBytes(ip)
  if (bytes === undefined) return 'not an IP address'
  // An address inside a listed range is judged by that range alone (so the lab flag lifts ::1).
  const listed = rangeOf(bytes)
  if (listed !== undefined) return allowPrivate && listed.lab ? undefined : reasonOf(listed)
  if (bytes.length === 16) {
    for (const carrier of CARRIERS) {
      if (!inPrefix(bytes, carrier.prefix)) continue
      const carried = rangeOf(bytes.subarray(12))
      if (carried !== undefined && !(allowPrivate && carried.lab)) {
        return `${carrier.form} form of ${Array.from(bytes.subarray(12)).join('.')}: ${reasonOf(carried)}`
      }
    }
  }
  return undefined
}

function rangeOf (bytes: Uint8Array): DeniedRange | undefined {
  return RANGES.find(range => inPrefix(bytes, range.prefix))
}

function reasonOf (range: DeniedRange): string {
  return `${range.why} (${range.cidr})`
}
