// The network itself: its machines by address, latency, partitions, traffic
// counters, and the fake dial-back checker.
import { formatHostPort, parseHostPort } from '../../../common/address.js'
import type { Clock } from '../../../common/clock.js'
import type { DialbackResult, Dialer } from '../../../common/dialback.js'
import { seededRandom } from '../../../common/random.js'
import { MAX_FRAME_BYTES } from '../transport.js'
import { Endpoint, type Outgoing } from './endpoint.js'
import { Machine, type MemoryListener } from './machine.js'
import { DEFAULT_MEMORY_LATENCY_MS, type MemoryDialerOptions, type MemoryNetwork, type MemoryNetworkOptions, type TrafficStats } from './types.js'

interface Partition { a: ReadonlySet<string>, b: ReadonlySet<string> | undefined }

export class Network {
  readonly clock: Clock
  readonly random: () => number
  readonly lossRate: number
  readonly maxFrameBytes: number
  private readonly latencyOption: number | ((from: string, to: string) => number)
  readonly machines = new Map<string, Machine>()
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
      machine: ip => this.machine(ip),
      transport: ipOrPrefix => ipOrPrefix === undefined || ipOrPrefix.endsWith('.')
        ? this.machine(this.freshIp(ipOrPrefix ?? '10.'))
        : this.machine(ipOrPrefix),
      partition: (groupA, groupB) => { this.partitions.push({ a: new Set(groupA), b: groupB === undefined ? undefined : new Set(groupB) }) },
      heal: () => { this.partitions = [] },
      isPartitioned: (a, b) => this.isPartitioned(a, b),
      kill: ip => {
        const machine = this.machines.get(ip)
        if (machine === undefined) throw new Error(`kill: no host ${ip} on this network`)
        machine.kill()
      },
      revive: ip => { this.machine(ip).revive() },
      dialer: dialerOptions => this.dialer(dialerOptions ?? {}),
      get stats () { return { ...net.stats } }
    }
  }

  machine (ip: string): Machine {
    let machine = this.machines.get(ip)
    if (machine === undefined) {
      if (parseHostPort(formatHostPort({ host: ip, port: 1 })) === undefined) throw new Error(`not a usable host address: ${JSON.stringify(ip)}`)
      machine = new Machine(this, ip)
      this.machines.set(ip, machine)
    }
    return machine
  }

  private freshIp (prefix: string): string {
    const octets = 4 - prefix.split('.').length + 1
    if (!/^(\d{1,3}\.){1,3}$/.test(prefix)) throw new Error(`not an IPv4 prefix: ${JSON.stringify(prefix)}`)
    const limit = 256 ** octets
    for (let n = this.nextAutoIp.get(prefix) ?? 1; n < limit; n++) {
      const ip = prefix + Array.from({ length: octets }, (_, i) => Math.floor(n / 256 ** (octets - 1 - i)) % 256).join('.')
      if (n % 256 === 0 || n % 256 === 255 || this.machines.has(ip)) continue
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

  connect (client: Machine, server: Machine, listener: MemoryListener, dialedAddress: string): { clientEnd: Endpoint, serverEnd: Endpoint } {
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
    if (to.closed || this.isPartitioned(from.machine.ip, to.machine.ip)) {
      if (isFrame) this.stats.framesDropped++
      return
    }
    if (isFrame) {
      this.stats.framesDelivered++
      this.stats.bytesDelivered += item.byteLength
      to.machine.traffic.framesReceived++
      to.machine.traffic.bytesReceived += item.byteLength
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
      const machine = this.machines.get(target.host)
      const partitioned = options.from !== undefined
        ? this.isPartitioned(options.from, target.host)
        : this.partitions.some(p => p.a.has(target.host) || p.b?.has(target.host) === true)
      if (machine === undefined || !machine.up || partitioned) return { ok: false, reason: `no answer from ${address}` }
      if (!machine.listeners.has(target.port)) return { ok: false, reason: `cannot reach ${address}: connection refused` }
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
