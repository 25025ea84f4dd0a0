// TURN clients over TCP (RFC 8656 §2.1, framing RFC 6062 / RFC 8656 §12.5): each connection
// is one client, its 5-tuple the connection's remote address and port, fed to the same sans-IO
// server as UDP clients (same credentials, quotas and peer policy). The relayed side stays UDP.
// Messages on the stream are deframed by TurnStreamDecoder; replies go back framed (ChannelData
// padded). Caps: connections in total and per client IP, an idle timeout, bytes waiting to be
// written per connection (beyond it messages are dropped: late audio is worthless) and the
// message size. A connection that closes ends its allocation.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '../../../common/logger.js'
import { addressKey, canonicalIp, type TransportAddress } from '../ip.js'
import type { TurnAction } from '../server/actions.js'
import type { TurnServer } from '../server/turn-server.js'
import { DEFAULT_MAX_STREAM_FRAME_BYTES, toStreamFrame, TurnStreamDecoder } from '../stun/stream.js'
import { TurnError } from '../errors.js'

export interface TcpTurnLimits {
  /** Open client connections in total (default 1000); more are closed at once. */
  maxConnections?: number
  /** Open client connections per client IP (default 16). */
  maxConnectionsPerAddress?: number
  /** A connection that sends nothing for this long is closed (default 120 s; ICE consent checks come every few s). */
  idleTimeoutMs?: number
  /** Bytes waiting to be written to one client; messages beyond are dropped (default 256 KiB). */
  maxBufferedBytes?: number
  /** The largest message either way (default DEFAULT_MAX_STREAM_FRAME_BYTES). */
  maxFrameBytes?: number
}

export interface TcpTurnStats {
  connections: number
  /** Connections closed at once: over a connection cap. */
  refused: number
  /** Connections closed for a stream that is not STUN/ChannelData or a message over the size limit. */
  badStreams: number
  /** Connections closed for idling. */
  idleClosed: number
  /** Messages to clients dropped: over the size limit or the client's write buffer full. */
  writesDropped: number
}

interface Limits { maxConnections: number, maxConnectionsPerAddress: number, idleTimeoutMs: number, maxBufferedBytes: number, maxFrameBytes: number }

function limitsFrom (limits: TcpTurnLimits = {}): Limits {
  const chosen = {
    maxConnections: limits.maxConnections ?? 1000,
    maxConnectionsPerAddress: limits.maxConnectionsPerAddress ?? 16,
    idleTimeoutMs: limits.idleTimeoutMs ?? 120_000,
    maxBufferedBytes: limits.maxBufferedBytes ?? 256 * 1024,
    maxFrameBytes: limits.maxFrameBytes ?? DEFAULT_MAX_STREAM_FRAME_BYTES
  }
  for (const [name, value] of Object.entries(chosen)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TurnError('ERR_INVALID_CONFIG', `tcp.${name} must be a positive integer, got ${String(value)}`)
  }
  return chosen
}

export class TcpTurnEdge {
  private readonly connections = new Map<string, Socket>()
  private readonly perIp = new Map<string, number>()
  private readonly limits: Limits
  private readonly counters = { refused: 0, badStreams: 0, idleClosed: 0, writesDropped: 0 }
  private closing: Promise<void> | undefined

  constructor (
    private readonly server: TurnServer,
    private readonly listener: Server,
    private readonly apply: (actions: TurnAction[]) => void,
    private readonly log: Logger,
    limits?: TcpTurnLimits
  ) {
    this.limits = limitsFrom(limits)
    listener.on('connection', socket => { this.accept(socket) })
    listener.on('error', error => { log.warn({ err: error.message }, 'turn: TCP listener error') })
  }

  stats (): TcpTurnStats {
    return { connections: this.connections.size, ...this.counters }
  }

  /** Whether `client` is one of our TCP clients (then UDP from the same address and port is not). */
  owns (client: TransportAddress): boolean {
    // Asked for every UDP datagram: with no TCP client, no key is built.
    return this.connections.size > 0 && this.connections.has(keyOf(client))
  }

  /** Sends a message to a TCP client; false when `to` is not one (it is a UDP client). */
  deliver (to: TransportAddress, bytes: Uint8Array): boolean {
    const socket = this.connections.size === 0 ? undefined : this.connections.get(keyOf(to))
    if (socket === undefined) return false
    const frame = toStreamFrame(bytes)
    if (frame === undefined || frame.length > this.limits.maxFrameBytes || socket.writableLength + frame.length > this.limits.maxBufferedBytes) {
      this.counters.writesDropped++
      this.log.debug({ client: addressKey(to), bytes: bytes.length, buffered: socket.writableLength }, 'turn: message to a TCP client dropped: over the size limit or its write buffer is full')
      return true
    }
    socket.write(frame)
    return true
  }

  /** Idempotent: closes the listener and every connection (their allocations end). */
  async close (): Promise<void> {
    this.closing ??= new Promise(resolve => {
      this.listener.close(() => { resolve() })
      for (const socket of this.connections.values()) socket.destroy()
    })
    await this.closing
  }

  private accept (socket: Socket): void {
    const ip = canonicalIp(socket.remoteAddress ?? '')
    const port = socket.remotePort
    if (ip === undefined || port === undefined || this.closing !== undefined) { socket.destroy(); return }
    const client = { address: ip, port }
    const key = addressKey(client)
    const fromIp = this.perIp.get(ip) ?? 0
    if (this.connections.size >= this.limits.maxConnections || fromIp >= this.limits.maxConnectionsPerAddress || this.connections.has(key)) {
      this.counters.refused++
      this.log.debug({ client: key, fromIp, total: this.connections.size }, 'turn: TCP connection refused: over the connection caps')
      socket.destroy()
      return
    }
    this.connections.set(key, socket)
    this.perIp.set(ip, fromIp + 1)
    socket.setNoDelay(true)
    socket.setTimeout(this.limits.idleTimeoutMs, () => {
      this.counters.idleClosed++
      this.log.debug({ client: key }, `turn: TCP connection closed: nothing received for ${this.limits.idleTimeoutMs} ms`)
      socket.destroy()
    })
    const decoder = new TurnStreamDecoder(this.limits.maxFrameBytes)
    socket.on('data', chunk => {
      const pushed = decoder.push(chunk)
      for (const frame of pushed.frames) this.apply(this.server.handleClientPacket(client, frame))
      if (!pushed.ok) {
        this.counters.badStreams++
        this.log.debug({ client: key, reason: pushed.reason }, `turn: TCP connection closed: ${pushed.reason}`)
        socket.destroy()
      }
    })
    socket.on('error', error => { this.log.debug({ client: key, err: error.message }, 'turn: TCP connection error') })
    socket.once('close', () => {
      this.connections.delete(key)
      const left = (this.perIp.get(ip) ?? 1) - 1
      if (left === 0) this.perIp.delete(ip)
      else this.perIp.set(ip, left)
      // Nothing reaches this client again: its allocation ends now, not when it would expire.
      this.apply(this.server.releaseClient(client))
    })
    this.log.debug({ client: key }, 'turn: TCP client connected')
  }
}

function keyOf (address: TransportAddress): string {
  return addressKey({ address: canonicalIp(address.address) ?? address.address, port: address.port })
}

/** A TCP listener bound at host:port (0 picks a port), or the bind error. */
export function listenTcp (host: string, port: number): Promise<Server> {
  const listener = createServer({ noDelay: true })
  return new Promise((resolve, reject) => {
    listener.once('error', reject)
    listener.listen({ host, port, exclusive: true }, () => {
      listener.off('error', reject)
      resolve(listener)
    })
  })
}
