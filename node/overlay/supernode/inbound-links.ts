// Every inbound link holds a socket of the supernode, so every one is bounded
// and timed:
// - counted against its source address (an IPv4 address, an IPv6 /64) from
//   the moment it connects, handshakes in progress included, and against its
//   device key and its user once the handshake says who it is; a link over a
//   cap is closed at once with the reason, the links already held keep working;
// - closed when it does not say what it is (register, peer-hello) within
//   FIRST_MESSAGE_TIMEOUT_MS of the handshake (the handshake has its own
//   timeout in link.ts);
// - a host link is closed when it carries nothing for HOST_SILENCE_LIMIT_MS
//   (a beat more than 4 s late): the host froze or vanished without a close, and its
//   contacts must see it offline now, not when its records expire. One sweep
//   every SILENCE_SWEEP_MS looks over all host links (no timer per link).
//   A closed link leaves the sweep's set at the next sweep.
import { addressGroupOf, parseHostPort } from '../../../common/address.js'
import type { Clock } from '../../../common/clock.js'
import type { Connection, ConnectionHandlers } from '../../net/transport.js'
import type { Link } from '../link.js'
import type { Logger } from '../../../common/logger.js'
import type { TimerHandle } from '../../../common/clock.js'
import {
  FIRST_MESSAGE_TIMEOUT_MS, HOST_SILENCE_LIMIT_MS, MAX_LINKS_PER_ADDRESS, MAX_LINKS_PER_DEVICE, MAX_LINKS_PER_USER, SILENCE_SWEEP_MS
} from '../constants.js'

export interface LinkCaps { perAddress: number, perDevice: number, perUser: number }

export const DEFAULT_LINK_CAPS: LinkCaps = { perAddress: MAX_LINKS_PER_ADDRESS, perDevice: MAX_LINKS_PER_DEVICE, perUser: MAX_LINKS_PER_USER }

export interface AdmittedConnection {
  /** The connection to run the link on: its close frees every slot it holds. */
  connection: Connection
  /** Counts the authenticated link against its device key and user; false (link closed, warning logged) when over a cap. */
  identified: (link: Link) => boolean
}

export interface InboundLinks {
  /** Counts a new connection against its source address; undefined (connection closed, warning logged) when over the cap. */
  admit: (connection: Connection) => AdmittedConnection | undefined
  /** Closes `link` unless `said` is called within FIRST_MESSAGE_TIMEOUT_MS. */
  expectFirstMessage: (link: Link) => { said: () => void }
  /** Closes the host link once it has been silent for HOST_SILENCE_LIMIT_MS. */
  closeWhenSilent: (link: Link) => void
  /** Stops the silence sweep (the supernode closed). */
  close: () => void
}

export function createInboundLinks (components: { clock: Clock, log: Logger }, caps: LinkCaps = DEFAULT_LINK_CAPS): InboundLinks {
  const { clock, log } = components
  const counts = new Map<string, number>()
  const add = (key: string, delta: number): void => {
    const next = (counts.get(key) ?? 0) + delta
    if (next <= 0) counts.delete(key)
    else counts.set(key, next)
  }
  const full = (key: string, cap: number): boolean => (counts.get(key) ?? 0) >= cap
  // Host links under the silence watch, and the one sweep over them (running while there are any).
  const watched = new Set<Link>()
  let sweepTimer: TimerHandle | undefined
  let sweepDue = 0
  let stopped = false
  const sweep = (): void => {
    sweepTimer = undefined
    const now = clock.now()
    // A sweep that runs late means our own process stalled (GC, CPU starvation, suspend): the
    // hosts' beats may be waiting unread behind this timer. This round closes nothing; the next
    // one judges each link by its own last frame, once what waited has been read. (Resetting
    // everyone's silence instead would let stalls every few seconds keep a frozen host forever.)
    const late = now - sweepDue > SILENCE_SWEEP_MS
    for (const link of watched) {
      if (link.closed) { watched.delete(link); continue }
      const silentMs = now - link.lastFrameAt
      if (late || silentMs < HOST_SILENCE_LIMIT_MS) continue
      watched.delete(link)
      log.info({ peer: link.peer.user, remote: link.remoteAddress }, `host link closed: nothing received for ${silentMs} ms`)
      link.close(`no traffic for ${silentMs} ms (keepalive missed)`)
    }
    schedule()
  }
  const schedule = (): void => {
    if (stopped || sweepTimer !== undefined || watched.size === 0) return
    sweepDue = clock.now() + SILENCE_SWEEP_MS
    sweepTimer = clock.setTimeout(sweep, SILENCE_SWEEP_MS)
  }

  return {
    admit (connection) {
      const source = parseHostPort(connection.remoteAddress)?.host ?? connection.remoteAddress
      const addressKey = `address ${addressGroupOf(source)}`
      if (full(addressKey, caps.perAddress)) {
        log.warn({ remote: connection.remoteAddress, cap: caps.perAddress }, 'link refused: too many links from this address')
        connection.close(`too many links from this address (at most ${caps.perAddress})`)
        return undefined
      }
      const counted = new CountedConnection(connection, add)
      counted.hold(addressKey)
      return {
        connection: counted,
        identified (link) {
          const { user, deviceKey } = link.peer
          const over = full(`device ${deviceKey}`, caps.perDevice)
            ? `too many links for this device (at most ${caps.perDevice})`
            : full(`user ${user}`, caps.perUser) ? `too many links for this user (at most ${caps.perUser})` : undefined
          if (over !== undefined) {
            log.warn({ user, device: deviceKey.slice(0, 8), remote: link.remoteAddress }, `link refused: ${over}`)
            link.close(over)
            return false
          }
          counted.hold(`device ${deviceKey}`)
          counted.hold(`user ${user}`)
          return true
        }
      }
    },

    expectFirstMessage (link) {
      const timer = clock.setTimeout(() => {
        if (link.closed) return
        log.warn({ peer: link.peer.user, remote: link.remoteAddress }, `link closed: no register or peer-hello within ${FIRST_MESSAGE_TIMEOUT_MS} ms`)
        link.close(`no register or peer-hello within ${FIRST_MESSAGE_TIMEOUT_MS} ms`)
      }, FIRST_MESSAGE_TIMEOUT_MS)
      return { said: () => { clock.clearTimeout(timer) } }
    },

    closeWhenSilent (link) {
      if (link.closed || watched.has(link)) return
      // The supernode closed while this host was registering: nothing watches it any more.
      if (stopped) { link.close('supernode closing'); return }
      watched.add(link)
      schedule()
    },

    close () {
      stopped = true
      watched.clear()
      if (sweepTimer !== undefined) clock.clearTimeout(sweepTimer)
      sweepTimer = undefined
    }
  }
}

/**
 * An admitted connection: it holds its slots (address, then device and user) until it closes.
 * A class that is its own inner connection's handlers, not a wrapper of closures: a supernode
 * keeps one per host link for the link's whole life.
 */
class CountedConnection implements Connection, ConnectionHandlers {
  private handlers: ConnectionHandlers | undefined
  private readonly held: string[] = []
  private released = false

  constructor (private readonly inner: Connection, private readonly add: (key: string, delta: number) => void) {}

  get remoteAddress (): string { return this.inner.remoteAddress }
  get closed (): boolean { return this.inner.closed }
  send (frame: Uint8Array): void { this.inner.send(frame) }
  close (reason?: string): void { this.inner.close(reason) }

  setHandlers (handlers: ConnectionHandlers): void {
    this.handlers = handlers
    this.inner.setHandlers(this)
  }

  // The inner connection's handlers (this object is them): only the inner connection calls these.
  onFrame (frame: Uint8Array): void { this.handlers?.onFrame(frame) }

  onClose (reason: string): void {
    this.release()
    this.handlers?.onClose(reason)
  }

  /** Counts one more slot, unless the connection closed already (nothing left to count). */
  hold (key: string): void {
    if (this.released) return
    this.held.push(key)
    this.add(key, 1)
  }

  private release (): void {
    if (this.released) return
    this.released = true
    for (const key of this.held) this.add(key, -1)
  }
}
