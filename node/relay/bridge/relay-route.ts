// How a host reaches its supernode's TURN relay: over UDP when UDP gets there (a STUN Binding
// over UDP answers, probeUdp), else over TCP through a local bridge (tcp-bridge.ts), when the
// relay takes TCP clients (a relay that does not is used over UDP without asking). The answer is remembered per relay for a while (the probe costs up
// to a second when UDP is dropped) and logged in one sentence when it is found.
import type { Logger } from '../../../common/logger.js'
import { ipFamily } from '../ip.js'
import { startTurnTcpBridge, type TurnTcpBridge } from './tcp-bridge.js'
import { probeUdp, type UdpProbeOptions } from './udp-probe.js'

/** How long a probe's answer holds: UDP that worked (default 5 min), UDP that did not (default 1 min). */
export const UDP_OK_MEMORY_MS = 5 * 60_000
export const UDP_BLOCKED_MEMORY_MS = 60_000

export interface RelayAddress { host: string, port: number, tcpPort?: number }

/** Where an ICE agent that speaks TURN over UDP sends: the relay itself, or the bridge to it. */
export type RelayRoute =
  | { via: 'udp', host: string, port: number }
  | { via: 'tcp', host: string, port: number, bridge: TurnTcpBridge }

export interface RelayRouter {
  /** The route for one call; a `tcp` route's bridge is the caller's to close when the call ends. */
  route: (relay: RelayAddress) => Promise<RelayRoute>
}

export interface RelayRouterOptions {
  log: Logger
  /** The local address probes leave from and bridges listen on (default: any / 127.0.0.1). */
  bindAddress?: string
  probe?: UdpProbeOptions
  now?: () => number
}

export function createRelayRouter (options: RelayRouterOptions): RelayRouter {
  const { log } = options
  const now = options.now ?? Date.now
  const known = new Map<string, { udp: boolean, until: number }>()

  const udpWorks = async (relay: RelayAddress): Promise<boolean> => {
    const key = `${relay.host}:${relay.port}`
    const remembered = known.get(key)
    if (remembered !== undefined && remembered.until > now()) return remembered.udp
    const probed = await probeUdp({ address: relay.host, port: relay.port }, { ...options.probe, bindAddress: options.bindAddress })
    if (known.size > 16) known.clear()
    known.set(key, { udp: probed.ok, until: now() + (probed.ok ? UDP_OK_MEMORY_MS : UDP_BLOCKED_MEMORY_MS) })
    if (probed.ok) {
      log.info({ relay: key, rttMs: probed.rttMs }, `UDP reaches our supernode's relay at ${key}: calls use TURN over UDP`)
    } else {
      log.info({ relay: key, tcpPort: relay.tcpPort, reason: probed.reason }, `UDP does not reach our supernode's relay (${probed.reason}): calls use TURN over TCP to port ${String(relay.tcpPort)} through a local bridge`)
    }
    return probed.ok
  }

  return {
    async route (relay) {
      // Without a TCP port (or with a relay named, not numbered) there is nothing else to try.
      if (relay.tcpPort === undefined || ipFamily(relay.host) === undefined || await udpWorks(relay)) return { via: 'udp', host: relay.host, port: relay.port }
      const bridge = await startTurnTcpBridge({ server: { address: relay.host, port: relay.tcpPort }, bindAddress: options.bindAddress, log })
      return { via: 'tcp', host: bridge.address, port: bridge.port, bridge }
    }
  }
}
