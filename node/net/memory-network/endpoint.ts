// One end of a simulated connection: what it sends waits in an ordered queue
// until its latency has passed, then arrives at the peer (Network.arrive).
import type { TimerHandle } from '../../../common/clock.js'
import { Inbox } from '../inbox.js'
import type { Connection, ConnectionHandlers } from '../transport.js'
import type { Machine, MemoryListener } from './machine.js'
import type { Network } from './network.js'

/** A data frame, or the news that the sender closed. */
export type Outgoing = Uint8Array | { close: string }

export class Endpoint implements Connection {
  closed = false
  peer!: Endpoint
  readonly inbox = new Inbox()
  private outgoing: Array<{ due: number, item: Outgoing }> = []
  private timer: TimerHandle | undefined
  private lastDue = -Infinity

  constructor (
    private readonly net: Network,
    readonly machine: Machine,
    readonly remoteAddress: string,
    private readonly listener: MemoryListener | undefined
  ) {}

  setHandlers = (handlers: ConnectionHandlers): void => { this.inbox.setHandlers(handlers) }

  send = (frame: Uint8Array): void => {
    if (this.closed) return
    if (frame.byteLength > this.net.maxFrameBytes) {
      this.close(`frame too large: ${frame.byteLength} bytes > ${this.net.maxFrameBytes}`)
      return
    }
    const { stats } = this.net
    stats.framesSent++
    stats.bytesSent += frame.byteLength
    this.machine.traffic.framesSent++
    this.machine.traffic.bytesSent += frame.byteLength
    if (this.net.lossRate > 0 && this.net.random() < this.net.lossRate) {
      stats.framesDropped++
      return
    }
    if (this.net.isPartitioned(this.machine.ip, this.peer.machine.ip)) {
      stats.framesDropped++
      return
    }
    this.enqueue(frame.slice())
  }

  close = (reason?: string): void => {
    if (this.closed) return
    const why = reason ?? 'closed locally'
    this.detach()
    this.enqueue({ close: `remote closed: ${why}` })
    this.inbox.close(why, { dropPending: true, direct: false })
  }

  /** Marks closed and forgets the bookkeeping, without telling anyone. */
  detach (): void {
    this.closed = true
    this.machine.endpoints.delete(this)
    this.listener?.accepted.delete(this)
  }

  /** Our machine crashed: unsent frames are lost, the peer gets a reset. */
  crash (): void {
    if (this.closed) return
    this.detach()
    this.dropOutgoing()
    this.enqueue({ close: 'connection reset' })
    this.inbox.close('host killed', { dropPending: true, direct: false })
  }

  /** A dial that timed out after the peer accepted: the peer gets a reset; nobody holds this end. */
  abort (): void {
    if (this.closed) return
    this.detach()
    this.dropOutgoing()
    this.enqueue({ close: 'connection reset' })
  }

  private dropOutgoing (): void {
    if (this.timer !== undefined) this.net.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.outgoing = []
    this.lastDue = -Infinity
  }

  private enqueue (item: Outgoing): void {
    const now = this.net.clock.now()
    const due = Math.max(now + this.net.latency(this.machine.ip, this.peer.machine.ip), this.lastDue)
    this.lastDue = due
    this.outgoing.push({ due, item })
    if (this.timer === undefined) this.arm()
  }

  private arm (): void {
    const head = this.outgoing[0]
    if (head === undefined) return
    this.timer = this.net.clock.setTimeout(() => { this.flush() }, Math.max(0, head.due - this.net.clock.now()))
  }

  private flush (): void {
    this.timer = undefined
    try {
      const now = this.net.clock.now()
      let head = this.outgoing[0]
      while (head !== undefined && head.due <= now) {
        this.outgoing.shift()
        this.net.arrive(this, head.item)
        head = this.outgoing[0]
      }
    } finally {
      if (this.timer === undefined) this.arm()
    }
  }
}
