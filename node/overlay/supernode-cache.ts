// The supernode cache: up to SUPERNODE_CACHE_SIZE supernodes a node knows, best
// first. Seeded from the login server's bootstrap list, refreshed from supernodes
// it meets; persisted by the node (this file does no I/O). (The wire and the data
// directory still call it the "host cache": Skype's name for this list.)
import { SUPERNODE_CACHE_SIZE } from './constants.js'
import type { SupernodeRef } from './messages.js'

export interface SupernodeCacheEntry extends SupernodeRef {
  /** Last measured round trip (dial + handshake + registration), ms. */
  rttMs?: number
  /** Hosts / capacity last reported, 0..1. */
  load?: number
  lastSeen: number
  /** Unix ms before which it is not tried again (after a failure). */
  retryAfter: number
  failures: number
}

/** Just the reference fields (login server entries also carry load, which the wire schema does not take). */
export const supernodeRef = ({ user, deviceKey, address }: SupernodeRef): SupernodeRef =>
  user === undefined ? { deviceKey, address } : { user, deviceKey, address }

export interface SupernodeCache {
  add: (refs: SupernodeRef[], now: number) => void
  /** Up to `n` candidates to dial now, best first: never failed recently, then lowest RTT and load. */
  candidates: (n: number, now: number, exclude?: Set<string>) => SupernodeCacheEntry[]
  succeeded: (deviceKey: string, rttMs: number, now: number) => void
  failed: (deviceKey: string, now: number) => void
  reportLoad: (deviceKey: string, hosts: number, capacity: number) => void
  entries: () => SupernodeCacheEntry[]
  size: () => number
}

export function createSupernodeCache (initial: SupernodeCacheEntry[] = []): SupernodeCache {
  const byKey = new Map<string, SupernodeCacheEntry>()
  for (const entry of initial.slice(0, SUPERNODE_CACHE_SIZE)) byKey.set(entry.deviceKey, { ...entry })

  const score = (entry: SupernodeCacheEntry): number => (entry.rttMs ?? 500) * (1 + 2 * (entry.load ?? 0.5))

  return {
    add (refs, now) {
      for (const ref of refs) {
        const existing = byKey.get(ref.deviceKey)
        if (existing !== undefined) {
          existing.address = ref.address
          if (ref.user !== undefined) existing.user = ref.user
          existing.lastSeen = now
          continue
        }
        byKey.set(ref.deviceKey, { ...ref, lastSeen: now, retryAfter: 0, failures: 0 })
      }
      if (byKey.size > SUPERNODE_CACHE_SIZE) {
        // Forget the ones not seen for longest.
        const oldest = [...byKey.values()].sort((a, b) => a.lastSeen - b.lastSeen).slice(0, byKey.size - SUPERNODE_CACHE_SIZE)
        for (const entry of oldest) byKey.delete(entry.deviceKey)
      }
    },
    candidates (n, now, exclude) {
      return [...byKey.values()]
        .filter(entry => !(exclude?.has(entry.deviceKey) ?? false))
        .sort((a, b) => Number(a.retryAfter > now) - Number(b.retryAfter > now) || score(a) - score(b))
        .slice(0, n)
    },
    succeeded (deviceKey, rttMs, now) {
      const entry = byKey.get(deviceKey)
      if (entry === undefined) return
      entry.rttMs = rttMs
      entry.lastSeen = now
      entry.failures = 0
      entry.retryAfter = 0
    },
    failed (deviceKey, now) {
      const entry = byKey.get(deviceKey)
      if (entry === undefined) return
      entry.failures++
      entry.retryAfter = now + Math.min(60_000, 1000 * 2 ** entry.failures)
    },
    reportLoad (deviceKey, hosts, capacity) {
      const entry = byKey.get(deviceKey)
      if (entry !== undefined && capacity > 0) entry.load = Math.min(1, hosts / capacity)
    },
    entries: () => [...byKey.values()],
    size: () => byKey.size
  }
}
