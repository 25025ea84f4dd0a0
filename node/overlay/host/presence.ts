// Our contacts' presence as this host sees it: asked of our supernode, pushed
// by it (as deliveries), and expired when a contact's node vanished silently.
import { PRESENCE_EXPIRY_CHECK_MS } from '../constants.js'
import { seal } from './records.js'
import type { HostState } from './state.js'
import type { HostComponents } from './types.js'

/** Contacts whose last status ran out (their node vanished without a word) go offline. */
export function expirePresence (components: HostComponents, state: HostState): void {
  const { clock } = components
  for (const change of state.presence.expire(clock.now())) state.emit({ event: 'presence', user: change.user, status: change.status })
  state.timers.expiry = clock.setTimeout(() => { expirePresence(components, state) }, PRESENCE_EXPIRY_CHECK_MS)
}

/** Asks for the presence of these users; answers arrive as 'presence' events. */
export function queryPresence (components: HostComponents, state: HostState, users: string[]): void {
  if (users.length === 0) return
  state.link?.send({ t: 'presence-query', query: seal(components, { type: 'presence-query', from: state.init.user, users, at: components.clock.now() }) })
}
