// The TURN server on UDP: node:dgram sockets around the sans-IO state machine
// (server/turn-server.ts). One listening socket takes STUN/TURN from clients; each allocation
// gets its own relay socket on the relay address (edge.ts). With `tcp`, a TCP listener takes
// clients over TCP too (../tcp/tcp-edge.ts; their relay sockets are UDP like everyone's).
// Every socket it opens is closed by close(), including sockets still binding when it is called.
import { lookup } from 'node:dns/promises'
import type { Server } from 'node:net'
import { parseHostPort } from '../../../common/address.js'
import { systemClock, type Clock } from '../../../common/clock.js'
import { silentLogger, type Logger } from '../../../common/logger.js'
import type { TurnQuotas } from '../server/config.js'
import type { TurnSecret } from '../credentials.js'
import { TurnError } from '../errors.js'
import { ipFamily, type IpFamily, type TransportAddress } from '../ip.js'
import { createTurnServer, type TurnServer, type TurnServerStats } from '../server/turn-server.js'
import { UdpTurnEdge } from './edge.js'
import { bindSocket, LISTENER_BUFFER_BYTES } from './sockets.js'
import { listenTcp, TcpTurnEdge, type TcpTurnLimits, type TcpTurnStats } from '../tcp/tcp-edge.js'

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
  /**
   * Also take clients over TCP (TURN over TCP, RFC 8656 §2.1), on the UDP socket's host at `port`
   * (default the UDP socket's port number; 0 picks one), within `limits`.
   */
  tcp?: { port?: number, limits?: TcpTurnLimits }
}

export interface UdpTurnServerStats extends TurnServerStats {
  /** Relay sockets open now (allocations, reservations, and sockets still being handed over). */
  relaySockets: number
  /** The TCP clients, when the server takes them. */
  tcp?: TcpTurnStats
}

export interface RunningTurnServer {
  /** The listening socket's address and port. */
  address: string
  port: number
  /** The TCP listener's port, when the server takes clients over TCP. */
  tcpPort?: number
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
  const listener = await bindSocket(listenFamily, listenHost, listen.port, log, LISTENER_BUFFER_BYTES)
  const running = new UdpTurnEdge(server, listener, log)
  edge = running
  const bound = listener.address()
  const tcp = options.tcp === undefined ? undefined : await startTcp(options.tcp, bound.address, bound.port, running, server, log)
  log.info({ address: bound.address, port: bound.port, tcpPort: tcp?.port, relayHost: server.relayAddress, realm: server.realm }, 'turn: listening')

  return {
    address: bound.address,
    port: bound.port,
    tcpPort: tcp?.port,
    realm: server.realm,
    relayHost: server.relayAddress,
    stats: () => ({ ...server.stats(), relaySockets: running.relaySocketCount, tcp: tcp?.edge.stats() }),
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
    close: async () => {
      await tcp?.edge.close()
      await running.close()
    }
  }
}

async function startTcp (
  tcp: NonNullable<StartTurnServerOptions['tcp']>, udpHost: string, udpPort: number, udp: UdpTurnEdge, server: TurnServer, log: Logger
): Promise<{ edge: TcpTurnEdge, port: number }> {
  const port = tcp.port ?? udpPort
  let listener: Server | undefined
  let edge: TcpTurnEdge
  try {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TurnError('ERR_INVALID_CONFIG', `tcp.port must be a port number, got ${String(tcp.port)}`)
    listener = await listenTcp(udpHost, port)
    edge = new TcpTurnEdge(server, listener, actions => { udp.apply(actions) }, log, tcp.limits)
  } catch (error) {
    listener?.close()
    await udp.close()
    throw error
  }
  udp.streams = edge
  const address = listener.address()
  return { edge, port: typeof address === 'object' && address !== null ? address.port : port }
}
