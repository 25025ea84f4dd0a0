// When each contact's status last changed, as this node saw it: what
// `contacts` shows next to the status. A contact's first status heard within
// PRESENCE_SETTLE_MS of our first attachment (or of their becoming a contact)
// is the answer to our presence query: when we learned it, not when it changed
// (`exact` false). Sans-IO: times come in as arguments.
import { PRESENCE_SETTLE_MS } from './defaults.js'

export interface StatusTimes {
  /** `users` became contacts (or were ours when the node started) at `now`. */
  listening: (users: string[], now: number) => void
  forget: (users: string[]) => void
  /** Our host attached; only the first time counts. */
  attached: (now: number) => void
  changed: (user: string, now: number) => void
  of: (user: string) => { statusSince: number | null, statusSinceExact: boolean }
}

export function createStatusTimes (settleMs = PRESENCE_SETTLE_MS): StatusTimes {
  const changedAt = new Map<string, { at: number, exact: boolean }>()
  const listeningSince = new Map<string, number>()
  let attachedAt: number | undefined
  return {
    listening (users, now) { for (const user of users) listeningSince.set(user, now) },
    forget (users) {
      for (const user of users) { listeningSince.delete(user); changedAt.delete(user) }
    },
    attached (now) { attachedAt ??= now },
    changed (user, now) {
      const from = Math.max(attachedAt ?? Infinity, listeningSince.get(user) ?? 0)
      changedAt.set(user, { at: now, exact: changedAt.has(user) || now - from > settleMs })
    },
    of (user) {
      const changed = changedAt.get(user)
      return { statusSince: changed?.at ?? null, statusSinceExact: changed?.exact ?? false }
    }
  }
}
