// The network an address belongs to, for per-address limits: one person
// usually holds a whole IPv4 /24 or IPv6 /64 (a home router hands out a /64,
// a cloud VM gets several addresses of one /24), so counting single addresses
// would let them multiply their allowance by switching addresses.
import { isIP } from 'node:net'

export const IPV4_PREFIX_BITS = 24
export const IPV6_PREFIX_BITS = 64

/**
 * "203.0.113.0/24" for 203.0.113.7, "2001:db8:1:2::/64" for 2001:db8:1:2:aa::1;
 * IPv4-mapped IPv6 (::ffff:203.0.113.7) counts as its IPv4 address. Anything that
 * is not an IP address is returned unchanged (it is then its own key).
 */
export function addressPrefix (address: string): string {
  const ip = address.replace(/%.*$/, '') // an IPv6 zone ("fe80::1%eth0") is local detail
  const family = isIP(ip)
  if (family === 4) return ipv4Prefix(ip)
  if (family !== 6) return address
  const groups = ipv6Groups(ip)
  if (isIpv4Mapped(groups)) {
    const hi = groups[6] as number
    const lo = groups[7] as number
    return ipv4Prefix(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`)
  }
  const kept = groups.slice(0, IPV6_PREFIX_BITS / 16).map(g => g.toString(16))
  // Shortest form: drop trailing zero groups into the "::".
  while (kept.length > 0 && kept[kept.length - 1] === '0') kept.pop()
  return `${kept.join(':')}::/${IPV6_PREFIX_BITS}`
}

function ipv4Prefix (ip: string): string {
  const octets = ip.split('.')
  return `${octets.slice(0, IPV4_PREFIX_BITS / 8).join('.')}.0/${IPV4_PREFIX_BITS}`
}

/** The eight 16-bit groups of a valid IPv6 address (isIP already said it is one). */
function ipv6Groups (ip: string): number[] {
  let text = ip.toLowerCase()
  // A dotted IPv4 tail ("::ffff:1.2.3.4") is the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (part: string): number[] => part === '' ? [] : part.split(':').map(g => parseInt(g, 16))
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

function isIpv4Mapped (groups: number[]): boolean {
  return groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff
}
