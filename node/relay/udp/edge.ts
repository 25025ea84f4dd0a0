// Carries out the sans-IO TURN server's actions on real sockets and feeds it what they receive:
// the listening socket for clients, a relay socket per allocation (and per reserved port).
// Every socket it opens is closed by close(), including sockets still binding when it is called.
import type { Socket } from 'node:dgram'
import type { Logger } from '../../../common/logger.js'
import type { TurnAction } from '../server/actions.js'
import type { TurnServer } from '../server/turn-server.js'
import type { TransportAddress } from '../ip.js'
import { bindRelay, closeAndWait, closeQuietly, socketAddress, type OpenRelay } from './sockets.js'

/** The TCP clients (tcp/tcp-edge.ts): messages to them go on their connection, not over UDP. */
export interface StreamClients {
  owns: (client: TransportAddress) => boolean
  deliver: (to: TransportAddress, bytes: Uint8Array) => boolean
}

export class UdpTurnEdge {
  /** Set when the server also takes clients over TCP. */
  streams: StreamClients | undefined
  private readonly relaySockets = new Map<string, Socket>()
  /** Ids of relay sockets being bound, and those of them the server has already given up. */
  private readonly opening = new Set<string>()
  private readonly cancelled = new Set<string>()
  private readonly openings = new Set<Promise<void>>()
  private closed = false
  private closing: Promise<void> | undefined

  constructor (private readonly server: TurnServer, private readonly listener: Socket, private readonly log: Logger) {
    listener.on('error', error => { log.warn({ err: error.message }, 'turn: listening socket error') })
    // dgram's rinfo ({ address, family, port, size }, new for each datagram) is the sender's
    // TransportAddress: one object less per relayed packet.
    listener.on('message', (bytes, from) => {
      // A datagram must not act for the TCP client at the same address and port.
      if (this.streams?.owns(from) === true) log.debug({ from: `${from.address}:${from.port}` }, 'turn: UDP datagram dropped: a TCP client has this address and port')
      else this.apply(server.handleClientPacket(from, bytes))
    })
  }

  /** Relay sockets open now (allocations, reservations, and sockets still being handed over). */
  get relaySocketCount (): number {
    return this.relaySockets.size
  }

  apply (actions: TurnAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        // No send callback: without one, Node tries the send at once and queues no completion
        // (half a relayed packet's cost). A failed UDP send is a lost datagram either way.
        case 'send-to-client':
          if (this.streams?.deliver(action.to, action.bytes) === true) break
          if (!this.closed) this.listener.send(action.bytes, action.to.port, action.to.address)
          break
        case 'send-to-peer':
          this.relaySockets.get(action.allocationId)?.send(action.bytes, action.to.port, action.to.address)
          break
        case 'close-relay':
          this.closeRelay(action.allocationId)
          break
        case 'open-relay': {
          const run = this.openRelay(action).finally(() => { this.openings.delete(run) })
          this.openings.add(run)
          break
        }
      }
    }
  }

  /** Idempotent; resolves when every socket is closed. */
  async close (): Promise<void> {
    this.closing ??= (async () => {
      const open = [...this.relaySockets.values()]
      this.apply(this.server.close())
      this.closed = true
      await Promise.allSettled([...this.openings])
      open.push(...this.relaySockets.values(), this.listener)
      this.relaySockets.clear()
      await Promise.all(open.map(closeAndWait))
    })()
    await this.closing
  }

  private closeRelay (allocationId: string): void {
    const socket = this.relaySockets.get(allocationId)
    if (socket !== undefined) {
      this.relaySockets.delete(allocationId)
      closeQuietly(socket)
    } else if (this.opening.has(allocationId)) {
      this.cancelled.add(allocationId)
    }
  }

  private async openRelay (action: OpenRelay): Promise<void> {
    const ids = action.reserveNextAs === undefined ? [action.allocationId] : [action.allocationId, action.reserveNextAs]
    for (const id of ids) this.opening.add(id)
    let sockets: Socket[]
    try {
      sockets = await bindRelay(action, this.log)
    } catch (error) {
      for (const id of ids) { this.opening.delete(id); this.cancelled.delete(id) }
      const reason = error instanceof Error ? error.message : String(error)
      if (!this.closed) this.apply(this.server.relayFailed(action.allocationId, reason))
      return
    }
    const wasCancelled = this.closed || ids.some(id => this.cancelled.has(id))
    for (const id of ids) { this.opening.delete(id); this.cancelled.delete(id) }
    if (wasCancelled) {
      for (const socket of sockets) closeQuietly(socket)
      return
    }
    sockets.forEach((socket, i) => {
      const id = ids[i] as string
      this.relaySockets.set(id, socket)
      socket.on('message', (bytes, from) => {
        this.apply(this.server.handleRelayPacket(id, from, bytes))
      })
    })
    const [main, reserve] = sockets as [Socket, Socket | undefined]
    this.apply(this.server.relayOpened(
      action.allocationId,
      socketAddress(main),
      reserve === undefined ? undefined : { allocationId: action.reserveNextAs as string, relay: socketAddress(reserve) }
    ))
  }
}
