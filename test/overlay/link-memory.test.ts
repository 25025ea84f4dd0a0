// What an established link keeps. A supernode holds one link per host for hours, so anything a
// link retains is multiplied by its hosts: once the handshake is over, its state (the handlers
// that ran it, their ephemeral key pair, transcript and timers) must be collectable, while the
// link itself keeps working.
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import type { Connection, ConnectionHandlers } from '../../node/net/transport.js'
import { openLink, type Link } from '../../node/overlay/link.js'
import { connectionPair } from '../helpers/connection-pair.js'
import { gcFunction } from '../helpers/gc.js'
import { loadFixture, type Fixture } from '../wire/fixtures.js'

// Every handshake the link code makes, weakly: the real one, watched.
const handshakes = vi.hoisted(() => [] as Array<WeakRef<object>>)
vi.mock('../../common/wire/link-handshake.js', async importOriginal => {
  const real = await importOriginal<typeof import('../../common/wire/link-handshake.js')>()
  return {
    ...real,
    createLinkHandshake: (...args: Parameters<typeof real.createLinkHandshake>) => {
      const handshake = real.createLinkHandshake(...args)
      handshakes.push(new WeakRef(handshake))
      return handshake
    }
  }
})

/** `connection`, with a weak reference to every handlers object it was given. */
function watched (connection: Connection): { connection: Connection, handlers: Array<WeakRef<ConnectionHandlers>> } {
  const handlers: Array<WeakRef<ConnectionHandlers>> = []
  return {
    handlers,
    connection: {
      get remoteAddress () { return connection.remoteAddress },
      get closed () { return connection.closed },
      send: frame => { connection.send(frame) },
      close: reason => { connection.close(reason) },
      setHandlers: given => {
        handlers.push(new WeakRef(given))
        connection.setHandlers(given)
      }
    }
  }
}

/** A macrotask turn, so WeakRefs made in this job may be cleared, then a full GC. */
async function collect (): Promise<void> {
  const gc = gcFunction()
  if (typeof gc === 'string') throw new Error(gc)
  await new Promise(resolve => setTimeout(resolve, 0))
  gc()
  await new Promise(resolve => setTimeout(resolve, 0))
}

describe('an established link', () => {
  let fx: Fixture
  beforeAll(async () => { fx = await loadFixture() })

  it('lets go of its handshake and the handlers that ran it, and still carries messages both ways', async () => {
    const clock = new FakeClock()
    const [hostEnd, supernodeEnd] = connectionPair()
    const host = watched(hostEnd)
    const supernode = watched(supernodeEnd)
    const components = (device: string) => ({ sodium: fx.sodium, clock, identity: fx.device(device).identity, issuerKey: fx.issuer.publicKey, log: silentLogger })
    const [hostLink, supernodeLink] = await Promise.all([
      openLink(components('alice'), host.connection, 'initiator'),
      openLink(components('sn-one'), supernode.connection, 'responder')
    ]) as [Link, Link]

    await collect()
    expect(handshakes.length).toBe(2)
    expect(handshakes.map(ref => ref.deref()), 'a handshake is still reachable').toEqual([undefined, undefined])
    for (const side of [host, supernode]) {
      const [handshakeHandlers, linkHandlers] = side.handlers.map(ref => ref.deref())
      expect(side.handlers.length).toBe(2)
      expect(handshakeHandlers, 'the handshake handlers are still reachable').toBeUndefined()
      expect(linkHandlers).toBeDefined()
    }

    // A request from the host, answered by the supernode: both directions, through the new handlers.
    supernodeLink.onMessage = message => {
      if (message.t === 'ping') supernodeLink.send({ t: 'pong', id: message.id, hosts: 1, capacity: 10, capacityNeeded: false })
    }
    const pong = await hostLink.request({ t: 'ping', id: hostLink.nextId() }, 'pong')
    expect(pong).toEqual({ t: 'pong', id: 1, hosts: 1, capacity: 10, capacityNeeded: false })

    let closedWith: string | undefined
    hostLink.onClose = reason => { closedWith = reason }
    supernodeLink.close('test over')
    expect(hostLink.closed).toBe(true)
    expect(closedWith).toBe('remote closed: test over')
  })
})
