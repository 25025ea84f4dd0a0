// The hosts registered at one supernode, by device and by user.
import type { Link } from '../link.js'
import type { Envelope, LookupCapability } from '../messages.js'

export interface HostEntry {
  user: string
  deviceKey: string
  link: Link
  /**
   * The DHT key of the host's sealed locator (what is cached of it is forgotten when the host
   * leaves). The locator itself lives in the DHT: kept here too it would cost ~3 KB per host.
   */
  lookupKey: string
  /** What forwards to this host must carry (only holders of the user's capability can compute it). */
  reachToken: string
  /**
   * How to find this host's contacts, by user: routes, presence queries and presence fan-out
   * for this host use these and nothing else. Per host, so a host's bogus capability misroutes
   * only its own traffic.
   */
  capabilities: Map<string, LookupCapability>
  /** Users allowed to see this host's presence. */
  audience: Set<string>
  /** The host's newest signed presence, and the "offline" it pre-signed for when it vanishes (its signature is checked only then: offlineProblem). */
  presence: Envelope
  offline: Envelope
  /** Whether the host's contacts currently see it (its presence is not "offline": invisible users are not). */
  visible: boolean
  registeredAt: number
}

export interface HostRegistry {
  /** Adds or replaces the entry for this device; returns the replaced one. */
  put: (entry: HostEntry) => HostEntry | undefined
  /** Removes the entry if it is still the one holding `link`. */
  remove: (deviceKey: string, link: Link) => HostEntry | undefined
  get: (deviceKey: string) => HostEntry | undefined
  devicesOf: (user: string) => HostEntry[]
  size: () => number
  all: () => IterableIterator<HostEntry>
}

export function createHostRegistry (): HostRegistry {
  const byDevice = new Map<string, HostEntry>()
  const byUser = new Map<string, Map<string, HostEntry>>()

  return {
    put (entry) {
      const previous = byDevice.get(entry.deviceKey)
      byDevice.set(entry.deviceKey, entry)
      let devices = byUser.get(entry.user)
      if (devices === undefined) byUser.set(entry.user, devices = new Map())
      devices.set(entry.deviceKey, entry)
      return previous
    },
    remove (deviceKey, link) {
      const entry = byDevice.get(deviceKey)
      if (entry === undefined || entry.link !== link) return undefined
      byDevice.delete(deviceKey)
      const devices = byUser.get(entry.user)
      devices?.delete(deviceKey)
      if (devices?.size === 0) byUser.delete(entry.user)
      return entry
    },
    get: deviceKey => byDevice.get(deviceKey),
    devicesOf: user => [...(byUser.get(user)?.values() ?? [])],
    size: () => byDevice.size,
    all: () => byDevice.values()
  }
}
