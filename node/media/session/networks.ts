// Which addresses are on this machine or its networks: an offerer's host candidate there reaches
// us without a NAT in between, so its checks succeed at once (candidate-gate.ts decides the DTLS
// roles from it). Read from the machine's interfaces unless a caller names the networks.
import { BlockList, isIP } from 'node:net'
import { networkInterfaces } from 'node:os'

/** The machine's networks as CIDRs, loopback included ("192.168.1.20/24", "::1/128"). */
export function machineNetworks (): string[] {
  return Object.values(networkInterfaces()).flatMap(list => list ?? []).map(address => address.cidr).filter((cidr): cidr is string => cidr !== null)
}

/** A test for "on one of `cidrs`, or loopback"; a CIDR that does not parse is left out. */
export function onNetworks (cidrs: readonly string[]): (ip: string) => boolean {
  const list = new BlockList()
  list.addSubnet('127.0.0.0', 8, 'ipv4')
  list.addAddress('::1', 'ipv6')
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/')
    const family = isIP(address ?? '')
    const prefix = Number(bits)
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) continue
    list.addSubnet(address as string, prefix, family === 4 ? 'ipv4' : 'ipv6')
  }
  return ip => {
    const family = isIP(ip)
    return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6')
  }
}
