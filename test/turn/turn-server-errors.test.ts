// The sans-IO TURN server: every error response, with the reason it gives, and bad input that
// leaves it serving.
import { describe, expect, it } from 'vitest'
import { ATTR, METHOD, RELAY_OPEN_TIMEOUT_MS } from '../../node/relay/constants.js'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { encodeStunMessage } from '../../node/relay/stun/message.js'
import { createTurnServer } from '../../node/relay/server/turn-server.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createHarness, errorOf, newTransactionId, RELAY_IP, responseIn, TestClient, type Harness } from './helpers.js'
import { seededRandomBytes } from '../helpers/random.js'
import { ALICE, BOB, PEER, PEER_OTHER_PORT, payload, only, allocatedAlice } from './server-fixtures.js'

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
