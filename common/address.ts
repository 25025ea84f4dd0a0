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
