// The memory network's faults: partitions, crashes, loss, dials that time out,
// and the fake dial-back checker that judges reachability through them.
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../helpers/random.js'
import type { Connection } from '../../node/net/transport.js'
import { record, setup, text } from './memory-network-harness.js'

describe('memory network faults', () => {
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

    const dialing = network.machine('10.0.0.2').dial('10.0.0.1:7000', 300)
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

  it('kill(ip) resets every peer connection and takes the machine down until revived', async () => {
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

    const dialing = network.machine('10.0.0.2').dial('10.0.0.1:7000', 100)
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

  it('a dial in progress from a killed machine fails', async () => {
    const { network } = await setup()
    const dialing = network.machine('10.0.0.2').dial('10.0.0.1:7000')
    network.kill('10.0.0.2')
    await expect(dialing).rejects.toThrow(/host 10.0.0.2 was killed/)
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

  it('a dial that times out after the listener accepted resets the accepted side', async () => {
    const { clock, network, accepted } = await setup({ latencyMs: 60 })
    const dialing = network.machine('10.0.0.2').dial('10.0.0.1:7000', 100)
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

    it('is ok for a listening machine that is up and reachable, and says why not otherwise', async () => {
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

    it('checks the device key when told which machine has which key', async () => {
      const { network } = await setup()
      const check = network.dialer({ deviceKeyOf: ip => ip === '10.0.0.1' ? key : undefined })
      await expect(check('10.0.0.1:7000', key)).resolves.toMatchObject({ ok: true })
      await expect(check('10.0.0.1:7000', new Uint8Array(32))).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/valid proof/) })
    })
  })
})
