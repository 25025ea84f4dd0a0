// The sans-IO TURN server on a fake clock: lifetimes and expiry of allocations, permissions
// and channels, the relay rate; and how allocations end (release, close).
import { describe, expect, it } from 'vitest'
import { CHANNEL_LIFETIME_MS, METHOD, PERMISSION_LIFETIME_MS } from '../../node/relay/constants.js'
import { TurnError } from '../../node/relay/errors.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { createTurnServer } from '../../node/relay/server/turn-server.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createHarness, errorOf, responseIn, TestClient } from './helpers.js'
import { ALICE, BOB, PEER, payload, only, allocationIdOf, allocatedAlice } from './server-fixtures.js'

describe('lifetimes and expiry (fake clock)', () => {
  it('an allocation expires at the end of its lifetime and its relay is closed', () => {
    const { harness, id } = allocatedAlice()
    harness.clock.advance(599_999)
    expect(harness.server.stats().allocations).toBe(1)
    harness.clock.advance(1)
    expect(harness.timerActions).toEqual([{ type: 'close-relay', allocationId: id, reason: 'expired' }])
    expect(harness.server.stats()).toMatchObject({ allocations: 0, allocationsExpired: 1 })
    expect(harness.server.handleRelayPacket(id, PEER, payload(1))).toEqual([])
  })

  it('lifetimes are clamped to [default, max]', () => {
    const harness = createHarness({ quotas: { defaultLifetimeSeconds: 600, maxLifetimeSeconds: 3600 } })
    const short = new TestClient(harness, ALICE)
    expect(findAttribute(short.allocate([{ type: 'LIFETIME', value: 30 }]), 'LIFETIME')?.value).toBe(600)
    const long = new TestClient(harness, BOB)
    expect(findAttribute(long.allocate([{ type: 'LIFETIME', value: 86400 }]), 'LIFETIME')?.value).toBe(3600)
    expect(findAttribute(long.refresh(), 'LIFETIME')?.value).toBe(600)
  })

  it('permissions expire after 300 s and channels after 600 s unless refreshed', () => {
    const { harness, alice, id } = allocatedAlice({ quotas: { maxLifetimeSeconds: 3600 } })
    alice.refresh(3600)
    harness.clock.advance(PERMISSION_LIFETIME_MS - 1)
    expect(harness.server.handleRelayPacket(id, PEER, payload(1))).toHaveLength(1)
    harness.clock.advance(1)
    expect(harness.server.handleRelayPacket(id, PEER, payload(1))).toEqual([])
    alice.channelBind(0x4444, PEER) // also installs the permission again
    harness.clock.advance(CHANNEL_LIFETIME_MS - 1)
    expect(alice.sendBytes(encodeChannelData(0x4444, payload(1)))).toHaveLength(1)
    harness.clock.advance(1)
    expect(alice.sendBytes(encodeChannelData(0x4444, payload(1)))).toEqual([])
    expect(harness.server.stats().perAllocation[0]).toMatchObject({ permissions: 0, channels: 0 })
  })

  it('budgets a whole call: two hours of voice at 6 KB/s with periodic refreshes, never cut, long after the credentials expired', () => {
    const harness = createHarness({ quotas: { maxLifetimeSeconds: 600, defaultLifetimeSeconds: 600 } })
    const alice = new TestClient(harness, ALICE, 'alice', 120) // credentials valid 2 minutes
    const relay = alice.allocated()
    const id = allocationIdOf(harness, relay)
    alice.channelBind(0x4000, PEER)
    const frame = payload(120) // 20 ms Opus frame with RTP/SRTP overhead: 6 KB/s
    let relayed = 0
    for (let second = 1; second <= 2 * 3600; second++) {
      for (let i = 0; i < 50; i++) {
        relayed += alice.sendBytes(encodeChannelData(0x4000, frame)).length
        relayed += harness.server.handleRelayPacket(id, PEER, frame).length
      }
      harness.clock.advance(1000)
      if (second % 240 === 0) { // every 4 minutes, as clients do
        expect(errorOf(alice.refresh())).toBeUndefined()
        expect(errorOf(alice.createPermission(PEER))).toBeUndefined()
        expect(errorOf(alice.channelBind(0x4000, PEER))).toBeUndefined()
      }
    }
    expect(relayed).toBe(2 * 3600 * 100)
    const stats = harness.server.stats()
    expect(stats.dropped['rate-limited']).toBe(0)
    expect(stats.perAllocation[0]).toMatchObject({ toPeer: { packets: 360_000, bytes: 43_200_000, dropped: 0 }, fromPeer: { packets: 360_000, dropped: 0 } })
    expect(harness.timerActions).toEqual([])
    // A new allocation with the expired credentials is refused.
    const again = new TestClient(harness, BOB, 'alice')
    again.credentials = alice.credentials
    again.password = alice.password
    expect(errorOf(again.allocate())?.reason).toMatch(/credentials expired/)
  })

  it('the relay rate limit drops what exceeds it per allocation and direction, and counts it', () => {
    const { harness, alice, id } = allocatedAlice({ quotas: { maxBytesPerSecondPerAllocation: 10_000 } })
    alice.channelBind(0x4000, PEER)
    let out = 0
    let back = 0
    for (let i = 0; i < 20; i++) {
      out += alice.sendBytes(encodeChannelData(0x4000, payload(1000))).length
      back += harness.server.handleRelayPacket(id, PEER, payload(1000)).length
    }
    expect(out).toBe(10)
    expect(back).toBe(10)
    harness.clock.advance(500) // half a second refills half the bucket
    expect(alice.sendBytes(encodeChannelData(0x4000, payload(5000)))).toHaveLength(1)
    expect(alice.sendBytes(encodeChannelData(0x4000, payload(1)))).toEqual([])
    const stats = harness.server.stats()
    expect(stats.dropped['rate-limited']).toBe(21)
    expect(stats.perAllocation[0]).toMatchObject({ toPeer: { packets: 11, dropped: 11 }, fromPeer: { packets: 10, dropped: 10 } })
  })
})

describe('revocation and close', () => {
  it('releaseAllocations ends only the named relays of that user', () => {
    const harness = createHarness()
    const alice = new TestClient(harness, ALICE)
    const aliceRelay = alice.allocated()
    const bob = new TestClient(harness, BOB, 'bob')
    const bobRelay = bob.allocated()
    // Bob cannot end Alice's relay, and an address nobody holds ends nothing.
    expect(harness.server.releaseAllocations('bob', [aliceRelay, { address: '127.0.0.1', port: 9 }])).toEqual([])
    expect(harness.server.releaseAllocations('alice', [aliceRelay, bobRelay])).toEqual([{ type: 'close-relay', allocationId: allocationIdOf(harness, aliceRelay), reason: 'deleted' }])
    expect(harness.server.stats()).toMatchObject({ allocations: 1, allocationsDeleted: 1 })
    expect(harness.server.stats().perAllocation[0]?.user).toBe('bob')
    expect(harness.server.releaseAllocations('alice', [aliceRelay])).toEqual([])
  })

  it('close() closes every relay (allocations, pending, reservations) once, then drops everything', () => {
    const harness = createHarness()
    const alice = new TestClient(harness, ALICE)
    alice.allocate([{ type: 'EVEN-PORT', value: { reserve: true } }])
    const bob = new TestClient(harness, BOB, 'bob')
    bob.nonce = findAttribute(responseIn(bob.sendBytes(bob.encode(METHOD.ALLOCATE, []))), 'NONCE')?.value
    const pending = only(harness.server.handleClientPacket(BOB, bob.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }])), 'open-relay')
    const actions = harness.server.close()
    expect(actions.map(a => a.type)).toEqual(['close-relay', 'close-relay', 'close-relay'])
    expect(new Set(actions.map(a => (a as { allocationId: string }).allocationId))).toEqual(new Set([...harness.relays.keys(), pending.allocationId]))
    expect(harness.server.close()).toEqual([])
    expect(harness.server.handleClientPacket(ALICE, alice.encode(METHOD.BINDING, []))).toEqual([])
    expect(harness.server.stats().dropped.closed).toBe(1)
    expect(harness.clock.pending).toBe(0)
  })

  it('refuses configuration outside its bounds', () => {
    const clock = new FakeClock()
    const make = (init: object): unknown => createTurnServer({ clock }, { realm: 'r', secret: 's', relayAddress: '127.0.0.1', ...init })
    expect(() => make({ relayAddress: 'example.org' })).toThrow(TurnError)
    expect(() => make({ secret: '' })).toThrow(/secret/)
    expect(() => make({ realm: 'has "quotes"' })).toThrow(/realm/)
    expect(() => make({ quotas: { maxAllocationsPerUser: 0 } })).toThrow(/maxAllocationsPerUser/)
    expect(() => make({ quotas: { defaultLifetimeSeconds: 4000, maxLifetimeSeconds: 3600 } })).toThrow(/defaultLifetimeSeconds/)
    expect(() => make({ quotas: { maxBytesPerSecondPerAllocation: 10 } })).toThrow(/maxBytesPerSecondPerAllocation/)
  })
})
