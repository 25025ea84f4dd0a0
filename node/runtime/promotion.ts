// Whether a --role auto node should be a supernode: a pure decision from
// measured facts, so it can be tested without a network and its reason logged.

export interface PromotionThresholds {
  promoteAfterMs: number
  minFreeMemoryMb: number
  maxLoadPerCore: number
}

export interface PromotionFacts {
  uptimeMs: number
  freeMemoryMb: number
  /** 1-minute load average divided by cores. */
  loadPerCore: number
  /** Whether we have an address to advertise at all. */
  hasListenAddress: boolean
  /** Our supernode (or none) says the mesh needs capacity; true too when no supernode is reachable at all. */
  capacityNeeded: boolean
  /** True when no supernode is known or reachable: an empty network. */
  networkEmpty: boolean
}

export type PromotionDecision =
  | { promote: true, reason: string }
  | { promote: false, reason: string }

/**
 * Everything but reachability, which is checked after this says yes (it costs
 * a dial-back). The uptime threshold is waived for an empty network: its first
 * reachable node must become the first supernode, or nobody can log in to
 * anything.
 */
export function decidePromotion (facts: PromotionFacts, thresholds: PromotionThresholds): PromotionDecision {
  if (!facts.hasListenAddress) return { promote: false, reason: 'no --listen address: this node cannot serve others' }
  if (facts.freeMemoryMb < thresholds.minFreeMemoryMb) {
    return { promote: false, reason: `free memory ${Math.round(facts.freeMemoryMb)} MB is under ${thresholds.minFreeMemoryMb} MB` }
  }
  if (facts.loadPerCore > thresholds.maxLoadPerCore) {
    return { promote: false, reason: `CPU load ${facts.loadPerCore.toFixed(2)} per core is over ${thresholds.maxLoadPerCore}` }
  }
  if (facts.networkEmpty) return { promote: true, reason: 'no supernode is reachable: the network needs a first one' }
  if (!facts.capacityNeeded) return { promote: false, reason: 'the network has enough supernode capacity' }
  if (facts.uptimeMs < thresholds.promoteAfterMs) {
    return { promote: false, reason: `up ${Math.round(facts.uptimeMs / 1000)} s, under the ${Math.round(thresholds.promoteAfterMs / 1000)} s uptime threshold` }
  }
  return { promote: true, reason: 'resources and uptime pass the thresholds and the network needs capacity' }
}
