// The memory network's public shapes (see ../memory-network.ts for its semantics).
import type { Clock } from '../../../common/clock.js'
import type { Dialer } from '../../../common/dialback.js'
import type { Transport } from '../transport.js'

export const DEFAULT_MEMORY_LATENCY_MS = 1

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

export interface MachineTrafficStats {
  framesSent: number
  bytesSent: number
  framesReceived: number
  bytesReceived: number
}

/** One simulated machine: a Transport with one IP address. */
export interface MemoryMachine extends Transport {
  readonly ip: string
  /** False after kill(ip) until revive(ip). */
  readonly up: boolean
  /** A snapshot. */
  readonly stats: MachineTrafficStats
  /** Open connections of this machine (dialed and accepted). */
  readonly openConnections: number
}

export interface MemoryDialerOptions {
  /** Where the checker sits; partitions are judged from there. Default: outside every partition's first group. */
  from?: string
  /** When given, the check fails unless the device key registered for the target machine equals the expected key. */
  deviceKeyOf?: (ip: string) => Uint8Array | undefined
}

export interface MemoryNetwork {
  /** The Transport of the machine with this address (created on first use, the same object afterwards). */
  machine: (ip: string) => MemoryMachine
  /**
   * machine(ip) for a full address; for a prefix ending in "." (e.g. "198.18.1.")
   * or nothing (prefix "10."), a new machine with the next unused address under it.
   */
  transport: (ipOrPrefix?: string) => MemoryMachine
  /** Drops everything between groupA and groupB (default: every machine not in groupA). Partitions add up until heal(). */
  partition: (groupA: readonly string[], groupB?: readonly string[]) => void
  heal: () => void
  isPartitioned: (a: string, b: string) => boolean
  /** Crashes the machine (see the comment of memory-network.ts). */
  kill: (ip: string) => void
  /** Brings a killed machine back, with no listeners and no connections. */
  revive: (ip: string) => void
  /**
   * A stand-in for common/dialback.ts createDialer: ok when a listener is bound
   * at the address on a machine that is up and not partitioned from the checker.
   * Answers at once (not clock-driven); rttMs is the simulated round trip.
   */
  dialer: (options?: MemoryDialerOptions) => Dialer
  /** A snapshot. */
  readonly stats: TrafficStats
}
