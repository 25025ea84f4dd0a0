// An in-memory network for in-process tests: every simulated machine gets its
// own Transport (network.host(ip)); frames travel with latency driven by a Clock
// (normally FakeClock), in order per connection, with optional random loss,
// partitions and host crashes. Nothing here touches real sockets or real time.
//
// Semantics, chosen to be close to TCP links where it matters:
// - dial: the SYN takes one-way latency; no listener → "connection refused" one
//   latency later; host down, unknown or partitioned → no answer, so the dial
//   times out after `timeoutMs` of clock time. On success the listener's
//   onConnection runs when the SYN arrives and dial() resolves one latency later.
// - lossRate drops individual data frames (a real TCP link would not; this is
//   for exercising the protocol's gap/replay detection). Close notifications are
//   never lost to lossRate.
// - partition(): everything between the groups (frames, closes, dials) is
//   silently dropped, checked when sent and when it would arrive; heal() ends it.
// - close(): frames already sent are still delivered, then the peer's onClose
//   ("remote closed: <reason>").
// - kill(ip): a crash. Every connection of the host closes (its own handlers get
//   "host killed"), its unsent frames are lost, peers get "connection reset" one
//   latency later (unless partitioned), its listeners vanish, and the host stays
//   down (dials to it time out; its own dial/listen reject) until revive(ip).
// - Handlers are called from clock timers, never inside send()/close()/setHandlers().
import { formatHostPort, parseHostPort } from '../../common/address.js'
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { DialbackResult, Dialer } from '../../common/dialback.js'
import { seededRandom } from '../../common/random.js'
import { Inbox } from './inbox.js'
import { DEFAULT_DIAL_TIMEOUT_MS, MAX_FRAME_BYTES, type Connection, type ConnectionHandlers, type Listener, type Transport } from './transport.js'

export const DEFAULT_MEMORY_LATENCY_MS = 1
const FIRST_EPHEMERAL_PORT = 49152
const LAST_PORT = 65535

export interface MemoryNetworkOptions {
  clock: Clock
  /** One-way latency per frame, in ms (default DEFAULT_MEMORY_LATENCY_MS). A function may vary it; order per connection is kept anyway. */
  latencyMs?: number | ((from: string, to: string) => number)
  /** Probability (0..1) that a data frame is dropped. Default 0. */
  lossRate?: number
  /** Source of randomness for loss; default a fixed-seed PRNG, so runs repeat exactly. */
  random?: () => number
  /** Default MAX_FRAME_BYTES. */
  maxFrameBytes?: number
}

export interface TrafficStats {
  /** Frames accepted by send() on an open connection (including ones later dropped). */
  framesSent: number
  bytesSent: number
  framesDelivered: number
  bytesDelivered: number
  /** Lost to lossRate, a partition, or a receiver that had closed. */
  framesDropped: number
  connectionsOpened: number
}

export interface HostTrafficStats {
  framesSent: number
  bytesSent: number
  framesReceived: number
  bytesReceived: number
}

export interface MemoryHost extends Transport {
  readonly ip: string
  /** False after kill(ip) until revive(ip). */
  readonly up: boolean
  /** A snapshot. */
  readonly stats: HostTrafficStats
  /** Open connections of this host (dialed and accepted). */
  readonly openConnections: number
}

export interface MemoryDialerOptions {
  /** Where the checker sits; partitions are judged from there. Default: outside every partition's first group. */
  from?: string
  /** When given, the check fails unless the device key registered for the target host equals the expected key. */
  deviceKeyOf?: (ip: string) => Uint8Array | undefined
}

export interface MemoryNetwork {
  /** The Transport of the machine with this address (created on first use, the same object afterwards). */
  host: (ip: string) => MemoryHost
  /**
   * host(ip) for a full address; for a prefix ending in "." (e.g. "198.18.1.")
   * or nothing (prefix "10."), a new machine with the next unused address under it.
   */
  transport: (ipOrPrefix?: string) => MemoryHost
  /** Drops everything between groupA and groupB (default: every host not in groupA). Partitions add up until heal(). */
  partition: (groupA: readonly string[], groupB?: readonly string[]) => void
  heal: () => void
  isPartitioned: (a: string, b: string) => boolean
  /** Crashes the host (see the file comment). */
  kill: (ip: string) => void
  /** Brings a killed host back, with no listeners and no connections. */
  revive: (ip: string) => void
  /**
   * A stand-in for common/dialback.ts createDialer: ok when a listener is bound
   * at the address on a host that is up and not partitioned from the checker.
   * Answers at once (not clock-driven); rttMs is the simulated round trip.
   */
  dialer: (options?: MemoryDialerOptions) => Dialer
  /** A snapshot. */
  readonly stats: TrafficStats
}

export function createMemoryNetwork (options: MemoryNetworkOptions): MemoryNetwork {
  return new Network(options).api()
}

// ---------------------------------------------------------------------------

interface Partition { a: ReadonlySet<string>, b: ReadonlySet<string> | undefined }
type Outgoing = Uint8Array | { close: string }
interface PendingDial { hostKilled: () => void }

class Network {
  readonly clock: Clock
  readonly random: () => number
  readonly lossRate: number
  readonly maxFrameBytes: number
  private readonly latencyOption: number | ((from: string, to: string) => number)
  readonly hosts = new Map<string, Host>()
  private partitions: Partition[] = []
  private readonly nextAutoIp = new Map<string, number>()
  readonly stats: TrafficStats = { framesSent: 0, bytesSent: 0, framesDelivered: 0, bytesDelivered: 0, framesDropped: 0, connectionsOpened: 0 }

  constructor (options: MemoryNetworkOptions) {
    const lossRate = options.lossRate ?? 0
    if (!(lossRate >= 0 && lossRate <= 1)) throw new RangeError(`lossRate must be within 0..1, got ${lossRate}`)
    this.clock = options.clock
    this.lossRate = lossRate
    this.random = options.random ?? seededRandom(0x5eed)
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES
    this.latencyOption = options.latencyMs ?? DEFAULT_MEMORY_LATENCY_MS
  }

  api (): MemoryNetwork {
    const net = this
    return {
      host: ip => this.host(ip),
      transport: ipOrPrefix => ipOrPrefix === undefined || ipOrPrefix.endsWith('.')
        ? this.host(this.freshIp(ipOrPrefix ?? '10.'))
        : this.host(ipOrPrefix),
      partition: (groupA, groupB) => { this.partitions.push({ a: new Set(groupA), b: groupB === undefined ? undefined : new Set(groupB) }) },
      heal: () => { this.partitions = [] },
      isPartitioned: (a, b) => this.isPartitioned(a, b),
      kill: ip => {
        const host = this.hosts.get(ip)
        if (host === undefined) throw new Error(`kill: no host ${ip} on this network`)
        host.kill()
      },
      revive: ip => { this.host(ip).revive() },
      dialer: dialerOptions => this.dialer(dialerOptions ?? {}),
      get stats () { return { ...net.stats } }
    }
  }

  host (ip: string): Host {
    let host = this.hosts.get(ip)
    if (host === undefined) {
      if (parseHostPort(formatHostPort({ host: ip, port: 1 })) === undefined) throw new Error(`not a usable host address: ${JSON.stringify(ip)}`)
      host = new Host(this, ip)
      this.hosts.set(ip, host)
    }
    return host
  }

  private freshIp (prefix: string): string {
    const octets = 4 - prefix.split('.').length + 1
    if (!/^(\d{1,3}\.){1,3}$/.test(prefix)) throw new Error(`not an IPv4 prefix: ${JSON.stringify(prefix)}`)
    const limit = 256 ** octets
    for (let n = this.nextAutoIp.get(prefix) ?? 1; n < limit; n++) {
      const ip = prefix + Array.from({ length: octets }, (_, i) => Math.floor(n / 256 ** (octets - 1 - i)) % 256).join('.')
      if (n % 256 === 0 || n % 256 === 255 || this.hosts.has(ip)) continue
      this.nextAutoIp.set(prefix, n + 1)
      return ip
    }
    throw new Error(`no free address left under ${prefix}`)
  }

  latency (from: string, to: string): number {
    const value = typeof this.latencyOption === 'function' ? this.latencyOption(from, to) : this.latencyOption
    return Number.isFinite(value) && value > 0 ? value : 0
  }

  isPartitioned (x: string, y: string): boolean {
    if (x === y) return false
    const inB = (p: Partition, ip: string): boolean => p.b !== undefined ? p.b.has(ip) : !p.a.has(ip)
    return this.partitions.some(p => (p.a.has(x) && inB(p, y)) || (p.a.has(y) && inB(p, x)))
  }

  /** Runs `fn` one latency from now, unless a partition between the two swallows it (on departure or arrival). */
  afterLatency (from: string, to: string, fn: () => void): void {
    if (this.isPartitioned(from, to)) return
    this.clock.setTimeout(() => {
      if (!this.isPartitioned(from, to)) fn()
    }, this.latency(from, to))
  }

  connect (client: Host, server: Host, listener: MemoryListener, dialedAddress: string): { clientEnd: Endpoint, serverEnd: Endpoint } {
    const clientEnd = new Endpoint(this, client, dialedAddress, undefined)
    const serverEnd = new Endpoint(this, server, formatHostPort({ host: client.ip, port: client.nextPort() }), listener)
    clientEnd.peer = serverEnd
    serverEnd.peer = clientEnd
    client.endpoints.add(clientEnd)
    server.endpoints.add(serverEnd)
    listener.accepted.add(serverEnd)
    this.stats.connectionsOpened++
    return { clientEnd, serverEnd }
  }

  /** A frame or close reaches the other end of `from`'s connection. */
  arrive (from: Endpoint, item: Outgoing): void {
    const to = from.peer
    const isFrame = item instanceof Uint8Array
    if (to.closed || this.isPartitioned(from.host.ip, to.host.ip)) {
      if (isFrame) this.stats.framesDropped++
      return
    }
    if (isFrame) {
      this.stats.framesDelivered++
      this.stats.bytesDelivered += item.byteLength
      to.host.traffic.framesReceived++
      to.host.traffic.bytesReceived += item.byteLength
      to.inbox.frame(item)
    } else {
      to.detach()
      to.inbox.close(item.close)
    }
  }

  private dialer (options: MemoryDialerOptions): Dialer {
    return async (address, expectedDeviceKey): Promise<DialbackResult> => {
      const target = parseHostPort(address)
      if (target === undefined) return { ok: false, reason: `cannot dial back ${address}: not a host:port address` }
      const host = this.hosts.get(target.host)
      const partitioned = options.from !== undefined
        ? this.isPartitioned(options.from, target.host)
        : this.partitions.some(p => p.a.has(target.host) || p.b?.has(target.host) === true)
      if (host === undefined || !host.up || partitioned) return { ok: false, reason: `no answer from ${address}` }
      if (!host.listeners.has(target.port)) return { ok: false, reason: `cannot reach ${address}: connection refused` }
      if (options.deviceKeyOf !== undefined) {
        const key = options.deviceKeyOf(target.host)
        if (key === undefined || !sameBytes(key, expectedDeviceKey)) {
          return { ok: false, reason: `${address} answered, but not with a valid proof from the registering device key` }
        }
      }
      const rttMs = options.from !== undefined
        ? this.latency(options.from, target.host) + this.latency(target.host, options.from)
        : 2 * (typeof this.latencyOption === 'number' ? this.latency('', target.host) : 0)
      return { ok: true, rttMs }
    }
  }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((value, i) => value === b[i])
}

class Host implements MemoryHost {
  up = true
  readonly listeners = new Map<number, MemoryListener>()
  readonly endpoints = new Set<Endpoint>()
  readonly pendingDials = new Set<PendingDial>()
  readonly traffic: HostTrafficStats = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 }
  private portCursor = FIRST_EPHEMERAL_PORT

  constructor (private readonly net: Network, readonly ip: string) {}

  get stats (): HostTrafficStats { return { ...this.traffic } }
  get openConnections (): number { return this.endpoints.size }

  nextPort (): number {
    for (let tries = 0; tries <= LAST_PORT - FIRST_EPHEMERAL_PORT; tries++) {
      const port = this.portCursor
      this.portCursor = port >= LAST_PORT ? FIRST_EPHEMERAL_PORT : port + 1
      if (!this.listeners.has(port)) return port
    }
    throw new Error(`host ${this.ip}: no free port`)
  }

  listen = async (address: string, onConnection: (connection: Connection) => void): Promise<Listener> => {
    const wanted = parseHostPort(address, true)
    if (wanted === undefined) throw new Error(`cannot listen on ${address}: not a host:port address`)
    if (!this.up) throw new Error(`cannot listen on ${address}: host ${this.ip} is down`)
    if (wanted.host !== this.ip && wanted.host !== '0.0.0.0' && wanted.host !== '::') {
      throw new Error(`cannot listen on ${address}: ${wanted.host} is not an address of host ${this.ip}`)
    }
    if (wanted.port !== 0 && this.listeners.has(wanted.port)) throw new Error(`cannot listen on ${address}: address in use`)
    const port = wanted.port !== 0 ? wanted.port : this.nextPort()
    const listener = new MemoryListener(this, port, onConnection)
    this.listeners.set(port, listener)
    return listener
  }

  dial = async (address: string, timeoutMs: number = DEFAULT_DIAL_TIMEOUT_MS): Promise<Connection> => {
    const target = parseHostPort(address)
    if (target === undefined) throw new Error(`cannot dial ${address}: not a host:port address`)
    const to = formatHostPort(target)
    if (!this.up) throw new Error(`cannot dial ${to}: host ${this.ip} is down`)
    const { net } = this
    return await new Promise<Connection>((resolve, reject) => {
      let settled = false
      let clientEnd: Endpoint | undefined
      const settle = (): void => {
        settled = true
        net.clock.clearTimeout(timer)
        this.pendingDials.delete(attempt)
      }
      const fail = (message: string): void => {
        if (settled) return
        settle()
        clientEnd?.abort()
        reject(new Error(message))
      }
      const attempt: PendingDial = { hostKilled: () => { fail(`cannot dial ${to}: host ${this.ip} was killed`) } }
      const timer: TimerHandle = net.clock.setTimeout(() => { fail(`cannot dial ${to}: timed out after ${timeoutMs} ms`) }, timeoutMs)
      this.pendingDials.add(attempt)
      net.afterLatency(this.ip, target.host, () => {
        if (settled) return
        const remote = net.hosts.get(target.host)
        if (remote === undefined || !remote.up) return // nobody answers: the timer decides
        const listener = remote.listeners.get(target.port)
        if (listener === undefined) {
          net.afterLatency(target.host, this.ip, () => { fail(`cannot dial ${to}: connection refused`) })
          return
        }
        const pair = net.connect(this, remote, listener, to)
        clientEnd = pair.clientEnd
        const accepted = pair.clientEnd
        net.afterLatency(target.host, this.ip, () => {
          if (settled) return
          settle()
          resolve(accepted)
        })
        listener.onConnection(pair.serverEnd)
      })
    })
  }

  kill (): void {
    if (!this.up) return
    this.up = false
    for (const attempt of [...this.pendingDials]) attempt.hostKilled()
    for (const listener of this.listeners.values()) listener.closed = true
    this.listeners.clear()
    for (const endpoint of [...this.endpoints]) endpoint.crash()
  }

  revive (): void {
    this.up = true
  }
}

class MemoryListener implements Listener {
  closed = false
  readonly accepted = new Set<Endpoint>()
  readonly address: string

  constructor (private readonly host: Host, readonly port: number, readonly onConnection: (connection: Connection) => void) {
    this.address = formatHostPort({ host: host.ip, port })
  }

  close = async (): Promise<void> => {
    if (this.closed) return
    this.closed = true
    if (this.host.listeners.get(this.port) === this) this.host.listeners.delete(this.port)
    for (const endpoint of [...this.accepted]) endpoint.close('listener closed')
  }
}

class Endpoint implements Connection {
  closed = false
  peer!: Endpoint
  readonly inbox = new Inbox()
  private outgoing: Array<{ due: number, item: Outgoing }> = []
  private timer: TimerHandle | undefined
  private lastDue = -Infinity

  constructor (
    private readonly net: Network,
    readonly host: Host,
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
    this.host.traffic.framesSent++
    this.host.traffic.bytesSent += frame.byteLength
    if (this.net.lossRate > 0 && this.net.random() < this.net.lossRate) {
      stats.framesDropped++
      return
    }
    if (this.net.isPartitioned(this.host.ip, this.peer.host.ip)) {
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
    this.host.endpoints.delete(this)
    this.listener?.accepted.delete(this)
  }

  /** Our host crashed: unsent frames are lost, the peer gets a reset. */
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
    const due = Math.max(now + this.net.latency(this.host.ip, this.peer.host.ip), this.lastDue)
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
