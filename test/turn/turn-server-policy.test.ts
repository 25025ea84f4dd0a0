// The sans-IO TURN server relays calls and nothing else: peer ranges, quotas per client
// address and in total, and grants.
import { describe, expect, it } from 'vitest'
import { encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { createHarness, errorOf, TestClient } from './helpers.js'
import { ALICE, BOB, PEER, payload, only, allocationIdOf } from './server-fixtures.js'

describe('relays relay calls, nothing else (peers, quotas per address, grants)', () => {
  const PUBLIC_PEER = { address: '1.2.3.4', port: 5004 } // a string only: the sans-IO server sends nothing

  it('by default refuses loopback, private, link-local and metadata peers: 403 on CreatePermission and ChannelBind, Send indications dropped', () => {
    const harness = createHarness({ allowPrivatePeers: false })
    const alice = new TestClient(harness, ALICE)
    alice.allocated()
    for (const [ip, why] of [
      ['127.0.0.1', 'loopback (127.0.0.0/8)'],
      ['10.0.0.1', 'private network (10.0.0.0/8)'],
      ['192.168.1.1', 'private network (192.168.0.0/16)'],
      ['169.254.169.254', 'link-local (169.254.0.0/16)'],
      ['100.64.0.1', 'carrier-grade NAT (100.64.0.0/10)'],
      ['0.0.0.0', 'unspecified ("this network") (0.0.0.0/8)'],
      ['198.18.3.30', 'benchmarking (198.18.0.0/15)']
    ] as const) {
      expect(errorOf(alice.createPermission({ address: ip, port: 80 }))).toEqual({ code: 403, reason: `Forbidden: peer ${ip}: ${why}` })
      expect(errorOf(alice.channelBind(0x4001, { address: ip, port: 80 }))?.code).toBe(403)
      expect(alice.sendIndication({ address: ip, port: 80 }, payload(10))).toEqual([])
    }
    expect(harness.server.stats().dropped['forbidden-peer']).toBe(7)
    expect(harness.server.stats().perAllocation[0]).toMatchObject({ permissions: 0, channels: 0 })
    // A public peer is served as before.
    expect(errorOf(alice.createPermission(PUBLIC_PEER))).toBeUndefined()
    expect(only(alice.sendIndication(PUBLIC_PEER, payload(10)), 'send-to-peer').to).toEqual(PUBLIC_PEER)
  })

  it('by default the relay\'s own address is a peer only at the relayed ports of its allocations, never at its other ports (its own machine)', () => {
    const RELAY = '1.2.3.5' // strings only: the sans-IO server sends nothing
    const harness = createHarness({ allowPrivatePeers: false, relayAddress: RELAY })
    const alice = new TestClient(harness, ALICE)
    alice.allocated()
    const bobRelay = new TestClient(harness, BOB, 'bob').allocated()
    expect(bobRelay.address).toBe(RELAY)
    // Two callers on one relay reach each other at their relayed addresses.
    expect(errorOf(alice.channelBind(0x4000, bobRelay))).toBeUndefined()
    expect(only(alice.sendBytes(encodeChannelData(0x4000, payload(10))), 'send-to-peer').to).toEqual(bobRelay)
    expect(only(alice.sendIndication(bobRelay, payload(10)), 'send-to-peer').to).toEqual(bobRelay)
    // Any other port of that address is the supernode's own machine: the TURN listener, DNS, ...
    for (const port of [53, 3478, bobRelay.port + 1]) {
      expect(errorOf(alice.createPermission({ address: RELAY, port }))).toEqual({ code: 403, reason: `Forbidden: peer ${RELAY}: the relay's own address, at port ${port}, which relays no allocation` })
      expect(errorOf(alice.channelBind(0x4001, { address: RELAY, port }))?.code).toBe(403)
      // The permission for the IP (from Bob's relayed address) does not open its other ports.
      expect(alice.sendIndication({ address: RELAY, port }, payload(10))).toEqual([])
    }
    expect(harness.server.stats().dropped['forbidden-peer']).toBe(3)
    // Once Bob's allocation ends, its port is no peer either.
    expect(errorOf(new TestClient(harness, BOB, 'bob').refresh(0))).toBeUndefined()
    expect(alice.sendBytes(encodeChannelData(0x4000, payload(10)))).toEqual([])
    expect(harness.server.stats().dropped['forbidden-peer']).toBe(4)
  })

  it('an IPv6 relay refuses IPv4-mapped, IPv4-compatible, NAT64 and plain IPv6 spellings of loopback and private peers', () => {
    const harness = createHarness({ allowPrivatePeers: false, relayAddress: '2001:db8::1' })
    const alice = new TestClient(harness, { address: '2001:db8:1::10', port: 40000 })
    expect(errorOf(alice.allocate([{ type: 'REQUESTED-ADDRESS-FAMILY', value: 6 }]))).toBeUndefined()
    // [as sent, as the server writes it back, why]
    for (const [ip, canonical, why] of [
      ['::ffff:127.0.0.1', '::ffff:7f00:1', 'IPv4-mapped form of 127.0.0.1: loopback (127.0.0.0/8)'],
      ['::ffff:0.0.0.0', '::ffff:0:0', 'IPv4-mapped form of 0.0.0.0: unspecified ("this network") (0.0.0.0/8)'],
      ['::127.0.0.1', '::7f00:1', 'IPv4-compatible form of 127.0.0.1: loopback (127.0.0.0/8)'],
      ['64:ff9b::169.254.169.254', '64:ff9b::a9fe:a9fe', 'NAT64 form of 169.254.169.254: link-local (169.254.0.0/16)'],
      ['::ffff:0:10.0.0.1', '::ffff:0:a00:1', 'IPv4-translated form of 10.0.0.1: private network (10.0.0.0/8)'],
      ['0:0:0:0:0:0:0:0', '::', 'unspecified (::/128)'],
      ['::1', '::1', 'loopback (::1/128)'],
      ['fd00::1', 'fd00::1', 'unique-local (fc00::/7)'],
      ['fe80::1', 'fe80::1', 'link-local (fe80::/10)']
    ] as const) {
      expect(errorOf(alice.createPermission({ address: ip, port: 80 })), ip).toEqual({ code: 403, reason: `Forbidden: peer ${canonical}: ${why}` })
      expect(alice.sendIndication({ address: ip, port: 80 }, payload(10))).toEqual([])
    }
    expect(errorOf(alice.createPermission({ address: '2606:4700::1111', port: 80 }))).toBeUndefined()
  })

  it('486 past the allocations of one client address (an IPv4 address, an IPv6 /64), whatever the accounts; other addresses are served', () => {
    const harness = createHarness({ quotas: { maxAllocationsPerAddress: 4 } })
    const codes: Array<number | undefined> = []
    for (let i = 0; i < 10; i++) codes.push(errorOf(new TestClient(harness, { address: '198.18.5.5', port: 20000 + i }, `account${i}`).allocate())?.code)
    expect(codes).toEqual([undefined, undefined, undefined, undefined, 486, 486, 486, 486, 486, 486])
    expect(errorOf(new TestClient(harness, { address: '198.18.5.5', port: 30000 }, 'another').allocate())?.reason).toBe('Allocation Quota Reached: address has 4 allocations, the most allowed')
    for (let i = 0; i < 6; i++) codes.push(errorOf(new TestClient(harness, { address: `2001:db8:7:7::${i + 1}`, port: 1000 }, `v6account${i}`).allocate())?.code)
    expect(codes.slice(10)).toEqual([undefined, undefined, undefined, undefined, 486, 486])
    new TestClient(harness, { address: '2001:db8:7:8::1', port: 1000 }, 'neighbour').allocated()
    new TestClient(harness, BOB, 'bob').allocated()
    expect(harness.server.stats().allocations).toBe(10)
  })

  it('a full relay refuses new allocations (508) and keeps relaying both ways for the ones it has', () => {
    const harness = createHarness({ quotas: { maxAllocations: 3 } })
    const alice = new TestClient(harness, ALICE)
    const id = allocationIdOf(harness, alice.allocated())
    expect(errorOf(alice.channelBind(0x4000, PEER))).toBeUndefined()
    new TestClient(harness, BOB, 'bob').allocated()
    new TestClient(harness, { address: '198.18.6.6', port: 1 }, 'carol').allocated()
    for (let i = 0; i < 5; i++) {
      expect(errorOf(new TestClient(harness, { address: `198.18.7.${i + 1}`, port: 1 }, `newcomer${i}`).allocate())?.code).toBe(508)
      expect(only(alice.sendBytes(encodeChannelData(0x4000, payload(100))), 'send-to-peer').to).toEqual(PEER)
      expect(only(harness.server.handleRelayPacket(id, PEER, payload(100)), 'send-to-client').to).toEqual(ALICE)
      harness.clock.advance(20)
    }
    expect(harness.server.stats().perAllocation.find(a => a.id === id)).toMatchObject({ toPeer: { packets: 5, dropped: 0 }, fromPeer: { packets: 5, dropped: 0 } })
  })

  it('with requireGrant, only credentials naming an open grant work; revoking the grant ends its allocations and its credentials at once', () => {
    const harness = createHarness({ requireGrant: true })
    expect(errorOf(new TestClient(harness, ALICE, 'alice', 600).allocate())).toEqual({ code: 401, reason: 'Unauthenticated: credentials name no grant' })
    expect(errorOf(new TestClient(harness, ALICE, 'alice', 600, 'laptop-grant').allocate())).toEqual({ code: 401, reason: 'Unauthenticated: credentials revoked (their host left)' })
    harness.server.openGrant('laptop-grant')
    harness.server.openGrant('phone-grant')
    const laptop = new TestClient(harness, ALICE, 'alice', 600, 'laptop-grant')
    const laptopId = allocationIdOf(harness, laptop.allocated())
    expect(errorOf(laptop.channelBind(0x4000, PEER))).toBeUndefined()
    const phone = new TestClient(harness, BOB, 'alice', 600, 'phone-grant')
    phone.allocated()

    // The laptop's host left its supernode.
    expect(harness.server.revokeGrant('laptop-grant')).toEqual([{ type: 'close-relay', allocationId: laptopId, reason: 'revoked' }])
    expect(laptop.sendBytes(encodeChannelData(0x4000, payload(50)))).toEqual([])
    expect(harness.server.handleRelayPacket(laptopId, PEER, payload(50))).toEqual([])
    expect(errorOf(laptop.refresh())?.reason).toBe('Unauthenticated: credentials revoked (their host left)')
    const again = new TestClient(harness, { address: '198.18.1.11', port: 1 }, 'alice', 600, 'laptop-grant')
    expect(errorOf(again.allocate())?.code).toBe(401)
    // The same user's other device keeps its relay.
    expect(errorOf(phone.createPermission(PEER))).toBeUndefined()
    expect(harness.server.stats()).toMatchObject({ allocations: 1, allocationsRevoked: 1 })
    expect(harness.server.revokeGrant('laptop-grant')).toEqual([])
  })

  it('a 30-minute call on 10-minute credentials is never cut: refreshes authenticate with the same, expired, credentials while the grant is open', () => {
    const harness = createHarness({ requireGrant: true })
    harness.server.openGrant('host-grant')
    const alice = new TestClient(harness, ALICE, 'alice', 600, 'host-grant') // as the supernode issues them
    const id = allocationIdOf(harness, alice.allocated())
    expect(errorOf(alice.channelBind(0x4000, PEER))).toBeUndefined()
    let relayed = 0
    for (let second = 1; second <= 30 * 60; second++) {
      for (let i = 0; i < 5; i++) {
        relayed += alice.sendBytes(encodeChannelData(0x4000, payload(120))).length
        relayed += harness.server.handleRelayPacket(id, PEER, payload(120)).length
      }
      harness.clock.advance(1000)
      if (second % 240 === 0) { // every 4 minutes, as clients refresh
        expect(errorOf(alice.refresh()), `refresh at ${second} s`).toBeUndefined()
        expect(errorOf(alice.channelBind(0x4000, PEER))).toBeUndefined()
      }
    }
    expect(harness.clock.now()).toBeGreaterThanOrEqual(alice.credentials.expiresAt + 20 * 60_000)
    expect(relayed).toBe(30 * 60 * 10)
    expect(harness.timerActions).toEqual([])
    expect(harness.server.stats().allocations).toBe(1)
  })
})
