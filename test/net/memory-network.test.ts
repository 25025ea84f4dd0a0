import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createMemoryNetwork, type MemoryNetworkOptions } from '../../node/net/memory-network.js'
import { seededRandom } from '../helpers/random.js'
import { MAX_FRAME_BYTES, type Connection, type Listener } from '../../node/net/transport.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const str = (b: Uint8Array): string => new TextDecoder().decode(b)

interface Recorder { frames: string[], times: number[], closes: string[] }

function record (connection: Connection, clock: FakeClock): Recorder {
  const rec: Recorder = { frames: [], times: [], closes: [] }
  connection.setHandlers({
    onFrame: frame => { rec.frames.push(str(frame)); rec.times.push(clock.now()) },
    onClose: reason => { rec.closes.push(reason) }
  })
  return rec
}

/** A network with server 10.0.0.1 listening on :7000 and a helper to dial it from a client host. */
async function setup (options: Partial<MemoryNetworkOptions> = {}) {
  const clock = new FakeClock(0)
  const network = createMemoryNetwork({ clock, latencyMs: 10, ...options })
  const server = network.host('10.0.0.1')
  const accepted: Connection[] = []
  const listener = await server.listen('10.0.0.1:7000', connection => { accepted.push(connection) })
  const connect = async (from = '10.0.0.2'): Promise<Connection> => {
    let done = false
    const dialing = network.host(from).dial('10.0.0.1:7000').finally(() => { done = true })
    for (let waited = 0; !done && waited < 10_000; waited++) {
      clock.advance(1)
      await Promise.resolve()
    }
    return await dialing
  }
  return { clock, network, server, listener, accepted, connect }
}

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
    const dialing = network.host('10.0.0.2').dial('10.0.0.1:7000').then(c => { resolvedAt = clock.now(); return c })
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

  it('refuses a dial when nothing listens, and times out when the host does not answer', async () => {
    const { clock, network } = await setup()
    const client = network.host('10.0.0.2')
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

  it('refuses to listen twice on one port or on another host\'s address, and assigns port 0', async () => {
    const { network, server } = await setup()
    await expect(server.listen('10.0.0.1:7000', () => {})).rejects.toThrow(/address in use/)
    await expect(server.listen('10.0.0.9:7000', () => {})).rejects.toThrow(/not an address of host 10.0.0.1/)
    const any = await server.listen('10.0.0.1:0', () => {})
    expect(any.address).toMatch(/^10\.0\.0\.1:\d+$/)
    expect(any.address).not.toBe('10.0.0.1:0')
    const wildcard = await network.host('10.0.0.3').listen('0.0.0.0:80', () => {})
    expect(wildcard.address).toBe('10.0.0.3:80')
  })

  it('drops everything across a partition and works again after heal', async () => {
    const { clock, network, accepted, connect } = await setup()
    const client = await connect()
    const serverSide = accepted[0] as Connection
    const atServer = record(serverSide, clock)
    const atClient = record(client, clock)

    network.partition(['10.0.0.1'], ['10.0.0.2'])
    expect(network.isPartitioned('10.0.0.2', '10.0.0.1')).toBe(true)
    client.send(text('lost-1'))
    serverSide.send(text('lost-2'))
    clock.advance(50)
    expect(atServer.frames).toEqual([])
    expect(atClient.frames).toEqual([])

    // A frame in flight when the partition starts is lost too.
    network.heal()
    client.send(text('in-flight'))
    network.partition(['10.0.0.1'])
    clock.advance(50)
    expect(atServer.frames).toEqual([])

    const dialing = network.host('10.0.0.2').dial('10.0.0.1:7000', 300)
    const check = expect(dialing).rejects.toThrow(/timed out after 300 ms/)
    clock.advance(300)
    await check

    // Closing across a partition is not noticed by the other side.
    network.heal()
    client.send(text('after-heal'))
    serverSide.send(text('reply'))
    clock.advance(10)
    expect(atServer.frames).toEqual(['after-heal'])
    expect(atClient.frames).toEqual(['reply'])
    expect(atServer.closes).toEqual([])
    const third = await connect('10.0.0.3')
    expect(third.closed).toBe(false)
    expect(network.stats.framesDropped).toBe(3)
  })

  it('kill(ip) resets every peer connection and takes the host down until revived', async () => {
    const { clock, network, server, listener, accepted, connect } = await setup()
    const a = await connect('10.0.0.2')
    const b = await connect('10.0.0.3')
    const atA = record(a, clock)
    const atB = record(b, clock)
    const serverSides = accepted.map(c => record(c, clock))
    expect(server.openConnections).toBe(2)

    accepted[0]?.send(text('unsent at crash'))
    network.kill('10.0.0.1')
    expect(server.up).toBe(false)
    await Promise.resolve()
    expect(serverSides.map(r => r.closes)).toEqual([['host killed'], ['host killed']])
    expect(accepted.every(c => c.closed)).toBe(true)
    expect(atA.closes).toEqual([])
    clock.advance(10)
    expect(atA.closes).toEqual(['connection reset'])
    expect(atB.closes).toEqual(['connection reset'])
    expect(atA.frames).toEqual([])
    expect(a.closed && b.closed).toBe(true)
    expect(server.openConnections).toBe(0)
    await listener.close() // idempotent after a crash

    const dialing = network.host('10.0.0.2').dial('10.0.0.1:7000', 100)
    const check = expect(dialing).rejects.toThrow(/timed out/)
    clock.advance(100)
    await check
    await expect(server.listen('10.0.0.1:7000', () => {})).rejects.toThrow(/is down/)
    await expect(server.dial('10.0.0.2:1')).rejects.toThrow(/is down/)
    expect(() => { network.kill('10.7.7.7') }).toThrow(/no host/)

    network.revive('10.0.0.1')
    await server.listen('10.0.0.1:7000', connection => { accepted.push(connection) })
    const again = await connect('10.0.0.2')
    expect(again.closed).toBe(false)
  })

  it('a dial in progress from a killed host fails', async () => {
    const { network } = await setup()
    const dialing = network.host('10.0.0.2').dial('10.0.0.1:7000')
    network.kill('10.0.0.2')
    await expect(dialing).rejects.toThrow(/host 10.0.0.2 was killed/)
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
    const dialing = network.host('10.0.0.2').dial('10.0.0.1:7000')
    const check = expect(dialing).rejects.toThrow(/connection refused/)
    clock.advance(20)
    await check
  })

  it('buffers frames (and the close) that arrive before setHandlers, and delivers them in order', async () => {
    const { clock, network } = await setup()
    const server = network.host('10.0.0.5')
    await server.listen('10.0.0.5:1', connection => {
      connection.send(text('one'))
      connection.send(text('two'))
      connection.close('done')
    })
    const dialing = network.host('10.0.0.2').dial('10.0.0.5:1')
    clock.advance(100)
    const client = await dialing
    expect(client.closed).toBe(true)
    const rec = record(client, clock)
    expect(rec.frames).toEqual([]) // not re-entrantly inside setHandlers
    await Promise.resolve()
    expect(rec.frames).toEqual(['one', 'two'])
    expect(rec.closes).toEqual(['remote closed: done'])
  })

  it('drops about lossRate of the frames, the same ones for the same seed', async () => {
    const run = async (seed: number): Promise<{ delivered: string[], dropped: number }> => {
      const { clock, network, accepted, connect } = await setup({ lossRate: 0.2, random: seededRandom(seed) })
      const client = await connect()
      const rec = record(accepted[0] as Connection, clock)
      for (let i = 0; i < 5000; i++) client.send(text(String(i)))
      clock.advance(10)
      const { stats } = network
      expect(stats.framesSent).toBe(5000)
      expect(stats.framesDelivered + stats.framesDropped).toBe(5000)
      return { delivered: rec.frames, dropped: stats.framesDropped }
    }
    const first = await run(7)
    const again = await run(7)
    const other = await run(8)
    expect(first.dropped / 5000).toBeGreaterThan(0.18)
    expect(first.dropped / 5000).toBeLessThan(0.22)
    expect(again).toEqual(first)
    expect(other.delivered).not.toEqual(first.delivered)
    // What survives still arrives in order.
    const numbers = first.delivered.map(Number)
    expect([...numbers].sort((x, y) => x - y)).toEqual(numbers)
  })

  it('counts frames and bytes sent, per network and per host', async () => {
    const { clock, network, server, accepted, connect } = await setup()
    const client = await connect()
    record(accepted[0] as Connection, clock)
    client.send(new Uint8Array(100))
    client.send(new Uint8Array(50))
    accepted[0]?.send(new Uint8Array(7))
    clock.advance(10)
    expect(network.stats).toMatchObject({ framesSent: 3, bytesSent: 157, framesDelivered: 3, bytesDelivered: 157, framesDropped: 0, connectionsOpened: 1 })
    expect(network.host('10.0.0.2').stats).toEqual({ framesSent: 2, bytesSent: 150, framesReceived: 1, bytesReceived: 7 })
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

  it('gives every transport() without an address a fresh one, and host(ip) the same object', () => {
    const network = createMemoryNetwork({ clock: new FakeClock() })
    const a = network.transport()
    const b = network.transport()
    expect(a.ip).not.toBe(b.ip)
    expect(network.host(a.ip)).toBe(a)
    expect(a.ip).toBe('10.0.0.1')
    expect(network.transport('10.1.2.3')).toBe(network.host('10.1.2.3'))
    network.host('198.18.1.2')
    expect([network.transport('198.18.1.').ip, network.transport('198.18.1.').ip]).toEqual(['198.18.1.1', '198.18.1.3'])
    expect(network.transport('198.19.').ip).toBe('198.19.0.1')
    expect(() => network.host('bad address!')).toThrow(/not a usable host address/)
  })

  it('a dial that times out after the listener accepted resets the accepted side', async () => {
    const { clock, network, accepted } = await setup({ latencyMs: 60 })
    const dialing = network.host('10.0.0.2').dial('10.0.0.1:7000', 100)
    const check = expect(dialing).rejects.toThrow(/timed out after 100 ms/)
    clock.advance(60)
    expect(accepted).toHaveLength(1)
    const atServer = record(accepted[0] as Connection, clock)
    clock.advance(40)
    await check
    clock.advance(60)
    expect(atServer.closes).toEqual(['connection reset'])
  })

  describe('dialer (fake dial-back)', () => {
    const key = new Uint8Array(32).fill(1)

    it('is ok for a listening host that is up and reachable, and says why not otherwise', async () => {
      const { network } = await setup()
      const check = network.dialer()
      await expect(check('10.0.0.1:7000', key)).resolves.toEqual({ ok: true, rttMs: 20 })
      await expect(check('10.0.0.1:7001', key)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/connection refused/) })
      await expect(check('10.4.4.4:7000', key)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/no answer/) })

      network.partition(['10.0.0.1'])
      await expect(check('10.0.0.1:7000', key)).resolves.toMatchObject({ ok: false })
      await expect(network.dialer({ from: '10.0.0.1' })('10.0.0.1:7000', key)).resolves.toMatchObject({ ok: true })
      network.heal()
      await expect(check('10.0.0.1:7000', key)).resolves.toMatchObject({ ok: true })

      network.kill('10.0.0.1')
      await expect(check('10.0.0.1:7000', key)).resolves.toMatchObject({ ok: false })
    })

    it('checks the device key when told which host has which key', async () => {
      const { network } = await setup()
      const check = network.dialer({ deviceKeyOf: ip => ip === '10.0.0.1' ? key : undefined })
      await expect(check('10.0.0.1:7000', key)).resolves.toMatchObject({ ok: true })
      await expect(check('10.0.0.1:7000', new Uint8Array(32))).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/valid proof/) })
    })
  })

  it('runs a few hundred connections deterministically', async () => {
    const clock = new FakeClock(0)
    const network = createMemoryNetwork({ clock, latencyMs: (from, to) => (from.length + to.length) % 7 + 1 })
    const listeners: Listener[] = []
    let echoed = 0
    for (let s = 0; s < 5; s++) {
      listeners.push(await network.host(`10.1.0.${s}`).listen(`10.1.0.${s}:9000`, connection => {
        connection.setHandlers({ onFrame: frame => { connection.send(frame); echoed++ }, onClose: () => {} })
      }))
    }
    const replies: number[] = []
    const dials: Array<Promise<Connection>> = []
    for (let h = 0; h < 300; h++) dials.push(network.host(`10.2.${h >> 8}.${h & 255}`).dial(`10.1.0.${h % 5}:9000`))
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
