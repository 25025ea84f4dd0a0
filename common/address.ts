// HOST:PORT addresses as typed on the command line and advertised on the wire.
import { isIP } from 'node:net'

export interface HostPort { host: string, port: number }

/** Bound on a HOST:PORT as text: a 253-character hostname, ":65535" and a little slack. */
export const MAX_HOST_PORT_CHARS = 261

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** Parses "host:port" or "[v6]:port"; returns undefined for anything else. `allowPortZero` for listen addresses. */
export function parseHostPort (text: string, allowPortZero = false): HostPort | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  if (match === null) return undefined
  const host = match[1] ?? match[2] as string
  const port = Number(match[3])
  if (port > 65535 || (port === 0 && !allowPortZero)) return undefined
  if (match[1] !== undefined ? isIP(host) !== 6 : (isIP(host) !== 4 && !HOSTNAME.test(host))) return undefined
  return { host, port }
}

export function formatHostPort ({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

/** Per-network limits (logins, accounts) count one IPv4 /24 or IPv6 /64 as one party. */
export const IPV4_PREFIX_BITS = 24
export const IPV6_PREFIX_BITS = 64

/**
 * The network an address belongs to, for per-network limits: one person usually
 * holds a whole IPv4 /24 or IPv6 /64 (a home router hands out a /64, a cloud VM
 * gets several addresses of one /24), so counting single addresses would let them
 * multiply their allowance by switching addresses. "203.0.113.0/24" for
 * 203.0.113.7, "2001:db8:1:2::/64" for 2001:db8:1:2:aa::1; IPv4-mapped IPv6
 * counts as its IPv4 address; anything that is not an IP is its own key.
 */
export function addressPrefix (address: string): string {
  const ip = normalizeIp(address)
  if (ip === undefined) return address
  if (isIP(ip) === 4) return `${ip.split('.').slice(0, IPV4_PREFIX_BITS / 8).join('.')}.0/${IPV4_PREFIX_BITS}`
  const kept = ip.split(':').slice(0, IPV6_PREFIX_BITS / 16)
  // Shortest form: trailing zero groups go into the "::".
  while (kept.length > 0 && kept[kept.length - 1] === '0') kept.pop()
  return `${kept.join(':')}::/${IPV6_PREFIX_BITS}`
}

/**
 * The group an address counts in for per-address caps on supernodes (admissions,
 * links, dial-backs): an IPv4 address itself (Tor counts relays per address),
 * the /64 of an IPv6 address, a host name as itself.
 */
export function addressGroupOf (host: string): string {
  const ip = normalizeIp(host)
  if (ip === undefined) return host.toLowerCase()
  return isIP(ip) === 4 ? ip : addressPrefix(ip)
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIPv6 (host: string): string[] {
  const [head = '', tail] = host.toLowerCase().split('::')
  const parse = (part: string): string[] => part === '' ? [] : part.split(':')
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  // An embedded IPv4 tail counts as two groups.
  const fix = (groups: string[]): string[] => groups.flatMap(g => {
    if (!g.includes('.')) return [String(parseInt(g, 16).toString(16))]
    const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number]
    return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
  })
  const l = fix(left)
  const r = fix(right)
  return [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r]
}

/** An IP as a peer's socket reports it, in one form: IPv4-mapped IPv6 ("::ffff:1.2.3.4") as plain IPv4, IPv6 as its eight groups (lower case, no leading zeros, no zone). Not an IP: undefined. */
export function normalizeIp (ip: string): string | undefined {
  if (isIP(ip) === 4) return ip
  if (isIP(ip) !== 6) return undefined
  // A zone ("%eth0") names our interface, not the peer: dropped.
  const groups = expandIPv6(ip.split('%')[0] as string)
  if (groups.slice(0, 6).join(':') === '0:0:0:0:0:ffff') {
    const [hi, lo] = groups.slice(6).map(g => parseInt(g, 16)) as [number, number]
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return groups.join(':')
}
