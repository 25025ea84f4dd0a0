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

/** An IP as a peer's socket reports it, in one form: IPv4-mapped IPv6 ("::ffff:1.2.3.4") as plain IPv4, IPv6 fully expanded in lower case. Not an IP: undefined. */
export function normalizeIp (ip: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  const text = mapped?.[1] ?? ip
  if (isIP(text) === 4) return text
  if (isIP(text) !== 6) return undefined
  const [head = '', tail] = text.toLowerCase().split('::') as [string, string | undefined]
  const groups = (part: string): string[] => part === '' ? [] : part.split(':').flatMap(group => {
    if (!group.includes('.')) return [group]
    const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number]
    return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
  })
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  const expanded = [...left, ...middle, ...right].map(group => group.padStart(4, '0')).join(':')
  const v4 = /^0000:0000:0000:0000:0000:ffff:([0-9a-f]{4}):([0-9a-f]{4})$/.exec(expanded)
  if (v4 !== null) {
    const [hi, lo] = [parseInt(v4[1] as string, 16), parseInt(v4[2] as string, 16)]
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  }
  return expanded
}
