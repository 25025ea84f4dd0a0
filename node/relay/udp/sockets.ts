// node:dgram sockets of the TURN edge: binding one (exclusively, so two servers never share a
// port), binding a relay socket as an open-relay action asks (any port, an even one, or an
// even/odd pair for EVEN-PORT with the R bit), and closing.
import { randomInt } from 'node:crypto'
import { createSocket, type Socket, type SocketOptions } from 'node:dgram'
import { lookup } from 'node:dns'
import { isIP } from 'node:net'
import type { Logger } from '../../../common/logger.js'
import type { IpFamily, TransportAddress } from '../ip.js'
import type { TurnAction } from '../server/actions.js'

/** Ports tried for EVEN-PORT allocations (the IANA dynamic range); odd/even pairs come from here. */
export const EVEN_PORT_MIN = 49152
export const EVEN_PORT_MAX = 65534
/** Random even ports tried before an EVEN-PORT Allocate fails with 508. */
export const EVEN_PORT_ATTEMPTS = 32

export type OpenRelay = TurnAction & { type: 'open-relay' }

/**
 * The listening socket's kernel buffers: room for ~200 ms of a loaded relay's datagrams when its
 * event loop stalls (Linux caps them at net.core.rmem_max / wmem_max). Relay sockets keep the
 * defaults: each carries one allocation's streams.
 */
export const LISTENER_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * dgram's address lookup for every send: the relay only ever sends to IP literals, which this
 * answers at once. (The default, dns.lookup, defers each answer to the next tick: a measurable
 * part of a relayed packet's cost.) A name, which the server never produces, still goes to DNS.
 */
function ipLookup (address: string, family: number, callback: (error: Error | null, address: string, family: number) => void): void {
  const literal = isIP(address)
  if (literal !== 0) callback(null, address, literal)
  else lookup(address, family, callback)
}

export function bindSocket (family: IpFamily, address: string, port: number, log: Logger, bufferBytes?: number): Promise<Socket> {
  const socket = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    ipv6Only: family === 6,
    lookup: ipLookup as unknown as SocketOptions['lookup'],
    ...(bufferBytes === undefined ? {} : { recvBufferSize: bufferBytes, sendBufferSize: bufferBytes })
  })
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

/** The relay socket(s) of an open-relay action: one, or the even port and port+1 with reserveNextAs. */
export async function bindRelay (action: OpenRelay, log: Logger): Promise<Socket[]> {
  if (!action.evenPort) return [await bindSocket(action.family, action.address, 0, log)]
  let lastError: unknown
  for (let attempt = 0; attempt < EVEN_PORT_ATTEMPTS; attempt++) {
    const port = EVEN_PORT_MIN + 2 * randomInt(0, (EVEN_PORT_MAX - EVEN_PORT_MIN) / 2 + 1)
    let even: Socket
    try {
      even = await bindSocket(action.family, action.address, port, log)
    } catch (error) { lastError = error; continue }
    if (action.reserveNextAs === undefined) return [even]
    try {
      return [even, await bindSocket(action.family, action.address, port + 1, log)]
    } catch (error) {
      lastError = error
      closeQuietly(even)
    }
  }
  throw new Error(`no free even port after ${EVEN_PORT_ATTEMPTS} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`)
}

export function socketAddress (socket: Socket): TransportAddress {
  const { address, port } = socket.address()
  return { address, port }
}

export function closeQuietly (socket: Socket): void {
  try { socket.close() } catch { /* already closed */ }
}

export function closeAndWait (socket: Socket): Promise<void> {
  return new Promise(resolve => {
    try {
      socket.close(() => { resolve() })
    } catch {
      resolve()
    }
  })
}
