// The sans-IO TURN server: STUN Binding and the relay flow of a standard client (Allocate,
// permissions, Send/Data, channels, Refresh, EVEN-PORT reservations).
import { describe, expect, it } from 'vitest'
import { METHOD, RESERVATION_LIFETIME_MS } from '../../node/relay/constants.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { decodeChannelData, encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { decodeStunMessage } from '../../node/relay/stun/message.js'
import { createHarness, errorOf, newTransactionId, RELAY_IP, responseIn, TestClient } from './helpers.js'
import { ALICE, BOB, PEER, PEER_OTHER_PORT, STRANGER, payload, only, allocatedAlice } from './server-fixtures.js'

describe('STUN Binding', () => {
  it('answers without authentication with the XOR-MAPPED-ADDRESS it saw, FINGERPRINT and SOFTWARE', () => {
    const harness = createHarness()
    const client = new TestClient(harness, { address: '198.18.1.10', port: 3478 })
    const request = client.encode(METHOD.BINDING, [], { auth: false })
    const response = responseIn(harness.server.handleClientPacket(client.from, request))
    expect(response.class).toBe('success')
    expect(response.method).toBe(METHOD.BINDING)
    expect(findAttribute(response, 'XOR-MAPPED-ADDRESS')?.value).toEqual(client.from)
    expect(findAttribute(response, 'SOFTWARE')?.value).toBe('voxmesh-turn')
    expect(response.hasFingerprint).toBe(true)
    expect(harness.server.stats().bindingRequests).toBe(1)
  })

  it('answers IPv6 clients and ignores Binding indications (keep-alives)', () => {
    const harness = createHarness()
    const from = { address: '2001:db8::7', port: 9 }
    const client = new TestClient(harness, from)
    expect(findAttribute(responseIn(harness.server.handleClientPacket(from, client.encode(METHOD.BINDING, []))), 'XOR-MAPPED-ADDRESS')?.value).toEqual(from)
    expect(harness.server.handleClientPacket(from, client.encode(METHOD.BINDING, [], { cls: 'indication' }))).toEqual([])
    expect(Object.values(harness.server.stats().dropped).reduce((a, b) => a + b)).toBe(0)
  })
})

describe('TURN relay flow', () => {
  it('Allocate: 401 with REALM and NONCE first, then an authenticated success with the relayed and mapped addresses', () => {
    const harness = createHarness()
    const alice = new TestClient(harness, ALICE)
    const challenge = responseIn(alice.sendBytes(alice.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }])))
    expect(errorOf(challenge)?.code).toBe(401)
    expect(findAttribute(challenge, 'REALM')?.value).toBe('sn1.voxmesh.test')
    expect(findAttribute(challenge, 'NONCE')?.value).toMatch(/^[0-9a-f]+\.[\w-]+$/)
    expect(challenge.integrityOffsets).toEqual({})

    alice.nonce = findAttribute(challenge, 'NONCE')?.value
    const actions = harness.server.handleClientPacket(ALICE, alice.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }, { type: 'LIFETIME', value: 1200 }]))
    const open = only(actions, 'open-relay')
    expect(open).toMatchObject({ address: RELAY_IP, family: 4, evenPort: false })
    expect(harness.server.stats().pendingAllocations).toBe(1)
    const response = alice.expectAuthentic(responseIn(harness.server.relayOpened(open.allocationId, { address: RELAY_IP, port: 50001 })))
    expect(response.class).toBe('success')
    expect(findAttribute(response, 'XOR-RELAYED-ADDRESS')?.value).toEqual({ address: RELAY_IP, port: 50001 })
    expect(findAttribute(response, 'XOR-MAPPED-ADDRESS')?.value).toEqual(ALICE)
    expect(findAttribute(response, 'LIFETIME')?.value).toBe(1200)
    const stats = harness.server.stats()
    expect(stats).toMatchObject({ allocations: 1, pendingAllocations: 0, allocationsCreated: 1 })
    expect(stats.perAllocation[0]).toMatchObject({ user: 'alice', username: alice.credentials.username, client: ALICE, relay: { address: RELAY_IP, port: 50001 } })
  })

  it('a retransmitted Allocate gets the same response; a new one on the same 5-tuple gets 437', () => {
    const harness = createHarness()
    const alice = new TestClient(harness, ALICE)
    alice.allocated()
    const transactionId = newTransactionId()
    const first = alice.sendBytes(alice.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }], { transactionId }))
    expect(errorOf(responseIn(first))?.code).toBe(437)

    const bob = new TestClient(harness, BOB, 'bob')
    bob.nonce = alice.nonce // a nonce from another client address is stale
    const bobTx = newTransactionId()
    const challenge = responseIn(bob.sendBytes(bob.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }], { transactionId: bobTx })))
    expect(errorOf(challenge)?.code).toBe(438)
    bob.nonce = findAttribute(challenge, 'NONCE')?.value
    const request = bob.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }], { transactionId: bobTx })
    const open = only(harness.server.handleClientPacket(BOB, request), 'open-relay')
    expect(harness.server.handleClientPacket(BOB, request)).toEqual([]) // retransmitted while the relay opens
    const original = only(harness.server.relayOpened(open.allocationId, { address: RELAY_IP, port: 50100 }), 'send-to-client')
    const again = only(harness.server.handleClientPacket(BOB, request), 'send-to-client')
    expect(Buffer.from(again.bytes).equals(Buffer.from(original.bytes))).toBe(true)
    expect(harness.server.stats().allocations).toBe(2)
  })

  it('CreatePermission, Send indication → peer, peer → Data indication, ChannelBind → ChannelData both ways; counters agree', () => {
    const { harness, alice, relay, id } = allocatedAlice()
    const server = harness.server

    // Client → peer by Send indication.
    const toPeer = only(alice.sendIndication(PEER, payload(160, 1)), 'send-to-peer')
    expect(toPeer).toEqual({ type: 'send-to-peer', allocationId: id, to: PEER, bytes: payload(160, 1) })

    // Peer → client as a Data indication (no channel yet).
    const data = decodeStunMessage(only(server.handleRelayPacket(id, PEER, payload(100, 2)), 'send-to-client').bytes)
    if (!data.ok) throw new Error(data.reason)
    expect(data.message.method).toBe(METHOD.DATA)
    expect(data.message.class).toBe('indication')
    expect(findAttribute(data.message, 'XOR-PEER-ADDRESS')?.value).toEqual(PEER)
    expect(findAttribute(data.message, 'DATA')?.value).toEqual(payload(100, 2))

    // A permission is per IP: another port of the peer's IP gets through too.
    expect(only(server.handleRelayPacket(id, PEER_OTHER_PORT, payload(10)), 'send-to-client').to).toEqual(ALICE)

    // ChannelBind, then ChannelData both ways.
    alice.expectAuthentic(alice.channelBind(0x4000, PEER))
    const inbound = only(server.handleRelayPacket(id, PEER, payload(120, 3)), 'send-to-client')
    expect(inbound.to).toEqual(ALICE)
    expect(decodeChannelData(inbound.bytes)).toEqual({ ok: true, channel: 0x4000, data: payload(120, 3) })
    // The other port of the same IP has no channel: a Data indication.
    expect(decodeStunMessage(only(server.handleRelayPacket(id, PEER_OTHER_PORT, payload(10)), 'send-to-client').bytes).ok).toBe(true)
    const outbound = only(alice.sendBytes(encodeChannelData(0x4000, payload(140, 4))), 'send-to-peer')
    expect(outbound).toEqual({ type: 'send-to-peer', allocationId: id, to: PEER, bytes: payload(140, 4) })
    // Padded ChannelData (as pjnath and turnutils_uclient -D send) is fine too.
    expect(only(alice.sendBytes(encodeChannelData(0x4000, payload(5), { pad: true })), 'send-to-peer').bytes).toEqual(payload(5))

    const stats = server.stats()
    expect(stats.toPeer).toEqual({ packets: 3, bytes: 160 + 140 + 5 })
    expect(stats.fromPeer).toEqual({ packets: 4, bytes: 100 + 10 + 120 + 10 })
    expect(stats.perAllocation[0]).toMatchObject({
      id,
      relay,
      permissions: 1,
      channels: 1,
      toPeer: { packets: 3, bytes: 305, dropped: 0 },
      fromPeer: { packets: 4, bytes: 240, dropped: 0 }
    })
  })

  it('drops, with a counted reason, data from peers without permission, to peers without permission, and on unbound channels', () => {
    const { harness, alice, id } = allocatedAlice()
    const server = harness.server
    expect(server.handleRelayPacket(id, STRANGER, payload(50))).toEqual([])
    expect(alice.sendIndication(STRANGER, payload(50))).toEqual([])
    expect(alice.sendBytes(encodeChannelData(0x4123, payload(50)))).toEqual([])
    expect(server.handleRelayPacket('no-such-allocation', PEER, payload(50))).toEqual([])
    const bob = new TestClient(harness, BOB, 'bob')
    expect(bob.sendIndication(PEER, payload(5))).toEqual([]) // Bob has no allocation

    const stats = server.stats()
    expect(stats.dropped).toMatchObject({ 'no-permission': 2, 'no-channel': 1, 'no-allocation': 2 })
    expect(stats.recentDrops.map(d => d.detail)).toEqual([
      `from 198.18.9.99:7000 to relay ${RELAY_IP}:50000: no permission`,
      'Send indication to 198.18.9.99:7000: no permission',
      'ChannelData on unbound channel 0x4123 from 198.18.1.10:40000',
      'datagram on relay no-such-allocation, which has no allocation',
      'Send indication from 198.18.2.20:41000, which has no allocation'
    ])
    expect(stats.perAllocation[0]).toMatchObject({ toPeer: { packets: 0, dropped: 2 }, fromPeer: { packets: 0, dropped: 1 } })
    expect(stats.toPeer.packets + stats.fromPeer.packets).toBe(0)
  })

  it('Send indications without XOR-PEER-ADDRESS or DATA, or with unknown comprehension-required attributes, are dropped', () => {
    const { harness, alice } = allocatedAlice()
    expect(alice.sendBytes(alice.encode(METHOD.SEND, [{ type: 'DATA', value: payload(3) }], { cls: 'indication' }))).toEqual([])
    expect(alice.sendBytes(alice.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: PEER }], { cls: 'indication' }))).toEqual([])
    expect(alice.sendBytes(alice.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: PEER }, { type: 'DATA', value: payload(3) }, { type: 'OTHER', code: 0x7001, value: payload(1) }], { cls: 'indication' }))).toEqual([])
    expect(alice.sendBytes(alice.encode(METHOD.DATA, [], { cls: 'indication' }))).toEqual([])
    expect(harness.server.stats().dropped).toMatchObject({ 'bad-indication': 3, unexpected: 1 })
  })

  it('Refresh extends the lifetime; LIFETIME 0 deletes the allocation and closes its relay', () => {
    const { harness, alice, id } = allocatedAlice()
    expect(findAttribute(alice.expectAuthentic(alice.refresh(3000)), 'LIFETIME')?.value).toBe(3000)
    expect(harness.server.stats().perAllocation[0]?.expiresAt).toBe(harness.clock.now() + 3_000_000)
    const actions = alice.sendBytes(alice.encode(METHOD.REFRESH, [{ type: 'LIFETIME', value: 0 }]))
    expect(findAttribute(responseIn(actions), 'LIFETIME')?.value).toBe(0)
    expect(only(actions, 'close-relay')).toEqual({ type: 'close-relay', allocationId: id, reason: 'deleted' })
    expect(harness.server.stats()).toMatchObject({ allocations: 0, allocationsDeleted: 1 })
    expect(errorOf(alice.refresh(0))?.code).toBe(437) // a retransmission of the deleting Refresh
    expect(harness.server.handleRelayPacket(id, PEER, payload(1))).toEqual([])
  })

  it('EVEN-PORT with the R bit reserves the next port for a RESERVATION-TOKEN', () => {
    const harness = createHarness({ quotas: { maxAllocationsPerUser: 5 } })
    const rtp = new TestClient(harness, ALICE)
    const response = rtp.allocate([{ type: 'EVEN-PORT', value: { reserve: true } }])
    const relay = findAttribute(response, 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(relay.port % 2).toBe(0)
    const token = findAttribute(response, 'RESERVATION-TOKEN')?.value as Uint8Array
    expect(token).toHaveLength(8)
    expect(harness.server.stats().reservations).toBe(1)

    const rtcp = new TestClient(harness, { ...ALICE, port: ALICE.port + 1 })
    const second = rtcp.allocate([{ type: 'RESERVATION-TOKEN', value: token }])
    expect(findAttribute(second, 'XOR-RELAYED-ADDRESS')?.value).toEqual({ address: RELAY_IP, port: relay.port + 1 })
    expect(harness.server.stats()).toMatchObject({ reservations: 0, allocations: 2 })
    // The token is used up; an unknown one gets 508.
    const third = new TestClient(harness, { ...ALICE, port: ALICE.port + 2 })
    expect(errorOf(third.allocate([{ type: 'RESERVATION-TOKEN', value: token }]))?.code).toBe(508)
    // RESERVATION-TOKEN with EVEN-PORT is a bad request.
    expect(errorOf(third.allocate([{ type: 'RESERVATION-TOKEN', value: token }, { type: 'EVEN-PORT', value: { reserve: false } }]))?.code).toBe(400)
  })

  it('an unused reservation is released after 30 s', () => {
    const harness = createHarness()
    const rtp = new TestClient(harness, ALICE)
    rtp.allocate([{ type: 'EVEN-PORT', value: { reserve: true } }])
    const reservedId = [...harness.relays.keys()][1] as string
    harness.clock.advance(RESERVATION_LIFETIME_MS)
    expect(harness.timerActions).toEqual([{ type: 'close-relay', allocationId: reservedId, reason: 'reservation expired' }])
    expect(harness.server.stats().reservations).toBe(0)
  })
})
