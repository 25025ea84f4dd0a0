// The receiving half of a Connection, shared by every transport: holds frames
// (and the close) that arrive before setHandlers, delivers them in order right
// after, and makes sure onClose fires exactly once, after the last frame.
//
// Delivery is direct (inside the transport's own event or timer callback) when
// nothing is waiting; otherwise queued and drained in a microtask, so handlers
// never run re-entrantly inside setHandlers() or close().
import type { ConnectionHandlers } from './transport.js'

type Item = { frame: Uint8Array } | { close: string }

export class Inbox {
  private handlers: ConnectionHandlers | undefined
  private readonly queue: Item[] = []
  private drainScheduled = false
  private draining = false
  private closeAccepted = false

  /** A frame arrived. Ignored once the close has been accepted. */
  frame (frame: Uint8Array): void {
    if (this.closeAccepted) return
    this.push({ frame }, true)
  }

  /**
   * The connection is closed. The first call wins; later ones are ignored.
   * `dropPending` discards frames not yet handed over (a local close: the
   * owner said it wants no more). `direct` = may call onClose synchronously.
   */
  close (reason: string, options: { dropPending?: boolean, direct?: boolean } = {}): void {
    if (this.closeAccepted) return
    this.closeAccepted = true
    if (options.dropPending === true) this.queue.length = 0
    this.push({ close: reason }, options.direct ?? true)
  }

  setHandlers (handlers: ConnectionHandlers): void {
    this.handlers = handlers
    if (this.queue.length > 0) this.scheduleDrain()
  }

  private push (item: Item, direct: boolean): void {
    const handlers = this.handlers
    if (direct && handlers !== undefined && this.queue.length === 0 && !this.draining) {
      this.deliver(handlers, item)
      return
    }
    this.queue.push(item)
    if (handlers !== undefined) this.scheduleDrain()
  }

  private scheduleDrain (): void {
    if (this.drainScheduled) return
    this.drainScheduled = true
    queueMicrotask(() => {
      this.drainScheduled = false
      this.drain()
    })
  }

  private drain (): void {
    if (this.draining) return
    this.draining = true
    try {
      let item: Item | undefined
      while (this.handlers !== undefined && (item = this.queue.shift()) !== undefined) {
        this.deliver(this.handlers, item)
      }
    } finally {
      this.draining = false
      // A handler threw: keep going with the rest on the next turn.
      if (this.queue.length > 0 && this.handlers !== undefined) this.scheduleDrain()
    }
  }

  private deliver (handlers: ConnectionHandlers, item: Item): void {
    if ('frame' in item) handlers.onFrame(item.frame)
    else handlers.onClose(item.close)
  }
}
