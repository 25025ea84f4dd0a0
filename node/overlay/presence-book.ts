// A host's view of its contacts' presence: the newest signed status per device,
// aggregated per user. Expired statuses count as offline, so a contact whose
// node vanished without a word goes offline when its last status runs out.
import type { PresenceStatus } from '../../common/presence.js'

/** `expiresAtMs`: the signed presence body's `expires` (unix ms), after which the status counts as offline. */
interface DeviceStatus { status: PresenceStatus, seq: number, expiresAtMs: number }

const RANK: Record<PresenceStatus, number> = { offline: 0, away: 1, busy: 2, online: 3 }

export interface PresenceBook {
  /** Applies a verified presence; returns the user's new aggregate status if it changed. */
  apply: (user: string, deviceKey: string, update: DeviceStatus, nowMs: number) => PresenceStatus | undefined
  status: (user: string, nowMs: number) => PresenceStatus
  /** Users whose aggregate status changed because statuses expired. */
  expire: (nowMs: number) => Array<{ user: string, status: PresenceStatus }>
  forget: (user: string) => void
}

export function createPresenceBook (): PresenceBook {
  const devices = new Map<string, Map<string, DeviceStatus>>()
  const reported = new Map<string, PresenceStatus>()

  const aggregate = (user: string, nowMs: number): PresenceStatus => {
    let best: PresenceStatus = 'offline'
    for (const entry of devices.get(user)?.values() ?? []) {
      if (entry.expiresAtMs > nowMs && RANK[entry.status] > RANK[best]) best = entry.status
    }
    return best
  }

  const report = (user: string, nowMs: number): PresenceStatus | undefined => {
    const status = aggregate(user, nowMs)
    if ((reported.get(user) ?? 'offline') === status) return undefined
    reported.set(user, status)
    return status
  }

  return {
    apply (user, deviceKey, update, nowMs) {
      let perDevice = devices.get(user)
      if (perDevice === undefined) devices.set(user, perDevice = new Map())
      const current = perDevice.get(deviceKey)
      if (current !== undefined && current.seq >= update.seq) return undefined
      perDevice.set(deviceKey, update)
      return report(user, nowMs)
    },
    status: aggregate,
    expire (nowMs) {
      const changed: Array<{ user: string, status: PresenceStatus }> = []
      for (const user of devices.keys()) {
        const status = report(user, nowMs)
        if (status !== undefined) changed.push({ user, status })
      }
      return changed
    },
    forget (user) {
      devices.delete(user)
      reported.delete(user)
    }
  }
}
