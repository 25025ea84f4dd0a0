import { afterEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_K, DEFAULT_MAINTENANCE_INTERVAL_MS, DEFAULT_REPUBLISH_INTERVAL_MS, DEFAULT_RPC_TIMEOUT_MS, MAX_VALUE_BYTES, WHOLE_MESH_TTL_MS
} from '../../node/overlay/dht/constants.js'
import type { Dht } from '../../node/overlay/dht/dht.js'
import { DhtError } from '../../node/overlay/dht/errors.js'
import { keyFor } from '../../node/overlay/dht/ids.js'
import type { DhtRecord } from '../../node/overlay/dht/messages.js'
import { bootstrappedNetwork, createNetwork, recordFor, type Network } from './harness.js'

const K = DEFAULT_K
const MINUTE = 60_000
let network: Network | undefined

afterEach(() => {
  network?.closeAll()
  network = undefined
})

async function start (count: number, options: Parameters<typeof bootstrappedNetwork>[1] = {}): Promise<Network> {
  network = await bootstrappedNetwork(count, options)
  return network
}

const ids = (peers: Array<{ id: string }>): string[] => peers.map(p => p.id)
const holders = (net: Network, key: string): string[] =>
  net.live().filter(dht => dht.getLocal(key).length > 0).map(dht => dht.self.id).sort()
const node = (net: Network, id: string): Dht => net.nodes.get(id) as Dht

async function expectDhtError (promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error, 'expected a DhtError').toBeInstanceOf(DhtError)
  expect((error as DhtError).code).toBe(code)
  if (pattern !== undefined) expect((error as DhtError).message).toMatch(pattern)
}

describe('50 nodes bootstrapped from one seed', () => {
  it('find each other: findNode of any id returns the true k closest (brute force)', async () => {
    const net = await start(50)
    const nodes = net.live()
    for (const dht of nodes) expect(dht.peers().length).toBeGreaterThanOrEqual(K)
    // Nobody knows everybody (full far buckets), so the answers below need iterative lookups.
    expect(nodes.every(dht => dht.peers().length === 49)).toBe(false)

    let tableAlone = 0
    for (let t = 0; t < 12; t++) {
      const target = t < 10 ? keyFor(`target-${t}`) : (nodes[(t * 7) % nodes.length] as Dht).self.id
      for (const querier of [nodes[0], nodes[13], nodes[27], nodes[49]] as Dht[]) {
        const found = await querier.findNode(target)
        expect(ids(found)).toEqual(net.trueClosest(target, K, querier.self.id))
        if (ids(querier.closestPeers(target, K)).join() === ids(found).join()) tableAlone++
      }
    }
    expect(tableAlone).toBeLessThan(48) // the lookup did find nodes the local table did not know
  })

  it('put from one node stores on exactly the k closest; get from any node finds it', async () => {
    const net = await start(50)
    const nodes = net.live()
    const key = keyFor('alice')
    const record = recordFor(key, 'phone', { supernode: '127.0.0.1:9000' }, net.clock)
    expect(await (nodes[3] as Dht).put(record)).toEqual({ stored: K })
    expect(holders(net, key)).toEqual(net.trueClosest(key, K).sort())
    for (const getter of [nodes[0], nodes[20], nodes[41]] as Dht[]) {
      expect(await getter.get(key)).toEqual([record])
    }
    expect(await (nodes[5] as Dht).get(keyFor('nobody'))).toEqual([])
  })

  it('get returns the union of subkeys put from different nodes', async () => {
    const net = await start(50)
    const nodes = net.live()
    const key = keyFor('bob')
    const phone = recordFor(key, 'phone', 'p', net.clock)
    const laptop = recordFor(key, 'laptop', 'l', net.clock, { seq: 4 })
    await (nodes[1] as Dht).put(phone)
    await (nodes[30] as Dht).put(laptop)
    expect(await (nodes[44] as Dht).get(key)).toEqual([laptop, phone])
  })

  it('a higher seq replaces a lower one; an older put is refused everywhere', async () => {
    const net = await start(50)
    const nodes = net.live()
    const key = keyFor('carol')
    const v1 = recordFor(key, 'phone', 'v1', net.clock, { seq: 1 })
    const v2 = recordFor(key, 'phone', 'v2', net.clock, { seq: 2 })
    await (nodes[2] as Dht).put(v1)
    expect(await (nodes[9] as Dht).put(v2)).toEqual({ stored: K })
    expect(await (nodes[17] as Dht).get(key)).toEqual([v2])
    expect(await (nodes[2] as Dht).put(v1)).toEqual({ stored: 0 })
    expect(await (nodes[33] as Dht).get(key)).toEqual([v2])
    for (const id of net.trueClosest(key, K)) expect(node(net, id).getLocal(key)).toEqual([v2])
  })

  it('records expire: gone from get and swept from every store', async () => {
    const net = await start(50)
    const nodes = net.live()
    const key = keyFor('dave')
    await (nodes[7] as Dht).put(recordFor(key, 'phone', 'x', net.clock, { expiresAt: net.clock.now() + 5 * MINUTE }))
    expect(await (nodes[8] as Dht).get(key)).toHaveLength(1)
    net.clock.advance(5 * MINUTE - 1)
    expect(await (nodes[8] as Dht).get(key)).toHaveLength(1)
    await net.clock.advanceAsync(DEFAULT_MAINTENANCE_INTERVAL_MS, DEFAULT_MAINTENANCE_INTERVAL_MS)
    expect(await (nodes[8] as Dht).get(key)).toEqual([])
    expect(nodes.reduce((sum, dht) => sum + dht.stats().records, 0)).toBe(0)
  })

  it('survives the death of the k/2 closest nodes; republish restores k live replicas', async () => {
    const net = await start(50)
    const key = keyFor('erin')
    const record = recordFor(key, 'phone', 'here', net.clock, { expiresAt: net.clock.now() + 2 * 60 * MINUTE })
    const original = net.trueClosest(key, K)
    const publisher = net.live().find(dht => !original.includes(dht.self.id)) as Dht
    expect(await publisher.put(record)).toEqual({ stored: K })

    for (const id of original.slice(0, K / 2)) net.kill(id)
    const getter = net.live().find(dht => !original.includes(dht.self.id) && dht !== publisher) as Dht
    expect(await getter.get(key)).toEqual([record])

    const liveClosest = net.trueClosest(key, K)
    const missing = liveClosest.filter(id => node(net, id).getLocal(key).length === 0)
    expect(missing.length).toBe(K / 2) // the newcomers to the k closest do not hold it yet

    await net.clock.advanceAsync(DEFAULT_REPUBLISH_INTERVAL_MS + DEFAULT_MAINTENANCE_INTERVAL_MS, DEFAULT_MAINTENANCE_INTERVAL_MS)
    await net.settle()
    for (const id of liveClosest) expect(node(net, id).getLocal(key), `replica on ${id.slice(0, 8)}`).toEqual([record])

    // Kill the other half of the original holders too: the record lives on.
    for (const id of original) net.kill(id)
    expect(await getter.get(key)).toEqual([record])
  })

  it('a value response with a key full of maximum-size records fits the message bound', async () => {
    const net = await start(20)
    const nodes = net.live()
    const key = keyFor('frank')
    const big = 'v'.repeat(MAX_VALUE_BYTES - 2)
    const accepted: DhtRecord[] = []
    for (let i = 0; i < 16; i++) {
      const record = recordFor(key, `device-${String(i).padStart(2, '0')}`, big, net.clock)
      try {
        if ((await (nodes[0] as Dht).put(record)).stored > 0) accepted.push(record)
      } catch {}
    }
    expect(accepted.length).toBeGreaterThanOrEqual(8)
    const getter = nodes.find(dht => dht.getLocal(key).length === 0) as Dht
    expect(await getter.get(key)).toEqual(accepted)
  })
})

describe('record validation across the network', () => {
  const validateRecord = (record: DhtRecord): string | undefined =>
    (record.value as { sig?: string } | null)?.sig === 'good' ? undefined : 'bad signature'

  it('put refuses a record validateRecord rejects, and nothing is stored anywhere', async () => {
    const net = await start(20, { validateRecord })
    const key = keyFor('mallory')
    await expectDhtError((net.live()[0] as Dht).put(recordFor(key, 'd', { sig: 'forged' }, net.clock)), 'ERR_INVALID_RECORD', /bad signature/)
    expect(holders(net, key)).toEqual([])
  })

  it('a store request with a bad record is answered ok:false with the reason', async () => {
    const net = await start(5, { validateRecord })
    const [a, b] = net.live() as [Dht, Dht]
    const key = keyFor('mallory')
    expect(await b.handleRequest(a.self, { t: 'store', record: recordFor(key, 'd', { sig: 'forged' }, net.clock) }))
      .toEqual({ t: 'stored', ok: false, reason: 'refused: bad signature' })
    expect(b.getLocal(key)).toEqual([])
    expect(await b.handleRequest(a.self, { t: 'store', record: recordFor(key, 'd', { sig: 'good' }, net.clock) }))
      .toEqual({ t: 'stored', ok: true })
  })

  it('get ignores forged, expired or foreign records a rogue peer returns', async () => {
    const net = await start(20, { validateRecord })
    const key = keyFor('grace')
    const real = recordFor(key, 'phone', { sig: 'good', at: 'real' }, net.clock, { seq: 3 })
    const nodes = net.live()
    await (nodes[0] as Dht).put(real)
    const rogue = net.trueClosest(key, 1)[0] as string
    net.intercept.set(rogue, request => request.t === 'find_value'
      ? {
          t: 'value',
          peers: [],
          records: [
            recordFor(key, 'phone', { sig: 'forged', at: 'evil' }, net.clock, { seq: 99 }),
            recordFor(key, 'tablet', { sig: 'good' }, net.clock, { expiresAt: net.clock.now() - 1 }),
            recordFor(keyFor('someone-else'), 'laptop', { sig: 'good' }, net.clock)
          ]
        }
      : undefined)
    const getter = nodes.find(dht => dht.getLocal(key).length === 0) as Dht
    expect(await getter.get(key)).toEqual([real])
  })
})

describe('bad input and misbehaving peers', () => {
  it('handleRequest rejects malformed requests with a DhtError and does not learn the sender', async () => {
    network = createNetwork()
    const dht = network.add()
    const stranger = { id: keyFor('stranger'), address: '127.0.0.1:5555' }
    await expectDhtError(dht.handleRequest(stranger, { t: 'find_node', target: 'ABC' }), 'ERR_INVALID_MESSAGE', /invalid find_node request: \/target/)
    await expectDhtError(dht.handleRequest(stranger, { t: 'store', record: recordFor(keyFor('x'), 'd', 'x'.repeat(5000), network.clock) }), 'ERR_INVALID_MESSAGE', /more than 4096/)
    await expectDhtError(dht.handleRequest(stranger, { t: 'nope' }), 'ERR_INVALID_MESSAGE', /unknown request type "nope"/)
    await expectDhtError(dht.handleRequest(stranger, 'ping'), 'ERR_INVALID_MESSAGE')
    expect(dht.peers()).toEqual([])
    await expectDhtError(dht.handleRequest({ id: 'short', address: '127.0.0.1:1' }, { t: 'ping' }), 'ERR_INVALID_PEER', /invalid sender: \/id/)
    await expectDhtError(dht.handleRequest({ id: keyFor('x'), address: 'nowhere' }, { t: 'ping' }), 'ERR_INVALID_PEER', /not host:port/)
    await expectDhtError(dht.handleRequest(dht.self, { t: 'ping' }), 'ERR_INVALID_PEER', /our own id/)
    expect(dht.peers()).toEqual([])
    expect(await dht.handleRequest(stranger, { t: 'ping' })).toEqual({ t: 'pong' })
    expect(dht.peers()).toEqual([stranger])
  })

  it('rejects bad keys and peers from local callers', async () => {
    network = createNetwork()
    const dht = network.add()
    await expectDhtError(dht.findNode('xyz'), 'ERR_INVALID_KEY')
    await expectDhtError(dht.get(keyFor('a').toUpperCase()), 'ERR_INVALID_KEY')
    expect(() => dht.closestPeers('', 3)).toThrow(DhtError)
    expect(() => { dht.addPeer({ id: keyFor('p'), address: 'bad address' }) }).toThrow(/not host:port/)
    dht.addPeer(dht.self)
    expect(dht.peers()).toEqual([])
    await expectDhtError(dht.put({ key: keyFor('a'), subkey: 'd', value: 1, seq: -1, expiresAt: 0 }), 'ERR_INVALID_RECORD', /\/seq/)
    await expectDhtError(dht.put(recordFor(keyFor('a'), 'd', 1, network.clock, { expiresAt: network.clock.now() })), 'ERR_INVALID_RECORD', /expired/)
  })

  it('a peer answering with too many peers is dropped and the lookup still finds the true k closest', async () => {
    const net = await start(30)
    const target = keyFor('target')
    const rogue = net.trueClosest(target, 1)[0] as string
    const flood = Array.from({ length: 21 }, (_, i) => ({ id: keyFor(`fake-${i}`), address: `10.9.9.${i}:1` }))
    net.intercept.set(rogue, () => ({ t: 'nodes', peers: flood }))
    const querier = net.live().find(dht => dht.self.id !== rogue && dht.peers().some(p => p.id === rogue)) as Dht
    const found = await querier.findNode(target)
    const honest = net.trueClosest(target, K + 2, querier.self.id).filter(id => id !== rogue).slice(0, K)
    expect(ids(found)).toEqual(honest)
    expect(querier.peers().some(p => p.id === rogue)).toBe(false)
  })

  it('store full: a node refuses with a reason and put counts only real stores', async () => {
    const net = await start(5, { init: { maxRecords: 2 } })
    const [a, b] = net.live() as [Dht, Dht]
    expect(await a.put(recordFor(keyFor('u1'), 'd', 1, net.clock))).toEqual({ stored: 5 })
    expect(await a.put(recordFor(keyFor('u2'), 'd', 2, net.clock))).toEqual({ stored: 5 })
    expect(await a.put(recordFor(keyFor('u3'), 'd', 3, net.clock))).toEqual({ stored: 0 })
    const response = await b.handleRequest(a.self, { t: 'store', record: recordFor(keyFor('u4'), 'd', 4, net.clock) })
    expect(response).toMatchObject({ t: 'stored', ok: false })
    expect((response as { reason: string }).reason).toMatch(/^store full: 2 records/)
  })

  it('an rpc that never answers times out on the clock; the lookup goes on without that peer', async () => {
    const net = await start(20)
    const silent = (net.live()[10] as Dht).self.id
    net.intercept.set(silent, () => new Promise(() => {}))
    const querier = net.live().find(dht => dht.self.id !== silent && dht.peers().some(p => p.id === silent)) as Dht
    let found: string[] | undefined
    void querier.findNode(silent).then(peers => { found = ids(peers) })
    await net.settle()
    expect(found).toBeUndefined()
    net.clock.advance(DEFAULT_RPC_TIMEOUT_MS)
    await net.settle()
    expect(found).toEqual(net.trueClosest(silent, K + 1, querier.self.id).filter(id => id !== silent).slice(0, K))
    expect(querier.peers().some(p => p.id === silent)).toBe(false)
  })

  it('refuses bad configuration', () => {
    network = createNetwork({ init: { k: 21 } })
    expect(() => network?.add()).toThrow(/k must be an integer in 1\.\.20/)
    network = createNetwork({ init: { maxRecordsPerKey: 17 } })
    expect(() => network?.add()).toThrow(/maxRecordsPerKey/)
  })
})

describe('timers and lifecycle', () => {
  it('refreshes stale buckets on its own timer', async () => {
    const net = await start(20)
    const before = net.sent.get('find_node') ?? 0
    await net.clock.advanceAsync(14 * MINUTE, MINUTE)
    expect(net.sent.get('find_node') ?? 0).toBe(before)
    await net.clock.advanceAsync(2 * MINUTE, MINUTE)
    expect(net.sent.get('find_node') ?? 0).toBeGreaterThan(before)
  })

  it('close is idempotent, clears its timer, fails work in flight and later calls', async () => {
    network = createNetwork()
    const a = network.add()
    const b = network.add()
    expect(network.clock.pending).toBe(2)
    a.addPeer(b.self)
    network.intercept.set(b.self.id, () => new Promise(() => {}))
    const lookup = a.findNode(keyFor('t'))
    await network.settle()
    a.close()
    a.close()
    await expectDhtError(lookup, 'ERR_CLOSED')
    expect(network.clock.pending).toBe(1) // b's maintenance timer only
    await expectDhtError(a.findNode(keyFor('t')), 'ERR_CLOSED')
    await expectDhtError(a.get(keyFor('t')), 'ERR_CLOSED')
    await expectDhtError(a.put(recordFor(keyFor('t'), 'd', 1, network.clock)), 'ERR_CLOSED')
    await expectDhtError(a.handleRequest(b.self, { t: 'ping' }), 'ERR_CLOSED')
    expect(() => { a.tick() }).not.toThrow()
  })
})

describe('a mesh smaller than k', () => {
  it('puts to every node without a lookup once a lookup found nobody new, until the table changes or the time is up', async () => {
    const net = await start(4)
    const putter = net.live()[1] as Dht
    const findNodes = (): number => net.sent.get('find_node') ?? 0
    let seq = 0
    const put = async (name: string): Promise<{ lookups: number, stored: number }> => {
      const before = findNodes()
      const { stored } = await putter.put(recordFor(keyFor(name), 'phone', 'p', net.clock, { seq: ++seq }))
      return { lookups: findNodes() - before, stored }
    }
    expect((await put('carol')).lookups).toBeGreaterThan(0)
    // Any key now: all four nodes are the k closest, and the putter knows them all.
    expect(await put('carol')).toEqual({ lookups: 0, stored: 4 })
    expect(await put('dave')).toEqual({ lookups: 0, stored: 4 })
    expect(holders(net, keyFor('dave'))).toEqual(net.trueClosest(keyFor('dave'), K).sort())

    // A newcomer bootstraps through the putter: its table changed, so it looks again, and finds it.
    const newcomer = net.add('newcomer')
    await newcomer.bootstrap([putter.self])
    expect(await put('erin')).toEqual({ lookups: expect.any(Number) as number, stored: 5 })
    expect(holders(net, keyFor('erin'))).toContain(newcomer.self.id)
    expect((await put('erin')).lookups).toBe(0)

    // A node dies: the put that misses it makes the next one look again (and forget the dead node).
    net.kill(newcomer.self.id)
    expect(await put('frank')).toEqual({ lookups: 0, stored: 4 })
    const afterDeath = await put('frank')
    expect(afterDeath.lookups).toBeGreaterThan(0)
    expect(afterDeath.stored).toBe(4)

    // And time: a lookup at least every WHOLE_MESH_TTL_MS.
    expect((await put('gina')).lookups).toBe(0)
    net.clock.advance(WHOLE_MESH_TTL_MS)
    expect((await put('gina')).lookups).toBeGreaterThan(0)
  })

  it('a mesh of k or more always looks up: its table does not tell who is closest', async () => {
    const net = await start(K + 2)
    const putter = net.live()[0] as Dht
    for (let i = 0; i < 3; i++) {
      const before = net.sent.get('find_node') ?? 0
      await putter.put(recordFor(keyFor('carol'), 'phone', 'p', net.clock, { seq: i + 1 }))
      expect((net.sent.get('find_node') ?? 0) - before).toBeGreaterThan(0)
    }
  })
})
