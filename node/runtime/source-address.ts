// Checkers (the login server, a supernode) dial back only the IP a request came
// from. A node therefore sends from the IP it advertises when that IP is one of
// this machine's own (a loopback alias in tests, a public interface address);
// behind a NAT the advertised address is the NAT's, and the system's choice of
// source is what reaches it.
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { normalizeIp, parseHostPort } from '../../common/address.js'

/** The IP to bind outgoing connections to for `advertise`, or undefined to let the system choose. */
export function sourceAddressFor (advertise: string | undefined): string | undefined {
  const host = advertise === undefined ? undefined : parseHostPort(advertise)?.host
  if (host === undefined || isIP(host) === 0) return undefined
  const ip = normalizeIp(host)
  // Every 127/8 address is this machine's on Linux, though only 127.0.0.1 is listed.
  if (ip === undefined || ip.startsWith('127.')) return host
  const local = Object.values(networkInterfaces()).flat().some(iface => iface !== undefined && normalizeIp(iface.address) === ip)
  return local ? host : undefined
}
