// Pings our supernode every PING_INTERVAL_MS; a supernode silent for
// PING_TIMEOUT_MS is dropped (and the host re-homes). Pongs carry its load and
// the mesh's need for supernodes.
import { PING_INTERVAL_MS, PING_TIMEOUT_MS } from '../constants.js'
import type { HostState } from './state.js'
import type { HostComponents } from './types.js'

export function schedulePing (components: HostComponents, state: HostState): void {
  const { clock, cache } = components
  const due = clock.now() + PING_INTERVAL_MS
  state.timers.ping = clock.setTimeout(() => {
    const current = state.link
    if (current === undefined) return
    // This late, it is our own process that stalled (GC pause, CPU starvation, suspend), not
    // the supernode that went quiet: its pongs may be waiting unread behind this timer. Judge
    // it on a fresh window rather than drop a healthy link.
    if (clock.now() - due > PING_INTERVAL_MS) state.lastPong = clock.now()
    if (clock.now() - state.lastPong > PING_TIMEOUT_MS) {
      current.close(`no pong for ${PING_TIMEOUT_MS} ms`)
      return
    }
    current.request({ t: 'ping', id: current.nextId() }, 'pong', PING_TIMEOUT_MS).then(pong => {
      state.lastPong = clock.now()
      if (state.supernode !== undefined) cache.reportLoad(state.supernode.deviceKey, pong.hosts, pong.capacity)
      if (pong.capacityNeeded !== state.capacityNeeded) {
        state.capacityNeeded = pong.capacityNeeded
        state.emit({ event: 'capacity', needed: state.capacityNeeded })
      }
    }, () => {})
    schedulePing(components, state)
  }, PING_INTERVAL_MS)
}
