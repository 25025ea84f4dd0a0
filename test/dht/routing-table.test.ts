import { describe, expect, it } from 'vitest'
import { FakeClock, flushAsync } from '../../node/net/fake-clock.js'
import { bytesToId, commonPrefixLength, idToBytes, sortByDistance } from '../../node/overlay/dht/ids.js'
import type { DhtPeer } from '../../node/overlay/dht/messages.js'
import { RoutingTable } from '../../node/overlay/dht/routing-table.js'

const SELF: DhtPeer = { id: '0'.repeat(64), address: '127.0.0.1:9000' }

/** An id in bucket 0 of SELF (first bit set), distinguished by its last bytes. */
const farId = (n: number): string => {
  const bytes = new Uint8Array(32)
  bytes[0] = 0x80
  bytes[30] = n >> 8
  bytes[31] = n & 0xff
  return bytesToId(bytes)
}
const peer = (id: string, port = 1000): DhtPeer => ({ id, address: `127.0.0.1:${port}` })

function setup (alive: (peer: DhtPeer) => boolean = () => true, k = 4): { table: RoutingTable, clock: FakeClock, pinged: string[] } {
  const clock = new FakeClock()
  const pinged: string[] = []
  const table = new RoutingTable({
    self: SELF,
    k,
    clock,
    pingStaleAfterMs: 1000,
    ping: async p => { pinged.push(p.id); return alive(p) }
  })
  return { table, clock, pinged }
}

describe('routing table', () => {
  it('places peers in the bucket of their common prefix length and ignores our own id', () => {
    const { table } = setup()
    const ids = [farId(1), bytesToId(Uint8Array.from({ length: 32 }, (_, i) => i === 1 ? 0x10 : 0)), bytesToId(Uint8Array.from({ length: 32 }, (_, i) => i === 31 ? 1 : 0))]
    for (const id of ids) table.add(peer(id))
    table.add(SELF)
    expect(table.size).toBe(3)
    expect(table.bucketPeers(0).map(p => p.id)).toEqual([ids[0]])
    expect(table.bucketPeers(11).map(p => p.id)).toEqual([ids[1]])
    expect(table.bucketPeers(255).map(p => p.id)).toEqual([ids[2]])
    for (const id of ids) expect(table.bucketIndex(id)).toBe(commonPrefixLength(SELF.id, id))
    expect(table.has(SELF.id)).toBe(false)
  })

  it('keeps at most k peers per bucket; a newcomer waits as a replacement while the oldest is fresh', () => {
    const { table, pinged } = setup()
    for (let i = 1; i <= 6; i++) table.add(peer(farId(i)))
    expect(table.bucketPeers(0).map(p => p.id)).toEqual([1, 2, 3, 4].map(farId))
    expect(table.bucketReplacements(0).map(p => p.id)).toEqual([5, 6].map(farId))
    expect(pinged).toEqual([]) // the oldest was seen just now
  })

  it('re-adding a known peer moves it to the most recently seen end and updates its address', () => {
    const { table } = setup()
    for (let i = 1; i <= 3; i++) table.add(peer(farId(i)))
    table.add(peer(farId(1), 2222))
    expect(table.bucketPeers(0).map(p => p.id)).toEqual([2, 3, 1].map(farId))
    expect(table.bucketPeers(0)[2]?.address).toBe('127.0.0.1:2222')
  })

  it('full bucket: pings the stale least recently seen peer and evicts it when dead', async () => {
    const { table, clock, pinged } = setup(p => p.id !== farId(1))
    for (let i = 1; i <= 4; i++) table.add(peer(farId(i)))
    clock.advance(5000)
    table.add(peer(farId(5)))
    expect(pinged).toEqual([farId(1)])
    await flushAsync()
    expect(table.has(farId(1))).toBe(false)
    expect(table.bucketPeers(0).map(p => p.id)).toEqual([2, 3, 4, 5].map(farId))
  })

  it('full bucket: keeps the least recently seen peer when it answers the ping', async () => {
    const { table, clock, pinged } = setup()
    for (let i = 1; i <= 4; i++) table.add(peer(farId(i)))
    clock.advance(5000)
    table.add(peer(farId(5)))
    table.add(peer(farId(6))) // a ping is already in flight for this bucket: no second one
    expect(pinged).toEqual([farId(1)])
    await flushAsync()
    expect(table.bucketPeers(0).map(p => p.id)).toEqual([2, 3, 4, 1].map(farId))
    expect(table.has(farId(5))).toBe(false)
    expect(table.bucketReplacements(0).map(p => p.id)).toEqual([5, 6].map(farId))
  })

  it('removing a peer promotes the most recently seen replacement', () => {
    const { table } = setup()
    for (let i = 1; i <= 6; i++) table.add(peer(farId(i)))
    expect(table.remove(farId(2))).toBe(true)
    expect(table.bucketPeers(0).map(p => p.id)).toEqual([1, 3, 4, 6].map(farId))
    expect(table.bucketReplacements(0).map(p => p.id)).toEqual([farId(5)])
    expect(table.remove(farId(99))).toBe(false)
  })

  it('closest(target, n) is the brute-force n closest of the table', () => {
    const { table } = setup(() => true, 20)
    const peers: DhtPeer[] = []
    for (let i = 0; i < 200; i++) {
      const bytes = idToBytes('0'.repeat(64))
      bytes[0] = (i * 37) & 0xff
      bytes[1] = (i * 101) & 0xff
      bytes[2] = i
      peers.push(peer(bytesToId(bytes)))
      table.add(peers[i] as DhtPeer)
    }
    const known = table.all()
    const target = bytesToId(Uint8Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 0xff))
    expect(table.closest(target, 8)).toEqual(sortByDistance(known, target).slice(0, 8))
    expect(table.closest(target, 0)).toEqual([])
  })

  it('refreshes buckets up to the deepest non-empty one, and only stale ones', () => {
    const { table, clock } = setup()
    table.add(peer(farId(1)))
    table.add(peer(bytesToId(Uint8Array.from({ length: 32 }, (_, i) => i === 0 ? 0x04 : 0)))) // bucket 5
    expect(table.bucketsToRefresh(0)).toEqual([0, 1, 2, 3, 4, 5])
    expect(table.bucketsToRefresh(1000)).toEqual([])
    clock.advance(1000)
    table.markLookup(farId(7))
    expect(table.bucketsToRefresh(1000)).toEqual([1, 2, 3, 4, 5])
  })
})
