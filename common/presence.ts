// Presence statuses, declared once: what contacts see (signed in presence
// bodies, listed by the control API and the CLI) and what a user may set.
// Their schemas are in presence-schemas.ts: the CLI uses these lists without loading TypeBox.

/** What contacts see, in the order lists show them (online first). */
export const PRESENCE_STATUSES = ['online', 'away', 'busy', 'offline'] as const
export type PresenceStatus = typeof PRESENCE_STATUSES[number]

/** What a user may set: "invisible" is shown to contacts as "offline" (still callable). */
export const SETTABLE_STATUSES = ['online', 'away', 'busy', 'invisible'] as const
export type SettableStatus = typeof SETTABLE_STATUSES[number]

/** A user's own status as the node holds it: anything shown, or invisible. */
export type UserStatus = PresenceStatus | 'invisible'

/** Whether `value` is a status a user may set. */
export function isSettableStatus (value: string): value is SettableStatus {
  return (SETTABLE_STATUSES as readonly string[]).includes(value)
}
