// The TURN server on UDP: node:dgram sockets around the sans-IO state machine
// (server/turn-server.ts). One listening socket takes STUN/TURN from clients; each allocation
// gets its own relay socket on the relay address (edge.ts). Every socket it opens is closed by
// close(), including sockets still binding when it is called.
import { lookup } from 'node:dns/promises'
import { parseHostPort } from '../../../common/address.js'
import { systemClock, type Clock } from '../../../common/clock.js'
import { silentLogger, type Logger } from '../../../common/logger.js'
import type { TurnQuotas } from '../server/config.js'
import type { TurnSecret } from '../credentials.js'
import { TurnError } from '../errors.js'
import { ipFamily, type IpFamily, type TransportAddress } from '../ip.js'
import { createTurnServer, type TurnServerStats } from '../server/turn-server.js'
import { UdpTurnEdge } from './edge.js'
import { bindSocket } from './sockets.js'

export interface StartTurnServerOptions {
  /** "HOST:PORT" of the STUN/TURN socket; port 0 picks one. */
  listen: string
  /** The IP relay sockets bind on (and that clients are told as XOR-RELAYED-ADDRESS). */
  relayHost: string
  realm: string
  secret: TurnSecret
  quotas?: TurnQuotas
  nonceLifetimeSeconds?: number
  log?: Logger
  clock?: Clock
  /** A reason to refuse relaying to a peer IP (403); default deniedPeerReason (peer-ranges.ts). */
  peerPolicy?: (ip: string) => string | undefined
  /** The lab flag (`--relay-allow-private`): relay to loopback and private peers too. Default false. */
  allowPrivatePeers?: boolean
  /** Honour only credentials naming an open grant (openGrant / revokeGrant). Default false. */
  requireGrant?: boolean
}

export interface UdpTurnServerStats extends TurnServerStats {
  /** Relay sockets open now (allocations, reservations, and sockets still being handed over). */
  relaySockets: number
}

export interface RunningTurnServer {
  /** The listening socket's address and port. */
  address: string
  port: number
  realm: string
  relayHost: string
  stats: () => UdpTurnServerStats
  /** Credentials naming `grant` work from now on (with requireGrant). */
  openGrant: (grant: string) => void
  /** Credentials naming `grant` stop working and their allocations end; how many allocations ended. */
  revokeGrant: (grant: string) => number
  /** Ends the allocations of `user` relayed at these addresses; how many it ended. */
  releaseAllocations: (user: string, relayed: TransportAddress[]) => number
  /** Idempotent; resolves when every socket is closed. */
  close: () => Promise<void>
}

export async function startTurnServer (options: StartTurnServerOptions): Promise<RunningTurnServer> {
  const listen = parseHostPort(options.listen, true)
  if (listen === undefined) throw new TurnError('ERR_INVALID_CONFIG', `listen must be HOST:PORT, got ${JSON.stringify(options.listen)}`)
  const log = options.log ?? silentLogger
  const listenHost = ipFamily(listen.host) !== undefined ? listen.host : (await lookup(listen.host)).address
  const listenFamily = ipFamily(listenHost) as IpFamily

  // The server's own actions come from its timers, which start with the first packet: the edge
  // exists by then. The server is made first because it checks the options (and may throw).
  let edge: UdpTurnEdge | undefined
  const server = createTurnServer({
    clock: options.clock ?? systemClock,
    log,
    peerPolicy: options.peerPolicy,
    onActions: actions => { edge?.apply(actions) }
  }, {
    realm: options.realm,
    secret: options.secret,
    relayAddress: options.relayHost,
    quotas: options.quotas,
    nonceLifetimeSeconds: options.nonceLifetimeSeconds,
    allowPrivatePeers: options.allowPrivatePeers,
    requireGrant: options.requireGrant
  })
  const listener = await bindSocket(listenFamily, listenHost, listen.port, log)
  const running = new UdpTurnEdge(server, listener, log)
  edge = running
  const bound = listener.address()
  log.info({ address: bound.address, port: bound.port, relayHost: server.relayAddress, realm: server.realm }, 'turn: listening')

  return {
    address: bound.address,
    port: bound.port,
    realm: server.realm,
    relayHost: server.relayAddress,
    stats: () => ({ ...server.stats(), relaySockets: running.relaySocketCount }),
    openGrant: grant => { server.openGrant(grant) },
    revokeGrant: grant => {
      const before = server.stats().allocations
      running.apply(server.revokeGrant(grant))
      return before - server.stats().allocations
    },
    releaseAllocations: (user, relayed) => {
      const actions = server.releaseAllocations(user, relayed)
      running.apply(actions)
      return actions.length
    },
    close: async () => { await running.close() }
  }
}
