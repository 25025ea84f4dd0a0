// Routing to a user: find the user's devices (locators in the DHT, cached
// briefly), then deliver locally or forward once per supernode that holds some.
import { verifyLocator, type Locator, type LocatorRecord } from '../../../common/wire/locator.js'
import type { Certificate } from '../../../common/certificate.js'
import { keyFor, type Dht, type DhtRecord } from '../dht/dht.js'
import { LOCATOR_CACHE_MS } from '../constants.js'
import type { Envelope } from '../messages.js'
import type { HostRegistry } from './host-registry.js'
import type { PeerLinks } from './peer-links.js'
import type { SupernodeComponents } from './context.js'

/** A verified locator, with the certificate it was signed under (hosts seal texts to the device it names). */
export type LocatedDevice = Locator & { certificate: Certificate }

export interface Router {
  /** Delivers to every online device of `user`; resolves with how many got it. */
  routeToUser: (user: string, envelope: Envelope) => Promise<number>
  /** Delivers to the devices of `user` registered here. */
  deliverLocal: (user: string, envelope: Envelope) => number
  /** The verified locators of `user`, from the cache or the DHT. */
  locators: (user: string) => Promise<LocatedDevice[]>
  forget: (user: string) => void
}

export function createRouter (
  components: SupernodeComponents,
  self: { deviceKey: string },
  hosts: HostRegistry,
  peers: PeerLinks,
  dht: Dht
): Router {
  const cache = new Map<string, { locators: LocatedDevice[], until: number }>()
  const { clock, log } = components

  const verifyRecords = (user: string, records: DhtRecord[]): LocatedDevice[] => {
    const now = Math.floor(clock.now() / 1000)
    const locators: LocatedDevice[] = []
    for (const record of records) {
      const check = verifyLocator(components.sodium, record.value, { issuerKey: components.issuerKey, now })
      if (check.ok && check.locator.user === user) locators.push({ ...check.locator, certificate: (record.value as LocatorRecord).certificate })
      else if (!check.ok) log.debug({ user, reason: check.reason }, 'ignoring a locator from the DHT that does not verify')
    }
    return locators
  }

  const locators = async (user: string): Promise<LocatedDevice[]> => {
    const cached = cache.get(user)
    if (cached !== undefined && cached.until > clock.now()) return cached.locators
    const found = verifyRecords(user, await dht.get(keyFor(user)))
    // Only found devices are cached: "nobody" may change any moment (a registration in flight).
    if (found.length > 0) cache.set(user, { locators: found, until: clock.now() + LOCATOR_CACHE_MS })
    if (cache.size > 10_000) cache.delete(cache.keys().next().value as string)
    return found
  }

  const deliverLocal = (user: string, envelope: Envelope): number => {
    const devices = hosts.devicesOf(user)
    for (const host of devices) host.link.send({ t: 'deliver', envelope })
    return devices.length
  }

  const forwardTo = async (supernode: Locator['supernode'], user: string, envelope: Envelope): Promise<number> => {
    try {
      const link = await peers.get({ deviceKey: supernode.deviceKey, address: supernode.address })
      const result = await link.request({ t: 'forward', id: link.nextId(), to: user, envelope }, 'forward-result')
      return result.delivered
    } catch (err) {
      // The locator may point at a supernode that died; the host re-homes and republishes.
      cache.delete(user)
      log.debug({ user, supernode: supernode.address, err: (err as Error).message }, 'forward failed')
      return 0
    }
  }

  return {
    locators,
    deliverLocal,
    forget: user => { cache.delete(user) },
    async routeToUser (user, envelope) {
      let delivered = deliverLocal(user, envelope)
      const remote = new Map<string, Locator['supernode']>()
      for (const locator of await locators(user).catch(() => [])) {
        if (locator.supernode.deviceKey !== self.deviceKey) remote.set(locator.supernode.deviceKey, locator.supernode)
      }
      const counts = await Promise.all([...remote.values()].map(supernode => forwardTo(supernode, user, envelope)))
      for (const count of counts) delivered += count
      if (delivered === 0 && remote.size > 0) {
        // Every forward failed or found nobody: look again once, the user may have re-homed.
        cache.delete(user)
      }
      return delivered
    }
  }
}
