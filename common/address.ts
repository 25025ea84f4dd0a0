// HOST:PORT addresses as typed on the command line and advertised on the wire.
import { isIP } from 'node:net'

export interface HostPort { host: string, port: number }

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

/**
 * The group an address counts in for per-address caps: an IPv4 address itself
 * (IPv4-mapped IPv6 included), the /64 of an IPv6 address (one subscriber's
 * usual allocation), a host name as itself.
 */
export function addressGroupOf (host: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host)
  if (mapped !== null) return mapped[1] as string
  if (isIP(host) !== 6) return host.toLowerCase()
  return `${expandIPv6(host).slice(0, 4).join(':')}::/64`
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
