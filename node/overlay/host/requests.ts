// What a host asks of its supernode on behalf of the node: route an envelope,
// send a sealed text, dial back an address (promotion check), TURN credentials.
// Each answers "nothing delivered / not available" when the host is not attached.
import type { CanonicalValue } from '../../../common/canonical.js'
import { ONE_SHOT_TYPES } from '../envelope-bodies.js'
import { MAX_RELEASED_RELAYS } from '../messages.js'
import { recipientDevices, sealText } from '../sealed-text.js'
import { seal } from './records.js'
import type { HostState } from './state.js'
import type { HostComponents, SendResult, TurnServerCredentials } from './types.js'

/** Signs `body` as ours, addressed to `to`, and has our supernode route it to every online device of `to`. */
export async function route (components: HostComponents, state: HostState, to: string, body: Record<string, CanonicalValue>): Promise<SendResult> {
  const current = state.link
  if (current === undefined) return { delivered: 0 }
  // One-shot bodies carry their signing time (a text its sentAt): the recipient refuses old replays by it.
  const signedAt: Record<string, number> = ONE_SHOT_TYPES.has(String(body.type)) && !('sentAt' in body) && !('at' in body) ? { at: components.clock.now() } : {}
  const envelope = seal(components, { ...body, ...signedAt, from: state.init.user, to })
  const result = await current.request({ t: 'route', id: current.nextId(), to, envelope }, 'route-result')
  return { delivered: result.delivered }
}

/** `writtenAt`: when the user wrote it, for a text sent later than that (queued). */
export async function sendText (components: HostComponents, state: HostState, to: string, text: string, id: string, writtenAt?: number): Promise<SendResult & { id: string }> {
  const { sodium, clock } = components
  const current = state.link
  if (current === undefined) return { delivered: 0, id }
  // The text goes only sealed, to the devices the login server certified for `to` (whatever our supernode says).
  const located = await current.request({ t: 'locate', id: current.nextId(), to }, 'located')
  const devices = recipientDevices(sodium, located.devices, { user: to, issuerKey: components.issuerKey, nowSeconds: Math.floor(clock.now() / 1000) })
  if (devices.length === 0) return { delivered: 0, id }
  const sealed = sealText(sodium, text, components.identity, devices)
  const sentAt = clock.now()
  const body: Record<string, CanonicalValue> = { type: 'text', id, sentAt, ...sealed }
  if (writtenAt !== undefined && writtenAt < sentAt) body.writtenAt = writtenAt
  const result = await route(components, state, to, body)
  return { ...result, id }
}

export async function checkReachable (state: HostState, address: string): Promise<{ ok: boolean, reason: string }> {
  const current = state.link
  if (current === undefined) return { ok: false, reason: 'not attached to a supernode' }
  const result = await current.request({ t: 'dialback-request', id: current.nextId(), address }, 'dialback-result', 10_000)
  return { ok: result.ok, reason: result.reason }
}

export async function turnCredentials (state: HostState): Promise<TurnServerCredentials | undefined> {
  const current = state.link
  if (current === undefined) return undefined
  const reply = await current.request({ t: 'turn-request', id: current.nextId() }, 'turn-credentials')
  if (!reply.available) return undefined
  return { host: reply.host, port: reply.port, username: reply.username, password: reply.password, ttlSeconds: reply.ttlSeconds, tcpPort: reply.tcpPort }
}

export function releaseTurn (state: HostState, relayed: Array<{ ip: string, port: number }>): void {
  if (relayed.length > 0) state.link?.send({ t: 'turn-release', relayed: relayed.slice(0, MAX_RELEASED_RELAYS) })
}
