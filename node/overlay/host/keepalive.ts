// Keeps our supernode's link alive and watched (the tiers are described in ../constants.ts):
// - a beat (a sealed empty frame, no answer) whenever we sent nothing for BEAT_INTERVAL_MS, so
//   the supernode can tell a frozen or vanished host from a quiet one;
// - a ping every PING_INTERVAL_MS: a supernode that sends nothing at all within PING_TIMEOUT_MS
//   of it is dropped (and the host re-homes). Pongs carry its load and the mesh's need for
//   supernodes.
// A supernode that dies closes its connections, which re-homes the host at once (attach.ts):
// the ping is only for one that went dark without a close.
import { LinkClosedError, type Link } from '../link.js'
import { BEAT_INTERVAL_MS, KEEPALIVE_STALL_MS, PING_INTERVAL_MS, PING_TIMEOUT_MS } from '../constants.js'
import type { HostState } from './state.js'
import type { HostComponents } from './types.js'

/** Starts both timers for a freshly adopted link. */
export function startKeepalive (components: HostComponents, state: HostState): void {
  scheduleBeat(components, state)
  schedulePing(components, state)
}

/** A beat when the link has been quiet (on our side) for BEAT_INTERVAL_MS: any frame we send counts. */
function scheduleBeat (components: HostComponents, state: HostState): void {
  const { clock } = components
  const link = state.link
  if (link === undefined) return
  state.timers.beat = clock.setTimeout(() => {
    if (state.link !== link) return
    if (clock.now() - link.lastSentAt >= BEAT_INTERVAL_MS) link.beat()
    scheduleBeat(components, state)
  }, Math.max(0, link.lastSentAt + BEAT_INTERVAL_MS - clock.now()))
}

function schedulePing (components: HostComponents, state: HostState): void {
  const { clock } = components
  const link = state.link
  if (link === undefined) return
  state.timers.ping = clock.setTimeout(() => {
    if (state.link !== link) return
    void ping(components, state, link)
    schedulePing(components, state)
  }, PING_INTERVAL_MS)
}

/**
 * Asks our supernode for a pong now, with a short timeout: for when something (a call's media
 * going silent) suggests it may have gone dark, which the 15 s pings would notice only later.
 * Resolves true while the link lives; a supernode that does not answer is dropped (re-homing).
 */
export async function checkSupernode (components: HostComponents, state: HostState, timeoutMs: number): Promise<boolean> {
  const link = state.link
  if (link === undefined) return false
  return await ping(components, state, link, timeoutMs)
}

/** One ping; resolves whether the link is still ours and alive once it is answered or judged. */
async function ping (components: HostComponents, state: HostState, link: Link, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  const { clock, cache } = components
  const sentAt = clock.now()
  try {
    const pong = await link.request({ t: 'ping', id: link.nextId() }, 'pong', timeoutMs)
    if (state.supernode !== undefined) cache.reportLoad(state.supernode.deviceKey, pong.hosts, pong.capacity)
    if (pong.capacityNeeded !== state.capacityNeeded) {
      state.capacityNeeded = pong.capacityNeeded
      state.emit({ event: 'capacity', needed: state.capacityNeeded })
    }
    return true
  } catch (err) {
    if (err instanceof LinkClosedError || state.link !== link || link.closed) return false
    // Anything the supernode sent after our ping shows it is alive; the next ping judges again.
    if (link.lastFrameAt > sentAt) return true
    // This late, it is our own process that stalled (GC pause, CPU starvation, suspend), not
    // the supernode that went quiet: its pong may be waiting unread behind this timer. Judge
    // it on a fresh ping rather than drop a healthy link.
    if (clock.now() - sentAt > timeoutMs + KEEPALIVE_STALL_MS) return await ping(components, state, link, timeoutMs)
    link.close(`no pong for ${timeoutMs} ms`)
    return false
  }
}
