// iptables rules for tests that need a path ICE cannot take: UDP to some loopback addresses is
// dropped unless it comes from an allowed address (a TURN relay), as a NAT that lets nothing in
// would. The rules live in their own chain, named after this process, and close() removes
// chain and jump (also after a failed test; call it from afterAll). Needs root and iptables.
import { execFileSync } from 'node:child_process'

export interface UdpFirewall {
  /** Packets the rules dropped so far (iptables' own counters). */
  dropped: () => number
  /** Idempotent. */
  close: () => void
}

const iptables = (...args: string[]): string => execFileSync('iptables', ['-w', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** Drops UDP to each of `closed` (IPv4 loopback addresses) unless it comes from `allowFrom`. */
export function blockUdpTo (closed: string[], allowFrom: string): UdpFirewall {
  const chain = `VOXMESH_TEST_${process.pid}`
  iptables('-N', chain)
  let open = true
  const close = (): void => {
    if (!open) return
    open = false
    try { iptables('-D', 'INPUT', '-j', chain) } catch {}
    try { iptables('-F', chain); iptables('-X', chain) } catch {}
  }
  try {
    for (const address of closed) iptables('-A', chain, '-p', 'udp', '-d', address, '!', '-s', allowFrom, '-j', 'DROP')
    iptables('-I', 'INPUT', '-j', chain)
  } catch (err) {
    close()
    throw err
  }
  return {
    dropped: () => iptables('-L', chain, '-n', '-v', '-x').split('\n').filter(line => line.includes('DROP'))
      .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]), 0),
    close
  }
}
