// An in-memory network for in-process tests: every simulated machine gets its
// own Transport (network.machine(ip)); frames travel with latency driven by a Clock
// (normally FakeClock), in order per connection, with optional random loss,
// partitions and machine crashes. Nothing here touches real sockets or real time.
//
// Semantics, chosen to be close to TCP links where it matters:
// - dial: the SYN takes one-way latency; no listener → "connection refused" one
//   latency later; machine down, unknown or partitioned → no answer, so the dial
//   times out after `timeoutMs` of clock time. On success the listener's
//   onConnection runs when the SYN arrives and dial() resolves one latency later.
// - lossRate drops individual data frames (a real TCP link would not; this is
//   for exercising the protocol's gap/replay detection). Close notifications are
//   never lost to lossRate.
// - partition(): everything between the groups (frames, closes, dials) is
//   silently dropped, checked when sent and when it would arrive; heal() ends it.
// - close(): frames already sent are still delivered, then the peer's onClose
//   ("remote closed: <reason>").
// - kill(ip): a crash. Every connection of the machine closes (its own handlers get
//   "host killed"), its unsent frames are lost, peers get "connection reset" one
//   latency later (unless partitioned), its listeners vanish, and the machine stays
//   down (dials to it time out; its own dial/listen reject) until revive(ip).
// - Handlers are called from clock timers, never inside send()/close()/setHandlers().
//
// The parts live in memory-network/: network.ts (addresses, latency, partitions,
// the fake dial-back), machine.ts (a machine's listen/dial/crash, its listeners),
// endpoint.ts (one end of a connection: its ordered, delayed outgoing queue).
import { Network } from './memory-network/network.js'
import type { MemoryNetwork, MemoryNetworkOptions } from './memory-network/types.js'

export {
  DEFAULT_MEMORY_LATENCY_MS,
  type MachineTrafficStats, type MemoryDialerOptions, type MemoryMachine, type MemoryNetwork, type MemoryNetworkOptions, type TrafficStats
} from './memory-network/types.js'

export function createMemoryNetwork (options: MemoryNetworkOptions): MemoryNetwork {
  return new Network(options).api()
}
