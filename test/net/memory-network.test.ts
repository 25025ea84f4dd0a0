import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createMemoryNetwork } from '../../node/net/memory-network.js'
import { seededRandom } from '../helpers/random.js'
import { MAX_FRAME_BYTES, type Connection, type Listener } from '../../node/net/transport.js'
import { record, setup, text } from './memory-network-harness.js'

describe('memory network', () => {
  it('connects, and carries frames both ways with the addresses each side sees', async () => {
    const { clock, listener, accepted, connect } = await setup()
    expect(listener.address).toBe('10.0.0.1:7000')
    const client = await connect()
    expect(client.remoteAddress).toBe('10.0.0.1:7000')
    expect(accepted).toHaveLength(1)
    const serverSide = accepted[0] as Connection
    expect(serverSide.remoteAddress).toMatch(/^10\.0\.0\.2:\d+$/)
    const atClient = record(client, clock)
    const atServer = record(serverSide, clock)
    client.send(text('hello'))
    serverSide.send(text('hi'))
    clock.advance(10)
    expect(atServer.frames).toEqual(['hello'])
    expect(atClient.frames).toEqual(['hi'])
    expect(client.closed).toBe(false)
  })

  it('takes one latency for the SYN and resolves dial after a round trip', async () => {
    const { clock, network, accepted } = await setup()
    let resolvedAt: number | undefined
    const dialing = network.machine('10.0.0.2').dial('10.0.0.1:7000').then(c => { resolvedAt = clock.now(); return c })
    clock.advance(9)
    expect(accepted).toHaveLength(0)
    clock.advance(1)
    expect(accepted).toHaveLength(1)
    await clock.advanceAsync(10, 1)
    await dialing
    expect(resolvedAt).toBe(20)
  })

  it('delivers in order, one latency after sending, even when latency varies per frame', async () => {
    const random = seededRandom(42)
    const { clock, accepted, connect } = await setup({ latencyMs: () => 5 + Math.floor(random() * 50) })
    const client = await connect()
    await Promise.resolve()
    const serverSide = accepted[0] as Connection
    const rec = record(serverSide, clock)
    for (let i = 0; i < 200; i++) {
      client.send(text(String(i)))
      clock.advance(1)
    }
    clock.advance(100)
    expect(rec.frames).toEqual(Array.from({ length: 200 }, (_, i) => String(i)))
    for (let i = 1; i < rec.times.length; i++) expect(rec.times[i]).toBeGreaterThanOrEqual(rec.times[i - 1] as number)
  })

  it('measures latency on the fake clock', async () => {
    const { clock, accepted, connect } = await setup({ latencyMs: 25 })
    const client = await connect()
    const rec = record(accepted[0] as Connection, clock)
    const sentAt = clock.now()
    client.send(text('a'))
    clock.advance(5)
    client.send(text('b'))
    clock.advance(24)
    expect(rec.frames).toEqual(['a'])
    clock.advance(1)
    expect(rec.frames).toEqual(['a', 'b'])
    expect(rec.times).toEqual([sentAt + 25, sentAt + 30])
  })

  it('refuses a dial when nothing listens, and times out when the machine does not answer', async () => {
    const { clock, network } = await setup()
    const client = network.machine('10.0.0.2')
    const refused = client.dial('10.0.0.1:7001')
    const refusedCheck = expect(refused).rejects.toThrow('cannot dial 10.0.0.1:7001: connection refused')
    clock.advance(20)
    await refusedCheck

    const nobody = client.dial('10.9.9.9:7000', 500)
    const nobodyCheck = expect(nobody).rejects.toThrow('cannot dial 10.9.9.9:7000: timed out after 500 ms')
    clock.advance(499)
    await Promise.resolve()
    clock.advance(1)
    await nobodyCheck
    await expect(client.dial('not an address')).rejects.toThrow(/not a host:port/)
  })

  it('refuses to listen twice on one port or on another machine\'s address, and assigns port 0', async () => {
    const { network, server } = await setup()
    await expect(server.listen('10.0.0.1:7000', () => {})).rejects.toThrow(/address in use/)
    await expect(server.listen('10.0.0.9:7000', () => {})).rejects.toThrow(/not an address of host 10.0.0.1/)
    const any = await server.listen('10.0.0.1:0', () => {})
    expect(any.address).toMatch(/^10\.0\.0\.1:\d+$/)
    expect(any.address).not.toBe('10.0.0.1:0')
    const wildcard = await network.machine('10.0.0.3').listen('0.0.0.0:80', () => {})
    expect(wildcard.address).toBe('10.0.0.3:80')
  })

  it('closes a connection whose frame is too large, with a reason on both sides', async () => {
    const { clock, accepted, connect } = await setup()
    const client = await connect()
    const atClient = record(client, clock)
    const atServer = record(accepted[0] as Connection, clock)
    client.send(new Uint8Array(MAX_FRAME_BYTES))
    client.send(new Uint8Array(MAX_FRAME_BYTES + 1))
    expect(client.closed).toBe(true)
    clock.advance(10)
    await Promise.resolve()
    expect(atServer.frames).toHaveLength(1)
    expect(atClient.closes).toEqual([`frame too large: ${MAX_FRAME_BYTES + 1} bytes > ${MAX_FRAME_BYTES}`])
    expect(atServer.closes).toEqual([`remote closed: frame too large: ${MAX_FRAME_BYTES + 1} bytes > ${MAX_FRAME_BYTES}`])
  })

  it('close is idempotent, delivers what was sent first, fires onClose once per side, drops later sends', async () => {
    const { clock, network, accepted, connect } = await setup()
    const client = await connect()
    const atClient = record(client, clock)
    const atServer = record(accepted[0] as Connection, clock)
    client.send(text('last words'))
    client.close('bye')
    client.close('again')
    client.send(text('ignored'))
    expect(client.closed).toBe(true)
    await Promise.resolve()
    expect(atClient.closes).toEqual(['bye'])
    clock.advance(10)
    expect(atServer.frames).toEqual(['last words'])
    expect(atServer.closes).toEqual(['remote closed: bye'])
    accepted[0]?.close()
    clock.advance(100)
    await Promise.resolve()
    expect(atServer.closes).toHaveLength(1)
    expect(atClient.closes).toHaveLength(1)
    expect(network.stats.framesSent).toBe(1)
  })

  it('listener.close closes the connections it accepted', async () => {
    const { clock, network, listener, accepted, connect } = await setup()
    const client = await connect()
    const atClient = record(client, clock)
    const atServer = record(accepted[0] as Connection, clock)
    await listener.close()
    await listener.close()
    clock.advance(10)
    expect(atServer.closes).toEqual(['listener closed'])
    expect(atClient.closes).toEqual(['remote closed: listener closed'])
    const dialing = network.machine('10.0.0.2').dial('10.0.0.1:7000')
    const check = expect(dialing).rejects.toThrow(/connection refused/)
    clock.advance(20)
    await check
  })

  it('buffers frames (and the close) that arrive before setHandlers, and delivers them in order', async () => {
    const { clock, network } = await setup()
    const server = network.machine('10.0.0.5')
    await server.listen('10.0.0.5:1', connection => {
      connection.send(text('one'))
      connection.send(text('two'))
      connection.close('done')
    })
    const dialing = network.machine('10.0.0.2').dial('10.0.0.5:1')
    clock.advance(100)
    const client = await dialing
    expect(client.closed).toBe(true)
    const rec = record(client, clock)
    expect(rec.frames).toEqual([]) // not re-entrantly inside setHandlers
    await Promise.resolve()
    expect(rec.frames).toEqual(['one', 'two'])
    expect(rec.closes).toEqual(['remote closed: done'])
  })

  it('counts frames and bytes sent, per network and per machine', async () => {
    const { clock, network, server, accepted, connect } = await setup()
    const client = await connect()
    record(accepted[0] as Connection, clock)
    client.send(new Uint8Array(100))
    client.send(new Uint8Array(50))
    accepted[0]?.send(new Uint8Array(7))
    clock.advance(10)
    expect(network.stats).toMatchObject({ framesSent: 3, bytesSent: 157, framesDelivered: 3, bytesDelivered: 157, framesDropped: 0, connectionsOpened: 1 })
    expect(network.machine('10.0.0.2').stats).toEqual({ framesSent: 2, bytesSent: 150, framesReceived: 1, bytesReceived: 7 })
    expect(server.stats).toEqual({ framesSent: 1, bytesSent: 7, framesReceived: 2, bytesReceived: 150 })
  })

  it('copies frames at send, so the sender may reuse its buffer', async () => {
    const { clock, accepted, connect } = await setup()
    const client = await connect()
    const received: Uint8Array[] = []
    accepted[0]?.setHandlers({ onFrame: f => { received.push(f) }, onClose: () => {} })
    const buffer = new Uint8Array([1, 2, 3])
    client.send(buffer)
    buffer[0] = 9
    clock.advance(10)
    expect(received).toEqual([new Uint8Array([1, 2, 3])])
  })

  it('gives every transport() without an address a fresh one, and machine(ip) the same object', () => {
    const network = createMemoryNetwork({ clock: new FakeClock() })
    const a = network.transport()
    const b = network.transport()
    expect(a.ip).not.toBe(b.ip)
    expect(network.machine(a.ip)).toBe(a)
    expect(a.ip).toBe('10.0.0.1')
    expect(network.transport('10.1.2.3')).toBe(network.machine('10.1.2.3'))
    network.machine('198.18.1.2')
    expect([network.transport('198.18.1.').ip, network.transport('198.18.1.').ip]).toEqual(['198.18.1.1', '198.18.1.3'])
    expect(network.transport('198.19.').ip).toBe('198.19.0.1')
    expect(() => network.machine('bad address!')).toThrow(/not a usable host address/)
  })

  it('runs a few hundred connections deterministically', async () => {
    const clock = new FakeClock(0)
    const network = createMemoryNetwork({ clock, latencyMs: (from, to) => (from.length + to.length) % 7 + 1 })
    const listeners: Listener[] = []
    let echoed = 0
    for (let s = 0; s < 5; s++) {
      listeners.push(await network.machine(`10.1.0.${s}`).listen(`10.1.0.${s}:9000`, connection => {
        connection.setHandlers({ onFrame: frame => { connection.send(frame); echoed++ }, onClose: () => {} })
      }))
    }
    const replies: number[] = []
    const dials: Array<Promise<Connection>> = []
    for (let h = 0; h < 300; h++) dials.push(network.machine(`10.2.${h >> 8}.${h & 255}`).dial(`10.1.0.${h % 5}:9000`))
    clock.advance(50)
    const connections = await Promise.all(dials)
    connections.forEach((connection, h) => {
      connection.setHandlers({ onFrame: () => { replies.push(h) }, onClose: () => {} })
      connection.send(text('ping'))
    })
    await Promise.resolve()
    clock.advance(50)
    expect(echoed).toBe(300)
    expect(replies).toHaveLength(300)
  })
})
