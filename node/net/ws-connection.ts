// One link connection over a WebSocket: binary frames in and out through an
// Inbox, a bound on what it sends and buffers, and a close that always ends
// with the socket gone (the close handshake, or a cut after CLOSE_GRACE_MS).
import type { WebSocket, RawData } from 'ws'
import { Inbox } from './inbox.js'
import type { Connection, ConnectionHandlers } from './transport.js'

/** After close(), how long the WebSocket close handshake may take before the socket is cut. */
export const CLOSE_GRACE_MS = 2000
/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123

export interface ConnectionLimits { maxPayload: number, maxSendBufferBytes: number }

export class WsConnection implements Connection {
  closed = false
  private readonly inbox = new Inbox()
  private cutTimer: NodeJS.Timeout | undefined
  private socketGone = false
  /** Who waits in gone(): made only when someone does (a listener closing), not one promise per connection. */
  private goneWaiters: Array<() => void> | undefined

  /** `registry`, when given, holds this connection until its socket is gone. */
  constructor (
    private readonly socket: WebSocket,
    readonly remoteAddress: string,
    private readonly limits: ConnectionLimits,
    private readonly registry?: Set<WsConnection>
  ) {
    registry?.add(this)
    socket.binaryType = 'nodebuffer'
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (this.closed) return
      if (!isBinary) {
        this.closeWith(1003, 'protocol error: text frame')
        return
      }
      const buffer = data as Buffer
      this.inbox.frame(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength))
    })
    socket.on('error', err => {
      // ws closes (or destroys) the socket itself after an error; make sure it does not linger.
      this.finish(this.describeError(err))
      this.cutLater()
    })
    socket.on('close', (code: number, reason: Buffer) => {
      clearTimeout(this.cutTimer)
      try {
        this.finish(describeClose(code, reason))
      } finally {
        // Even if the owner's onClose threw: the socket is gone, and a closing listener must hear it.
        this.socketGone = true
        this.registry?.delete(this)
        for (const resolve of this.goneWaiters ?? []) resolve()
        this.goneWaiters = undefined
      }
    })
  }

  /** Resolves once the underlying socket is gone. */
  async gone (): Promise<void> {
    if (this.socketGone) return
    await new Promise<void>(resolve => { (this.goneWaiters ??= []).push(resolve) })
  }

  setHandlers (handlers: ConnectionHandlers): void { this.inbox.setHandlers(handlers) }

  send (frame: Uint8Array): void {
    if (this.closed) return
    if (frame.byteLength > this.limits.maxPayload) {
      this.closeWith(1009, `frame too large: ${frame.byteLength} bytes > ${this.limits.maxPayload}`)
      return
    }
    if (this.socket.bufferedAmount + frame.byteLength > this.limits.maxSendBufferBytes) {
      this.closeWith(1008, `send buffer full (${this.socket.bufferedAmount} bytes unsent): peer not reading`)
      return
    }
    // A copy: the caller may reuse its buffer, and ws may hold this one until it is written.
    this.socket.send(Buffer.from(frame), { binary: true }, err => {
      if (err !== undefined && err !== null) this.finish(`send failed: ${err.message}`)
    })
  }

  close (reason?: string): void { this.closeWith(1000, reason ?? 'closed locally') }

  /** Local close with a WebSocket close code. Idempotent. */
  closeWith (code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    try {
      this.socket.close(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES))
    } catch {
      this.socket.terminate()
    }
    this.cutLater()
    this.inbox.close(reason, { dropPending: true, direct: false })
  }

  /** Cuts the socket now, without a close handshake. */
  terminate (): void {
    if (!this.closed) this.finish('terminated')
    this.socket.terminate()
  }

  private finish (reason: string): void {
    if (this.closed) return
    this.closed = true
    this.inbox.close(reason)
  }

  private cutLater (): void {
    if (this.cutTimer !== undefined) return
    this.cutTimer = setTimeout(() => { this.socket.terminate() }, CLOSE_GRACE_MS)
    this.cutTimer.unref()
  }

  private describeError (err: Error): string {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return `frame too large: received a frame over ${this.limits.maxPayload} bytes`
    if (code === 'ECONNRESET') return 'connection reset'
    if (code === 'EPIPE') return 'connection reset (broken pipe)'
    return `socket error: ${err.message}`
  }
}

function describeClose (code: number, reason: Buffer): string {
  const text = reason.toString('utf8')
  if (code === 1006) return 'connection reset'
  if (text !== '') return `remote closed: ${text}`
  if (code === 1009) return 'remote closed: frame too large (1009)'
  return `remote closed (code ${code})`
}

function truncateUtf8 (text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  const chars = Array.from(text)
  while (Buffer.byteLength(chars.join('')) > maxBytes - 3) chars.pop()
  return `${chars.join('')}...`
}
