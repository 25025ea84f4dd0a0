// The supernodes this node knows: persisted in the data directory, seeded from
// the login server's bootstrap list, refreshed from it when they all fail.
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { createSupernodeCache, supernodeRef, type SupernodeCache } from '../overlay/supernode-cache.js'
import type { DataDir } from './data-dir.js'
import type { LoginSession } from './login-session.js'

export interface KnownSupernodes {
  cache: SupernodeCache
  /** Writes the cache to the data directory (a failure is logged, not thrown: the node keeps running). */
  save: () => void
  /** Asks the login server for its current list (when ours is exhausted). */
  refresh: () => void
}

export function openKnownSupernodes (components: { clock: Clock, log: Logger, dataDir: DataDir, session: LoginSession }): KnownSupernodes {
  const { clock, log, dataDir, session } = components
  const cache = createSupernodeCache(dataDir.loadSupernodeCache())
  cache.add(session.supernodes.map(supernodeRef), clock.now())
  const save = (): void => {
    try { dataDir.saveSupernodeCache(cache.entries()) } catch (err) { log.warn({}, `supernode cache not saved: ${(err as Error).message}`) }
  }
  save()
  return {
    cache,
    save,
    refresh () {
      void session.client.supernodes().then(({ supernodes }) => { cache.add(supernodes.map(supernodeRef), clock.now()) }, () => {})
    }
  }
}
