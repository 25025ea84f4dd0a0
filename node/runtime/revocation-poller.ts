// A supernode's view of logouts: it asks the login server for revocations newer
// than the last it has, every REVOCATION_POLL_MS, and hands them to the overlay.
// While the login server is down nobody can log out, so nothing is missed; the
// supernode keeps refusing what it learned before.
import type { LoginClient } from '../../common/login-client.js'
import type { Revocation } from '../../common/revocation.js'
import type { Logger } from '../../common/logger.js'
import { REVOCATION_POLL_MS } from './defaults.js'

/** Pages one poll follows at most (MAX_REVOCATIONS_PER_PAGE each); the rest comes with the next poll. */
const MAX_PAGES_PER_POLL = 20

export interface RevocationPoller {
  /** One poll now (also run on the timer); resolves once the news was handed over. */
  poll: () => Promise<void>
  stop: () => void
}

export function startRevocationPoller (
  client: LoginClient, log: Logger, onRevocations: (revocations: Revocation[]) => void, intervalMs = REVOCATION_POLL_MS
): RevocationPoller {
  let cursor = 0
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let failing = false
  let running: Promise<void> | undefined

  const pollOnce = async (): Promise<void> => {
    try {
      for (let page = 0; page < MAX_PAGES_PER_POLL; page++) {
        const { revocations, more } = await client.revocations(cursor)
        if (revocations.length > 0) {
          cursor = Math.max(cursor, ...revocations.map(r => r.id))
          onRevocations(revocations)
        }
        if (!more) break
      }
      if (failing) log.info({}, 'revocation list reachable again')
      failing = false
    } catch (err) {
      // An outage of the login server is expected now and then: one line when it starts.
      if (!failing) log.warn({}, `cannot read the revocation list (${(err as Error).message}); keeping what we know and retrying`)
      failing = true
    }
  }

  const poll = async (): Promise<void> => { await (running ??= pollOnce().finally(() => { running = undefined })) }
  const schedule = (): void => {
    if (stopped) return
    timer = setTimeout(() => { void poll().finally(schedule) }, intervalMs)
    timer.unref()
  }
  void poll().finally(schedule)
  return {
    poll,
    stop () {
      stopped = true
      clearTimeout(timer)
    }
  }
}
