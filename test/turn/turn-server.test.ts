import { describe, expect, it } from 'vitest'
import { ATTR, CHANNEL_LIFETIME_MS, METHOD, PERMISSION_LIFETIME_MS, RELAY_OPEN_TIMEOUT_MS, RESERVATION_LIFETIME_MS } from '../../node/relay/constants.js'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import { TurnError } from '../../node/relay/errors.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { decodeChannelData, encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { decodeStunMessage, encodeStunMessage } from '../../node/relay/stun/message.js'
import { createTurnServer, type TurnAction } from '../../node/relay/server/turn-server.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createHarness, errorOf, newTransactionId, RELAY_IP, responseIn, TestClient, type Harness } from './helpers.js'
import { seededRandomBytes } from '../helpers/random.js'

const ALICE = { address: '198.18.1.10', port: 40000 }
const BOB = { address: '198.18.2.20', port: 41000 }
const PEER = { address: '198.18.3.30', port: 5004 }
const PEER_OTHER_PORT = { address: '198.18.3.30', port: 5006 }
const STRANGER = { address: '198.18.9.99', port: 7000 }
const payload = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill)

function only<T extends TurnAction['type']> (actions: TurnAction[], type: T): Extract<TurnAction, { type: T }> {
  const found = actions.filter(action => action.type === type)
  expect(found, `expected one ${type} in ${JSON.stringify(actions.map(a => a.type))}`).toHaveLength(1)
  return found[0] as Extract<TurnAction, { type: T }>
}

function allocationIdOf (harness: Harness, relay: TransportAddress): string {
  for (const [id, address] of harness.relays) if (address.port === relay.port) return id
  throw new Error('no such relay')
}

/** Alice with an allocation, a permission for PEER, and its relay. */
function allocatedAlice (init: Parameters<typeof createHarness>[0] = {}): { harness: Harness, alice: TestClient, relay: TransportAddress, id: string } {
  const harness = createHarness(init)
  const alice = new TestClient(harness, ALICE)
  const relay = alice.allocated()
  expect(errorOf(alice.createPermission(PEER))).toBeUndefined()
  return { harness, alice, relay, id: allocationIdOf(harness, relay) }
}

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

describe('error responses', () => {
  it('400: a truncated request, integrity without NONCE, a missing REQUESTED-TRANSPORT, bad channel numbers, an unknown method', () => {
    const { harness, alice } = allocatedAlice()
    const valid = alice.encode(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: 0x4001 }, { type: 'XOR-PEER-ADDRESS', value: PEER }])
    const truncated = responseIn(alice.sendBytes(valid.subarray(0, valid.length - 6)))
    expect(errorOf(truncated)).toEqual({ code: 400, reason: expect.stringMatching(/^Bad Request: truncated: the header announces/) })

    const noNonce = encodeStunMessage({
      method: METHOD.REFRESH,
      class: 'request',
      transactionId: newTransactionId(),
      attributes: [{ type: 'USERNAME', value: alice.credentials.username }, { type: 'REALM', value: 'sn1.voxmesh.test' }]
    }, { integrityKey: alice.key })
    expect(errorOf(responseIn(alice.sendBytes(noNonce)))).toEqual({ code: 400, reason: 'Bad Request: NONCE missing beside MESSAGE-INTEGRITY' })

    const other = new TestClient(harness, BOB, 'bob')
    other.nonce = findAttribute(responseIn(other.sendBytes(other.encode(METHOD.ALLOCATE, []))), 'NONCE')?.value
    expect(errorOf(other.request(METHOD.ALLOCATE, []))).toEqual({ code: 400, reason: 'Bad Request: REQUESTED-TRANSPORT missing' })

    expect(errorOf(alice.channelBind(0x3fff, PEER))).toEqual({ code: 400, reason: 'Bad Request: channel 0x3fff is not in 0x4000..0x7fff' })
    expect(errorOf(alice.channelBind(0x8000, PEER))?.code).toBe(400)
    expect(errorOf(alice.request(METHOD.CHANNEL_BIND, [{ type: 'XOR-PEER-ADDRESS', value: PEER }]))?.reason).toBe('Bad Request: CHANNEL-NUMBER missing')
    expect(errorOf(alice.request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: 0x4001 }]))?.reason).toBe('Bad Request: XOR-PEER-ADDRESS missing')
    expect(errorOf(alice.createPermission())?.reason).toBe('Bad Request: XOR-PEER-ADDRESS missing')
    // A channel bound to one peer cannot be bound to another, nor a peer to a second channel.
    alice.expectAuthentic(alice.channelBind(0x4001, PEER))
    expect(errorOf(alice.channelBind(0x4001, PEER_OTHER_PORT))?.reason).toBe('Bad Request: channel 0x4001 is bound to another peer')
    expect(errorOf(alice.channelBind(0x4002, PEER))?.reason).toBe('Bad Request: the peer is bound to channel 0x4001')
    expect(errorOf(alice.request(0x0aa, []))?.reason).toBe('Bad Request: unknown method 0xaa')
    // Error responses to authenticated requests carry MESSAGE-INTEGRITY.
    alice.expectAuthentic(alice.channelBind(0x4002, PEER))
  })

  it('401: no integrity, wrong password, wrong realm, garbage username, expired credentials; nothing is allocated', () => {
    const harness = createHarness()
    const wrongPassword = new TestClient(harness, ALICE)
    wrongPassword.password = 'not-the-password'
    const response = wrongPassword.allocate()
    expect(errorOf(response)).toEqual({ code: 401, reason: 'Unauthenticated: wrong credentials (MESSAGE-INTEGRITY does not match)' })
    expect(findAttribute(response, 'NONCE')).toBeDefined()
    expect(response.integrityOffsets).toEqual({})

    const wrongRealm = new TestClient(harness, BOB)
    wrongRealm.realm = 'elsewhere'
    wrongRealm.nonce = findAttribute(responseIn(wrongRealm.sendBytes(wrongRealm.encode(METHOD.ALLOCATE, []))), 'NONCE')?.value
    expect(errorOf(wrongRealm.allocate())?.reason).toBe('Unauthenticated: wrong REALM "elsewhere"')

    const garbage = new TestClient(harness, { address: '198.18.4.4', port: 1 })
    garbage.credentials = { ...garbage.credentials, username: 'mallory' }
    expect(errorOf(garbage.allocate())?.reason).toBe('Unauthenticated: username is not "<expiry>:<user>"')

    // Credentials issued by another secret (another supernode) do not work either.
    const foreign = new TestClient(harness, { address: '198.18.4.5', port: 1 })
    foreign.credentials = issueTurnCredentials('other-secret', 'alice', 600, harness.clock.now())
    foreign.password = foreign.credentials.password
    expect(errorOf(foreign.allocate())?.code).toBe(401)

    const expired = new TestClient(harness, { address: '198.18.4.6', port: 1 }, 'carol', 60)
    harness.clock.advance(61_000)
    expect(errorOf(expired.allocate())).toEqual({ code: 401, reason: expect.stringMatching(/^Unauthenticated: credentials expired at 2027-01-15T08:01:00.000Z/) })
    expect(harness.server.stats()).toMatchObject({ allocations: 0, pendingAllocations: 0, allocationsCreated: 0 })
    expect(harness.server.stats().errorResponses[401]).toBeGreaterThanOrEqual(9)
  })

  it('403: peers the policy refuses even with the lab flag (multicast, broadcast, unspecified), or a custom rule', () => {
    const { alice } = allocatedAlice()
    expect(errorOf(alice.createPermission({ address: '224.0.0.1', port: 5 }))).toEqual({ code: 403, reason: 'Forbidden: peer 224.0.0.1: multicast (224.0.0.0/4)' })
    expect(errorOf(alice.channelBind(0x4005, { address: '0.0.0.0', port: 5 }))?.code).toBe(403)
    expect(errorOf(alice.createPermission({ address: '255.255.255.255', port: 5 }))?.code).toBe(403)

    const clock = new FakeClock()
    const server = createTurnServer({ clock, random: seededRandomBytes('policy'), peerPolicy: ip => ip.startsWith('10.') ? 'private network' : undefined }, { realm: 'sn1.voxmesh.test', secret: 'supernode-secret', relayAddress: RELAY_IP })
    const harness: Harness = { clock, server, timerActions: [], relays: new Map(), openRelays: actions => actions.flatMap(a => a.type === 'open-relay' ? server.relayOpened(a.allocationId, { address: RELAY_IP, port: 50000 }) : [a]) }
    const client = new TestClient(harness, ALICE)
    client.allocated()
    expect(errorOf(client.createPermission({ address: '10.0.0.1', port: 1 }))?.reason).toBe('Forbidden: peer 10.0.0.1: private network')
  })

  it('420: unknown comprehension-required attributes are listed in UNKNOWN-ATTRIBUTES; DONT-FRAGMENT is not supported', () => {
    const harness = createHarness()
    const alice = new TestClient(harness, ALICE)
    const unknown = alice.allocate([{ type: 'OTHER', code: 0x7777, value: payload(4) }, { type: 'OTHER', code: 0xc0de, value: payload(4) }])
    expect(errorOf(unknown)?.code).toBe(420)
    expect(findAttribute(unknown, 'UNKNOWN-ATTRIBUTES')?.value).toEqual([0x7777])
    alice.expectAuthentic(unknown)
    const dontFragment = alice.allocate([{ type: 'DONT-FRAGMENT', value: true }])
    expect(errorOf(dontFragment)?.code).toBe(420)
    expect(findAttribute(dontFragment, 'UNKNOWN-ATTRIBUTES')?.value).toEqual([ATTR.DONT_FRAGMENT])
    const binding = responseIn(alice.sendBytes(alice.encode(METHOD.BINDING, [{ type: 'OTHER', code: 0x0024, value: payload(4) }], { auth: false })))
    expect(findAttribute(binding, 'UNKNOWN-ATTRIBUTES')?.value).toEqual([0x0024])
  })

  it('437: Refresh, CreatePermission and ChannelBind without an allocation', () => {
    const harness = createHarness()
    const alice = new TestClient(harness, ALICE)
    expect(errorOf(alice.refresh())).toEqual({ code: 437, reason: 'Allocation Mismatch: no allocation for this 5-tuple' })
    expect(errorOf(alice.createPermission(PEER))?.code).toBe(437)
    expect(errorOf(alice.channelBind(0x4000, PEER))?.code).toBe(437)
  })

  it('438: a nonce older than its lifetime is stale; the client retries with the fresh one', () => {
    const { harness, alice } = allocatedAlice({ nonceLifetimeSeconds: 60 })
    harness.clock.advance(60_000)
    const stale = responseIn(alice.sendBytes(alice.encode(METHOD.REFRESH, [])))
    expect(errorOf(stale)).toEqual({ code: 438, reason: 'Stale Nonce: nonce expired (60 s old)' })
    const fresh = findAttribute(stale, 'NONCE')?.value
    expect(fresh).not.toBe(alice.nonce)
    alice.expectAuthentic(alice.refresh()) // retries once with the new nonce
    expect(alice.nonce).toBe(fresh)
    alice.nonce = 'forged.nonce'
    expect(errorOf(responseIn(alice.sendBytes(alice.encode(METHOD.REFRESH, [])))))
      .toEqual({ code: 438, reason: 'Stale Nonce: nonce not issued by this server' })
    alice.nonce = `${(fresh as string).split('.')[0] as string}.AAAAAAAAAAAAAAAA`
    expect(errorOf(responseIn(alice.sendBytes(alice.encode(METHOD.REFRESH, [])))))
      .toEqual({ code: 438, reason: 'Stale Nonce: nonce not issued to this client by this server' })
  })

  it('440, 442, 443: address families and transports the relay does not serve', () => {
    const { harness, alice } = allocatedAlice()
    const bob = new TestClient(harness, BOB, 'bob')
    expect(errorOf(bob.allocate([{ type: 'REQUESTED-ADDRESS-FAMILY', value: 6 }]))?.code).toBe(440)
    expect(errorOf(bob.request(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 6 }])))
      .toEqual({ code: 442, reason: 'Unsupported Transport Protocol: only UDP (17) is relayed, not protocol 6' })
    expect(errorOf(alice.createPermission({ address: '2001:db8::1', port: 1 })))
      .toEqual({ code: 443, reason: 'Peer Address Family Mismatch: peer is IPv6, the relay IPv4' })
    expect(errorOf(alice.channelBind(0x4000, { address: '2001:db8::1', port: 1 }))?.code).toBe(443)
    expect(errorOf(alice.request(METHOD.REFRESH, [{ type: 'REQUESTED-ADDRESS-FAMILY', value: 6 }]))?.code).toBe(443)
    expect(harness.server.stats().allocations).toBe(1)
  })

  it('441: requests on an allocation with another username', () => {
    const { harness, alice } = allocatedAlice()
    harness.clock.advance(1000)
    const renewed = issueTurnCredentials('supernode-secret', 'alice', 3600, harness.clock.now())
    alice.credentials = renewed
    alice.password = renewed.password
    expect(errorOf(alice.refresh())).toEqual({ code: 441, reason: 'Wrong Credentials: the allocation was created with another username' })
    expect(errorOf(alice.createPermission(PEER))?.code).toBe(441)
  })

  it('486 for an allocation flood from one user, while other users are still served; 508 at total capacity', () => {
    const harness = createHarness({ quotas: { maxAllocationsPerUser: 3, maxAllocations: 5 } })
    const codes: Array<number | undefined> = []
    for (let i = 0; i < 50; i++) {
      const client = new TestClient(harness, { address: '198.18.5.5', port: 20000 + i }, 'flooder')
      codes.push(errorOf(client.allocate())?.code)
    }
    expect(codes.slice(0, 3)).toEqual([undefined, undefined, undefined])
    expect(new Set(codes.slice(3))).toEqual(new Set([486]))
    const refused = new TestClient(harness, { address: '198.18.5.5', port: 30000 }, 'flooder')
    expect(errorOf(refused.allocate())?.reason).toBe('Allocation Quota Reached: user has 3 allocations, the most allowed')

    const bob = new TestClient(harness, BOB, 'bob')
    bob.allocated()
    const carol = new TestClient(harness, { address: '198.18.6.6', port: 1 }, 'carol')
    carol.allocated()
    const dave = new TestClient(harness, { address: '198.18.7.7', port: 1 }, 'dave')
    expect(errorOf(dave.allocate())).toEqual({ code: 508, reason: 'Insufficient Capacity: relay at its allocation capacity' })
    expect(harness.server.stats()).toMatchObject({ allocations: 5, errorResponses: { 486: 48, 508: 1 } })
    // Still serving: Binding and the existing allocations work.
    expect(errorOf(bob.createPermission(PEER))).toBeUndefined()
  })

  it('508: permission and channel quotas, a relay socket that fails or does not open in time', () => {
    const { harness, alice } = allocatedAlice({ quotas: { maxPermissions: 2, maxChannels: 1 } })
    expect(errorOf(alice.createPermission({ address: '198.18.3.31', port: 1 }))).toBeUndefined()
    expect(errorOf(alice.createPermission({ address: '198.18.3.32', port: 1 }))?.reason).toBe('Insufficient Capacity: at most 2 permissions per allocation')
    expect(errorOf(alice.channelBind(0x4000, PEER))).toBeUndefined()
    expect(errorOf(alice.channelBind(0x4001, { address: '198.18.3.31', port: 2 }))?.reason).toBe('Insufficient Capacity: at most 1 channels per allocation')
    alice.expectAuthentic(alice.channelBind(0x4000, PEER)) // refreshing the bound one is fine

    const bob = new TestClient(harness, BOB, 'bob')
    bob.nonce = findAttribute(responseIn(bob.sendBytes(bob.encode(METHOD.ALLOCATE, []))), 'NONCE')?.value
    const failing = only(harness.server.handleClientPacket(BOB, bob.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }])), 'open-relay')
    const failed = harness.server.relayFailed(failing.allocationId, 'EADDRINUSE')
    expect(errorOf(responseIn(failed))).toEqual({ code: 508, reason: 'Insufficient Capacity: no relay port: EADDRINUSE' })
    expect(only(failed, 'close-relay').allocationId).toBe(failing.allocationId)

    const slow = only(harness.server.handleClientPacket(BOB, bob.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }])), 'open-relay')
    harness.clock.advance(RELAY_OPEN_TIMEOUT_MS)
    expect(errorOf(responseIn(harness.timerActions))?.reason).toBe('Insufficient Capacity: relay socket did not open in time')
    expect(only(harness.timerActions, 'close-relay').allocationId).toBe(slow.allocationId)
    // The socket opening late is closed at once.
    expect(harness.server.relayOpened(slow.allocationId, { address: RELAY_IP, port: 59999 })).toEqual([
      { type: 'close-relay', allocationId: slow.allocationId, reason: 'no allocation waits for this relay' }
    ])
    expect(harness.server.stats().pendingAllocations).toBe(0)
  })
})

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

describe('bad input keeps the server serving', () => {
  it('garbage and truncated STUN/TURN packets are dropped with a reason or answered 400; nothing throws', () => {
    const { harness, alice, id } = allocatedAlice()
    const server = harness.server
    const random = seededRandomBytes('fuzz')
    const valid = [
      alice.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }]),
      alice.encode(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: 0x4001 }, { type: 'XOR-PEER-ADDRESS', value: PEER }]),
      alice.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: PEER }, { type: 'DATA', value: payload(20) }], { cls: 'indication' }),
      encodeChannelData(0x4001, payload(30))
    ]
    let answered400 = 0
    for (const bytes of valid) {
      for (let length = 0; length < bytes.length; length++) {
        const actions = server.handleClientPacket({ address: '198.18.8.8', port: 8 }, bytes.subarray(0, length))
        for (const action of actions) {
          expect(action.type).toBe('send-to-client')
          expect(errorOf(responseIn([action]))?.code).toBe(400)
          answered400++
        }
      }
    }
    for (let i = 0; i < 2000; i++) {
      const bytes = random((random(1)[0] as number) * 2)
      if (i % 2 === 0 && bytes.length >= 8) { bytes[0] = i % 4 === 0 ? 0 : 0x40; bytes.set([0x21, 0x12, 0xa4, 0x42], 4) }
      expect(() => server.handleClientPacket({ address: '198.18.8.8', port: 9 }, bytes)).not.toThrow()
      expect(() => server.handleRelayPacket(id, { address: '198.18.8.8', port: 9 }, bytes)).not.toThrow()
    }
    expect(server.handleClientPacket({ address: 'not-an-ip', port: 1 }, valid[0] as Uint8Array)).toEqual([])
    expect(server.handleClientPacket({ address: '1.2.3.4', port: 70000 }, valid[0] as Uint8Array)).toEqual([])

    const stats = server.stats()
    expect(answered400).toBeGreaterThan(0)
    expect(stats.dropped.malformed).toBeGreaterThan(100)
    expect(stats.recentDrops.length).toBeGreaterThan(0)
    for (const drop of stats.recentDrops) expect(drop.detail.length).toBeGreaterThan(10)
    expect(stats).toMatchObject({ allocations: 1, pendingAllocations: 0 })

    // Still serving: a Binding, and Alice's allocation relays.
    const binding = responseIn(server.handleClientPacket(BOB, alice.encode(METHOD.BINDING, [], { auth: false })))
    expect(findAttribute(binding, 'XOR-MAPPED-ADDRESS')?.value).toEqual(BOB)
    expect(only(alice.sendIndication(PEER, payload(3)), 'send-to-peer').bytes).toEqual(payload(3))
  })

  it('STUN responses and unknown indications sent to the server are dropped as unexpected', () => {
    const harness = createHarness()
    const response = encodeStunMessage({ method: METHOD.BINDING, class: 'success', transactionId: newTransactionId(), attributes: [] })
    expect(harness.server.handleClientPacket(ALICE, response)).toEqual([])
    expect(harness.server.stats().dropped.unexpected).toBe(1)
    expect(harness.server.stats().recentDrops[0]?.detail).toBe('STUN success response from 198.18.1.10:40000')
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
