// One simulated machine: its listeners, its connections, its dials, and its
// crash (kill) and return (revive).
import { formatHostPort, parseHostPort } from '../../../common/address.js'
import type { TimerHandle } from '../../../common/clock.js'
import { DEFAULT_DIAL_TIMEOUT_MS, type Connection, type Listener } from '../transport.js'
import type { Endpoint } from './endpoint.js'
import type { Network } from './network.js'
import type { MachineTrafficStats, MemoryMachine } from './types.js'

const FIRST_EPHEMERAL_PORT = 49152
const LAST_PORT = 65535

interface PendingDial { machineKilled: () => void }

export class Machine implements MemoryMachine {
  up = true
  readonly listeners = new Map<number, MemoryListener>()
  readonly endpoints = new Set<Endpoint>()
  readonly pendingDials = new Set<PendingDial>()
  readonly traffic: MachineTrafficStats = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 }
  private portCursor = FIRST_EPHEMERAL_PORT

  constructor (private readonly net: Network, readonly ip: string) {}

  get stats (): MachineTrafficStats { return { ...this.traffic } }
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
      const attempt: PendingDial = { machineKilled: () => { fail(`cannot dial ${to}: host ${this.ip} was killed`) } }
      const timer: TimerHandle = net.clock.setTimeout(() => { fail(`cannot dial ${to}: timed out after ${timeoutMs} ms`) }, timeoutMs)
      this.pendingDials.add(attempt)
      net.afterLatency(this.ip, target.host, () => {
        if (settled) return
        const remote = net.machines.get(target.host)
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
    for (const attempt of [...this.pendingDials]) attempt.machineKilled()
    for (const listener of this.listeners.values()) listener.closed = true
    this.listeners.clear()
    for (const endpoint of [...this.endpoints]) endpoint.crash()
  }

  revive (): void {
    this.up = true
  }
}

export class MemoryListener implements Listener {
  closed = false
  readonly accepted = new Set<Endpoint>()
  readonly address: string

  constructor (private readonly machine: Machine, readonly port: number, readonly onConnection: (connection: Connection) => void) {
    this.address = formatHostPort({ host: machine.ip, port })
  }

  close = async (): Promise<void> => {
    if (this.closed) return
    this.closed = true
    if (this.machine.listeners.get(this.port) === this) this.machine.listeners.delete(this.port)
    for (const endpoint of [...this.accepted]) endpoint.close('listener closed')
  }
}
