// A host registering with a supernode: a message that arrives right behind
// 'registered' (in the same read: a contact's message, a call's re-offer to a
// host that just re-homed) is the first the new home delivers, not a reason to
// drop the link. Frames from the supernode are held and then handed over
// back to back, as one network read would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHost, type HostEvent } from '../../node/overlay/host.js'
import { createSupernodeCache } from '../../node/overlay/supernode-cache.js'
import type { Connection, ConnectionHandlers, Transport } from '../../node/net/transport.js'
import { flushAsync } from '../../node/net/fake-clock.js'
import { createHarness, recordingLogger, type Harness, type LogEntry } from './bad-input-harness.js'

/** Frames of the supernode's handshake (its hello): the next one is its answer to our register. */
const HANDSHAKE_FRAMES = 1

/** A transport whose connections hold the supernode's frames after the handshake until release(). */
function holdingTransport (inner: Transport) {
  const held: Array<() => void> = []
  const transport: Transport = {
    ...inner,
    dial: async (address, timeoutMs) => {
      const connection = await inner.dial(address, timeoutMs)
      let frames = 0
      const wrapped: Connection = {
        get remoteAddress () { return connection.remoteAddress },
        get closed () { return connection.closed },
        send: frame => { connection.send(frame) },
        close: reason => { connection.close(reason) },
        setHandlers: (handlers: ConnectionHandlers) => {
          connection.setHandlers({
            onClose: reason => { handlers.onClose(reason) },
            onFrame: frame => {
              if (frames++ < HANDSHAKE_FRAMES) handlers.onFrame(frame)
              else held.push(() => { handlers.onFrame(frame) })
            }
          })
        }
      }
      return wrapped
    }
  }
  return { transport, held, release: () => { for (const deliver of held.splice(0)) deliver() } }
}

let h: Harness
beforeEach(async () => { h = await createHarness() })
afterEach(async () => { h.close(); await flushAsync() })

describe('host registration', () => {
  it('keeps the new link when a delivery arrives in the same read as registered, and delivers it', async () => {
    const alice = await h.addHost('alice', ['bob'])
    const device = h.device('bob')
    const logs: LogEntry[] = []
    const events: HostEvent[] = []
    const cache = createSupernodeCache()
    cache.add([h.sn.ref], h.clock.now())
    const wire = holdingTransport(h.network.transport('198.18.1.'))
    const bob = createHost(
      { sodium: h.sodium, clock: h.clock, transport: wire.transport, identity: device.identity, issuerKey: h.issuer.publicKey, log: recordingLogger(logs, { host: 'bob' }), cache },
      { user: 'bob', deviceKey: device.deviceKey, audience: ['alice'], lookup: h.lookupFor('bob'), capabilities: [h.capabilityFor('alice')], onEvent: event => { events.push(event) } }
    )
    bob.start()
    // The supernode registered bob and answered; the answer waits in the "socket".
    for (let waited = 0; wire.held.length === 0 && waited < 2000; waited += 10) await h.run(10)
    expect(wire.held).toHaveLength(1)
    // Alice's message to bob goes out right behind it.
    const sent = alice.host.send('bob', { type: 'probe', n: 1 })
    for (let waited = 0; wire.held.length < 2 && waited < 2000; waited += 10) await h.run(10)
    expect(wire.held.length).toBeGreaterThanOrEqual(2)
    wire.release()
    await h.run(200)
    expect((await sent).delivered).toBe(1)
    expect(events.filter(e => e.event === 'detached')).toEqual([])
    expect(events.find(e => e.event === 'attached')).toBeDefined()
    expect(bob.supernode?.deviceKey).toBe(h.sn.ref.deviceKey)
    expect(events).toContainEqual(expect.objectContaining({ event: 'application-body', body: expect.objectContaining({ type: 'probe', n: 1 }) }))
    bob.close()
  })
})
