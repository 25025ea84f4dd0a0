// What the parts of the overlay bench share.

export const PASSWORD = 'correct horse battery staple'
/** C's --max-hosts: room for every bench host the flags allow. */
export const MAX_HOSTS = 10_000
/** Account creations and logins in flight at once. */
export const HTTP_CONCURRENCY = 16
/** A bench host not registered with C by then counts as failed (and is closed). */
export const ATTACH_TIMEOUT_MS = 60_000
/** After this many failed hosts the registration phase stops starting new ones: the supernode (or this box) is past its limit. */
export const GIVE_UP_AFTER_FAILURES = 50
