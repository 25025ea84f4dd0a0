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
    ping(components, state, link)
    schedulePing(components, state)
  }, PING_INTERVAL_MS)
}

function ping (components: HostComponents, state: HostState, link: Link): void {
  const { clock, cache } = components
  const sentAt = clock.now()
  link.request({ t: 'ping', id: link.nextId() }, 'pong', PING_TIMEOUT_MS).then(pong => {
    if (state.supernode !== undefined) cache.reportLoad(state.supernode.deviceKey, pong.hosts, pong.capacity)
    if (pong.capacityNeeded !== state.capacityNeeded) {
      state.capacityNeeded = pong.capacityNeeded
      state.emit({ event: 'capacity', needed: state.capacityNeeded })
    }
  }, (err: Error) => {
    if (err instanceof LinkClosedError || state.link !== link || link.closed) return
    const now = clock.now()
    // Anything the supernode sent after our ping shows it is alive; the next ping judges again.
    if (link.lastFrameAt > sentAt) return
    // This late, it is our own process that stalled (GC pause, CPU starvation, suspend), not
    // the supernode that went quiet: its pong may be waiting unread behind this timer. Judge
    // it on a fresh ping rather than drop a healthy link.
    if (now - sentAt > PING_TIMEOUT_MS + KEEPALIVE_STALL_MS) { ping(components, state, link); return }
    link.close(`no pong for ${PING_TIMEOUT_MS} ms`)
  })
}
