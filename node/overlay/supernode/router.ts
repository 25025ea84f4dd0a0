// Routing to a user: find the user's devices with a lookup capability (sealed
// locators in the DHT, opened with the capability's seal key, cached briefly),
// then deliver locally or forward once per supernode that holds some. Without
// a capability a user cannot be found: the DHT key of a user's locators and the
// key that opens them come only from the login server, to the user's contacts.
import { reachTokenOf } from '../../../common/lookup-keys.js'
import { openSealedRecord } from '../../../common/wire/sealed-locator.js'
import type { Locator } from '../../../common/wire/locator.js'
import type { Dht, DhtRecord } from '../dht/dht.js'
import type { Certificate } from '../../../common/certificate.js'
import { LOCATOR_CACHE_MS } from '../constants.js'
import type { Envelope, LookupCapability } from '../messages.js'
import type { HostRegistry } from './host-registry.js'
import type { PeerLinks } from './peer-links.js'
import type { SupernodeComponents } from './context.js'

/** Cached lookups at most: one per contact of the hosts served, with room to spare. */
const MAX_CACHED_LOOKUPS = 10_000

/** A verified locator, with the certificate it was signed under (hosts seal texts to the device it names). */
export type LocatedDevice = Locator & { certificate: Certificate }

export interface Router {
  /** Delivers to every online device of the capability's user; resolves with how many got it. */
  routeToUser: (capability: LookupCapability, envelope: Envelope) => Promise<number>
  /** Delivers to the devices of `user` registered here whose reach token is `token`. */
  deliverLocal: (user: string, envelope: Envelope, token: string) => number
  /** The verified locators of the capability's user, from the cache or the DHT. */
  locators: (capability: LookupCapability) => Promise<LocatedDevice[]>
  /** Drops cached lookups of this lookup key (its user re-registered or left). */
  forget: (lookupKey: string) => void
}

export function createRouter (
  components: SupernodeComponents,
  self: { deviceKey: string },
  hosts: HostRegistry,
  peers: PeerLinks,
  dht: () => Dht
): Router {
  /** By lookup key; `capability` says which user and seal key the cached answer was opened with. */
  const cache = new Map<string, { capability: string, locators: LocatedDevice[], until: number }>()
  const { clock, log } = components
  const capabilityId = (c: LookupCapability): string => `${c.user}/${c.sealKey}`

  /** Per device the freshest record that opens and verifies; the rest are ignored. */
  const openRecords = (capability: LookupCapability, records: DhtRecord[]): LocatedDevice[] => {
    const now = Math.floor(clock.now() / 1000)
    const byDevice = new Map<string, LocatedDevice>()
    for (const record of records) {
      const opened = openSealedRecord(components.sodium, record, capability, { issuerKey: components.issuerKey, nowSeconds: now })
      if (!opened.ok) {
        log.debug({ reason: opened.reason }, 'ignoring a DHT record that does not open or verify')
        continue
      }
      const held = byDevice.get(opened.locator.deviceKey)
      if (held === undefined || held.seq < opened.locator.seq) byDevice.set(opened.locator.deviceKey, { ...opened.locator, certificate: opened.envelope.certificate })
    }
    return [...byDevice.values()]
  }

  const locators = async (capability: LookupCapability): Promise<LocatedDevice[]> => {
    const cached = cache.get(capability.lookupKey)
    if (cached !== undefined && cached.capability === capabilityId(capability) && cached.until > clock.now()) return cached.locators
    const found = openRecords(capability, await dht().get(capability.lookupKey))
    // Only found devices are cached: "nobody" may change any moment (a registration in flight).
    if (found.length > 0) cache.set(capability.lookupKey, { capability: capabilityId(capability), locators: found, until: clock.now() + LOCATOR_CACHE_MS })
    if (cache.size > MAX_CACHED_LOOKUPS) cache.delete(cache.keys().next().value as string)
    return found
  }

  const deliverLocal = (user: string, envelope: Envelope, token: string): number => {
    const devices = hosts.devicesOf(user).filter(host => host.reachToken === token)
    for (const host of devices) host.link.send({ t: 'deliver', envelope })
    return devices.length
  }

  /** Forwards to one supernode; 0 when it could not be reached (it may have died). */
  const forwardTo = async (supernode: Locator['supernode'], capability: LookupCapability, token: string, envelope: Envelope): Promise<number> => {
    try {
      const link = await peers.get({ deviceKey: supernode.deviceKey, address: supernode.address })
      const result = await link.request({ t: 'forward', id: link.nextId(), to: capability.user, envelope, token }, 'forward-result')
      return result.delivered
    } catch (err) {
      // The locator may point at a supernode that died; the host re-homes and republishes.
      cache.delete(capability.lookupKey)
      log.debug({ supernode: supernode.address, err: (err as Error).message }, 'forward failed')
      return 0
    }
  }

  /** Forwards to every remote supernode the user's locators name (but those in `skip`); counts deliveries, and says which it tried. */
  const forwardAll = async (capability: LookupCapability, token: string, envelope: Envelope, skip: Set<string>): Promise<{ delivered: number, tried: Set<string> }> => {
    const remote = new Map<string, Locator['supernode']>()
    for (const locator of await locators(capability).catch(() => [])) {
      const key = locator.supernode.deviceKey
      if (key !== self.deviceKey && !skip.has(key)) remote.set(key, locator.supernode)
    }
    const supernodes = [...remote.values()]
    const counts = await Promise.all(supernodes.map(supernode => forwardTo(supernode, capability, token, envelope)))
    return { delivered: counts.reduce((sum, count) => sum + count, 0), tried: new Set(remote.keys()) }
  }

  return {
    locators,
    deliverLocal,
    forget: lookupKey => { cache.delete(lookupKey) },
    async routeToUser (capability, envelope) {
      const token = reachTokenOf(capability.sealKey)
      const local = deliverLocal(capability.user, envelope, token)
      const first = await forwardAll(capability, token, envelope, new Set())
      if (local + first.delivered > 0 || first.tried.size === 0) return local + first.delivered
      // Every supernode the (cached) locators named is gone or no longer has the user: the user
      // may have re-homed and re-published already. Look again in the DHT, once, and try the
      // supernodes it names now.
      cache.delete(capability.lookupKey)
      log.debug({ user: capability.user }, 'the user was not at the supernodes their locators named; looking the user up again')
      const again = await forwardAll(capability, token, envelope, first.tried)
      return again.delivered
    }
  }
}
