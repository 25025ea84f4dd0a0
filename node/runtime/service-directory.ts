// Who beyond our contacts we can reach in the overlay. Users find only their contacts (the login
// server hands out each contact's lookup capability); services are the exception both ways. Every
// user's node learns the services' capabilities (the PSTN gateway, `pstn`), and a service's own
// node asks the login server, per caller or callee, how to reach that user, keeping the most
// recent MAX_REACHED_USERS.
import type { LookupCapability } from '../../common/lookup-keys.js'
import type { CapabilityView } from '../../common/login-api.js'
import type { Logger } from '../../common/logger.js'
import type { LoginSession } from './login-session.js'

/** Users a service's node keeps reachable at once; with the services it stays under the supernode's MAX_CONTACTS (1000). */
export const MAX_REACHED_USERS = 500
/** After the login server could not say how to reach a user, signals to them go without asking again for this long. */
const REACH_RETRY_MS = 10_000

export interface ServiceDirectory {
  /** Reads the services from the login server (keeps the last list when it cannot). */
  refresh: () => Promise<void>
  isService: (user: string) => boolean
  /** The services' capabilities and (for a service) the users it reached. */
  capabilities: () => LookupCapability[]
  /**
   * A service's node: learns how to reach `user` (and calls onChange). Nothing for a user's node,
   * or when the login server cannot say (logged); never throws.
   */
  reach: (user: string) => Promise<void>
  /** Whether `user` is a service, asking the login server again when it is not known as one (a gateway added since). */
  find: (user: string) => Promise<boolean>
}

const capabilityOf = (view: CapabilityView): LookupCapability => ({ user: view.username, lookupKey: view.lookupKey, sealKey: view.sealKey })

/** `onChange`: the capabilities changed (the supernode must be told). */
export function createServiceDirectory (session: LoginSession, log: Logger, onChange: () => void): ServiceDirectory {
  let services = new Map<string, LookupCapability>()
  /** Least recently used first. */
  const reached = new Map<string, LookupCapability>()
  /** Asks on their way (signals to one caller go out together: one question each) and recent failures (unix ms). */
  const asking = new Map<string, Promise<void>>()
  const failedAt = new Map<string, number>()

  const refresh = async (): Promise<void> => {
    try {
      services = new Map((await session.services()).map(view => [view.username, capabilityOf(view)]))
    } catch (err) {
      log.warn({}, `services not read from the login server (keeping ${services.size} known): ${(err as Error).message}`)
    }
  }

  return {
    refresh,
    async find (user) {
      if (services.has(user)) return true
      await refresh()
      onChange()
      return services.has(user)
    },
    isService: user => services.has(user),
    capabilities: () => [...services.values(), ...reached.values()],
    async reach (user) {
      const reachOf = session.reachOf
      if (reachOf === undefined || services.has(user)) return
      const known = reached.get(user)
      if (known !== undefined) {
        reached.delete(user)
        reached.set(user, known)
        return
      }
      const pending = asking.get(user)
      if (pending !== undefined) { await pending; return }
      if (Date.now() - (failedAt.get(user) ?? -Infinity) < REACH_RETRY_MS) return
      const ask = (async () => {
        try {
          reached.set(user, capabilityOf(await reachOf(user)))
          failedAt.delete(user)
        } catch (err) {
          failedAt.set(user, Date.now())
          if (failedAt.size > MAX_REACHED_USERS) failedAt.delete(failedAt.keys().next().value as string)
          log.warn({ user }, `cannot reach ${user}: the login server did not say how (${(err as Error).message})`)
          return
        }
        for (const oldest of reached.keys()) {
          if (reached.size <= MAX_REACHED_USERS) break
          reached.delete(oldest)
        }
        onChange()
      })()
      asking.set(user, ask)
      try { await ask } finally { asking.delete(user) }
    }
  }
}
