// IP addresses as text and as the 4 or 16 bytes STUN carries. Text out is canonical
// (dotted quad; RFC 5952 for IPv6), so the same address always makes the same map key.
import { isIP } from 'node:net'

export type IpFamily = 4 | 6

/** A UDP transport address as the server sees it: an IP literal and a port. */
export interface TransportAddress {
  address: string
  port: number
}

export function ipFamily (address: string): IpFamily | undefined {
  const family = isIP(address)
  return family === 4 || family === 6 ? family : undefined
}

/** 4 or 16 bytes, or undefined when `address` is not an IP literal. */
export function ipToBytes (address: string): Uint8Array | undefined {
  const family = ipFamily(address)
  if (family === 4) return Uint8Array.from(address.split('.').map(Number))
  if (family !== 6) return undefined
  let text = address
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  const words: number[] = []
  const parseGroups = (part: string): number[] => {
    if (part === '') return []
    const out: number[] = []
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        const v4 = ipToBytes(group) as Uint8Array
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number))
      } else {
        out.push(parseInt(group, 16))
      }
    }
    return out
  }
  const gap = text.indexOf('::')
  if (gap >= 0) {
    const head = parseGroups(text.slice(0, gap))
    const tail = parseGroups(text.slice(gap + 2))
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail)
  } else {
    words.push(...parseGroups(text))
  }
  const bytes = new Uint8Array(16)
  words.forEach((word, i) => { bytes[2 * i] = word >> 8; bytes[2 * i + 1] = word & 0xff })
  return bytes
}

/** Canonical text of 4 or 16 address bytes. */
export function bytesToIp (bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.')
  const words: number[] = []
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number))
  // RFC 5952: the longest run (first on ties) of two or more zero words becomes "::".
  let bestStart = -1
  let bestLength = 0
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLength && j - i >= 2) { bestStart = i; bestLength = j - i }
    i = j
  }
  const hex = words.map(word => word.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/** The canonical form of an IP literal, or undefined when it is not one. */
export function canonicalIp (address: string): string | undefined {
  const bytes = ipToBytes(address)
  return bytes === undefined ? undefined : bytesToIp(bytes)
}

/** "ip:port" / "[ip]:port" of a transport address: the key of a client's 5-tuple or of a channel's peer. */
export function addressKey ({ address, port }: TransportAddress): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}
