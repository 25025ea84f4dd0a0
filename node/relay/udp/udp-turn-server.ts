// The TURN server's edge: node:dgram sockets around the sans-IO state machine (turn-server.ts).
// One listening socket takes STUN/TURN from clients; each allocation gets its own relay socket
// on the relay address. Every socket this module opens is closed by close(), including sockets
// still binding when it is called.
import { randomInt } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { parseHostPort } from '../../../common/address.js'
import { systemClock, type Clock } from '../../../common/clock.js'
import { silentLogger, type Logger } from '../../../common/logger.js'
import type { TurnQuotas } from '../server/config.js'
import type { TurnSecret } from '../credentials.js'
import { TurnError } from '../errors.js'
import { ipFamily, type IpFamily, type TransportAddress } from '../ip.js'
import { createTurnServer, type TurnAction, type TurnServer, type TurnServerStats } from '../server/turn-server.js'

/** Ports tried for EVEN-PORT allocations (the IANA dynamic range); odd/even pairs come from here. */
export const EVEN_PORT_MIN = 49152
export const EVEN_PORT_MAX = 65534
/** Random even ports tried before an EVEN-PORT Allocate fails with 508. */
export const EVEN_PORT_ATTEMPTS = 32

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

  const relaySockets = new Map<string, Socket>()
  /** Ids of relay sockets being bound, and those of them the server has already given up. */
  const opening = new Set<string>()
  const cancelled = new Set<string>()
  const openings = new Set<Promise<void>>()
  let closed = false
  let closing: Promise<void> | undefined

  const server: TurnServer = createTurnServer({
    clock: options.clock ?? systemClock,
    log,
    peerPolicy: options.peerPolicy,
    onActions: actions => { apply(actions) }
  }, {
    realm: options.realm,
    secret: options.secret,
    relayAddress: options.relayHost,
    quotas: options.quotas,
    nonceLifetimeSeconds: options.nonceLifetimeSeconds,
    allowPrivatePeers: options.allowPrivatePeers,
    requireGrant: options.requireGrant
  })

  const listener = await bindSocket(listenFamily, listenHost, listen.port)
  listener.on('error', error => { log.warn({ err: error.message }, 'turn: listening socket error') })
  listener.on('message', (bytes, rinfo) => {
    apply(server.handleClientPacket({ address: rinfo.address, port: rinfo.port }, bytes))
  })
  const bound = listener.address()

  function apply (actions: TurnAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'send-to-client':
          if (!closed) listener.send(action.bytes, action.to.port, action.to.address, sendFailed)
          break
        case 'send-to-peer':
          relaySockets.get(action.allocationId)?.send(action.bytes, action.to.port, action.to.address, sendFailed)
          break
        case 'close-relay': {
          const socket = relaySockets.get(action.allocationId)
          if (socket !== undefined) {
            relaySockets.delete(action.allocationId)
            closeQuietly(socket)
          } else if (opening.has(action.allocationId)) {
            cancelled.add(action.allocationId)
          }
          break
        }
        case 'open-relay': {
          const run = openRelay(action).finally(() => { openings.delete(run) })
          openings.add(run)
          break
        }
      }
    }
  }

  function sendFailed (error: Error | null): void {
    if (error !== null) log.debug({ err: error.message }, 'turn: send failed')
  }

  async function openRelay (action: TurnAction & { type: 'open-relay' }): Promise<void> {
    const ids = action.reserveNextAs === undefined ? [action.allocationId] : [action.allocationId, action.reserveNextAs]
    for (const id of ids) opening.add(id)
    let sockets: Socket[]
    try {
      sockets = await bindRelay(action)
    } catch (error) {
      for (const id of ids) { opening.delete(id); cancelled.delete(id) }
      const reason = error instanceof Error ? error.message : String(error)
      if (!closed) apply(server.relayFailed(action.allocationId, reason))
      return
    }
    const wasCancelled = closed || ids.some(id => cancelled.has(id))
    for (const id of ids) { opening.delete(id); cancelled.delete(id) }
    if (wasCancelled) {
      for (const socket of sockets) closeQuietly(socket)
      return
    }
    sockets.forEach((socket, i) => {
      const id = ids[i] as string
      relaySockets.set(id, socket)
      socket.on('message', (bytes, rinfo) => {
        apply(server.handleRelayPacket(id, { address: rinfo.address, port: rinfo.port }, bytes))
      })
    })
    const [main, reserve] = sockets as [Socket, Socket | undefined]
    apply(server.relayOpened(
      action.allocationId,
      socketAddress(main),
      reserve === undefined ? undefined : { allocationId: action.reserveNextAs as string, relay: socketAddress(reserve) }
    ))
  }

  async function bindRelay (action: TurnAction & { type: 'open-relay' }): Promise<Socket[]> {
    if (!action.evenPort) return [await bindSocket(action.family, action.address, 0)]
    let lastError: unknown
    for (let attempt = 0; attempt < EVEN_PORT_ATTEMPTS; attempt++) {
      const port = EVEN_PORT_MIN + 2 * randomInt(0, (EVEN_PORT_MAX - EVEN_PORT_MIN) / 2 + 1)
      let even: Socket
      try {
        even = await bindSocket(action.family, action.address, port)
      } catch (error) { lastError = error; continue }
      if (action.reserveNextAs === undefined) return [even]
      try {
        return [even, await bindSocket(action.family, action.address, port + 1)]
      } catch (error) {
        lastError = error
        closeQuietly(even)
      }
    }
    throw new Error(`no free even port after ${EVEN_PORT_ATTEMPTS} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`)
  }

  function bindSocket (family: IpFamily, address: string, port: number): Promise<Socket> {
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 })
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => { closeQuietly(socket); reject(error) }
      socket.once('error', failed)
      socket.bind({ port, address, exclusive: true }, () => {
        socket.off('error', failed)
        socket.on('error', error => { log.debug({ err: error.message }, 'turn: relay socket error') })
        resolve(socket)
      })
    })
  }

  log.info({ address: bound.address, port: bound.port, relayHost: server.relayAddress, realm: server.realm }, 'turn: listening')

  return {
    address: bound.address,
    port: bound.port,
    realm: server.realm,
    relayHost: server.relayAddress,
    stats: () => ({ ...server.stats(), relaySockets: relaySockets.size }),
    openGrant: grant => { server.openGrant(grant) },
    revokeGrant: grant => {
      const before = server.stats().allocations
      apply(server.revokeGrant(grant))
      return before - server.stats().allocations
    },
    releaseAllocations: (user, relayed) => {
      const actions = server.releaseAllocations(user, relayed)
      apply(actions)
      return actions.length
    },
    close: async () => {
      closing ??= (async () => {
        const open = [...relaySockets.values()]
        apply(server.close())
        closed = true
        await Promise.allSettled([...openings])
        open.push(...relaySockets.values(), listener)
        relaySockets.clear()
        await Promise.all(open.map(closeAndWait))
      })()
      await closing
    }
  }
}

function socketAddress (socket: Socket): TransportAddress {
  const { address, port } = socket.address()
  return { address, port }
}

function closeQuietly (socket: Socket): void {
  try { socket.close() } catch { /* already closed */ }
}

function closeAndWait (socket: Socket): Promise<void> {
  return new Promise(resolve => {
    try {
      socket.close(() => { resolve() })
    } catch {
      resolve()
    }
  })
}
