// node:dgram sockets of the TURN edge: binding one (exclusively, so two servers never share a
// port), binding a relay socket as an open-relay action asks (any port, an even one, or an
// even/odd pair for EVEN-PORT with the R bit), and closing.
import { randomInt } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import type { Logger } from '../../../common/logger.js'
import type { IpFamily, TransportAddress } from '../ip.js'
import type { TurnAction } from '../server/actions.js'

/** Ports tried for EVEN-PORT allocations (the IANA dynamic range); odd/even pairs come from here. */
export const EVEN_PORT_MIN = 49152
export const EVEN_PORT_MAX = 65534
/** Random even ports tried before an EVEN-PORT Allocate fails with 508. */
export const EVEN_PORT_ATTEMPTS = 32

export type OpenRelay = TurnAction & { type: 'open-relay' }

export function bindSocket (family: IpFamily, address: string, port: number, log: Logger): Promise<Socket> {
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
