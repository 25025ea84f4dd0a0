import { afterEach, describe, expect, it } from 'vitest'
import { METHOD } from '../../node/relay/constants.js'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { decodeChannelData, encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { decodeStunMessage } from '../../node/relay/stun/message.js'
import { startTurnServer, type RunningTurnServer, type StartTurnServerOptions } from '../../node/relay/udp/udp-turn-server.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { closeAllSockets, Inbox, UdpTurnClient, udpSocket } from './udp-client.js'

const SECRET = 'udp-secret'
const REALM = 'sn.voxmesh.test'
const servers: RunningTurnServer[] = []

async function start (options: Partial<StartTurnServerOptions> = {}): Promise<RunningTurnServer> {
  // loopback peers: the lab flag.
  const server = await startTurnServer({ listen: '127.0.0.1:0', relayHost: '127.0.0.1', realm: REALM, secret: SECRET, allowPrivatePeers: true, ...options })
  servers.push(server)
  return server
}

async function client (server: RunningTurnServer, user = 'alice', now = Date.now()): Promise<UdpTurnClient> {
  return await UdpTurnClient.open({ address: server.address, port: server.port }, issueTurnCredentials(SECRET, user, 600, now), REALM)
}

const errorCode = (message: { attributes: unknown[] }): number | undefined =>
  findAttribute(message as Parameters<typeof findAttribute>[0], 'ERROR-CODE')?.value.code

afterEach(async () => {
  await Promise.all(servers.splice(0).map(async server => { await server.close() }))
  await closeAllSockets()
})

describe('startTurnServer over real UDP sockets', () => {
  it('answers STUN Binding with the client\'s address', async () => {
    const server = await start()
    const alice = await client(server)
    const response = await alice.transaction(alice.encode(METHOD.BINDING, []))
    expect(findAttribute(response, 'XOR-MAPPED-ADDRESS')?.value).toEqual(alice.inbox.address)
    expect(server.stats().bindingRequests).toBe(1)
  })

  it('relays between a client and a real peer socket by Send/Data indications and channels; the counters match what crossed', async () => {
    const server = await start()
    const alice = await client(server)
    const peer = new Inbox(await udpSocket())

    const allocated = await alice.allocate()
    expect(errorCode(allocated)).toBeUndefined()
    const relay = findAttribute(allocated, 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(relay.address).toBe('127.0.0.1')
    expect(server.stats().relaySockets).toBe(1)

    // Nothing gets through before a permission.
    peer.socket.send(Buffer.from('too early'), relay.port, relay.address)
    expect(await alice.inbox.quiet(150)).toBe(true)
    expect(server.stats().dropped['no-permission']).toBe(1)

    expect(errorCode(await alice.request(METHOD.CREATE_PERMISSION, [{ type: 'XOR-PEER-ADDRESS', value: peer.address }]))).toBeUndefined()
    alice.send(alice.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: peer.address }, { type: 'DATA', value: Buffer.from('hello peer') }], 'indication'))
    const atPeer = await peer.next()
    expect(atPeer.bytes.toString()).toBe('hello peer')
    expect(atPeer.from).toEqual(relay) // really from the relay socket

    peer.socket.send(Buffer.from('hello alice'), relay.port, relay.address)
    const data = decodeStunMessage((await alice.inbox.next()).bytes)
    if (!data.ok) throw new Error(data.reason)
    expect(data.message.method).toBe(METHOD.DATA)
    expect(findAttribute(data.message, 'XOR-PEER-ADDRESS')?.value).toEqual(peer.address)
    expect(Buffer.from(findAttribute(data.message, 'DATA')?.value as Uint8Array).toString()).toBe('hello alice')

    expect(errorCode(await alice.request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: 0x4abc }, { type: 'XOR-PEER-ADDRESS', value: peer.address }]))).toBeUndefined()
    const frame = new Uint8Array(160).fill(9)
    for (let i = 0; i < 50; i++) alice.send(encodeChannelData(0x4abc, frame))
    for (let i = 0; i < 50; i++) expect((await peer.next()).bytes.length).toBe(160)
    for (let i = 0; i < 30; i++) peer.socket.send(frame.subarray(0, 100), relay.port, relay.address)
    for (let i = 0; i < 30; i++) expect(decodeChannelData((await alice.inbox.next()).bytes)).toMatchObject({ ok: true, channel: 0x4abc })

    const stats = server.stats()
    expect(stats.toPeer).toEqual({ packets: 51, bytes: 10 + 50 * 160 })
    expect(stats.fromPeer).toEqual({ packets: 31, bytes: 11 + 30 * 100 })
    expect(stats.perAllocation[0]).toMatchObject({ relay, toPeer: { packets: 51 }, fromPeer: { packets: 31, dropped: 1 } })
  })

  it('keeps serving through garbage on both sockets and wrong credentials', async () => {
    const server = await start()
    const alice = await client(server)
    const allocated = await alice.allocate()
    const relay = findAttribute(allocated, 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    const attacker = await udpSocket()
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.alloc(1 + (i * 37) % 300, i)
      if (i % 3 === 0) junk[0] = 0
      attacker.send(junk, server.port, '127.0.0.1')
      attacker.send(junk, relay.port, relay.address)
    }
    const mallory = await UdpTurnClient.open({ address: server.address, port: server.port }, { ...issueTurnCredentials(SECRET, 'mallory', 600, Date.now()), password: 'guess' }, REALM)
    const refused = await mallory.allocate()
    expect(findAttribute(refused, 'ERROR-CODE')?.value).toEqual({ code: 401, reason: 'Unauthenticated: wrong credentials (MESSAGE-INTEGRITY does not match)' })

    const binding = await alice.transaction(alice.encode(METHOD.BINDING, []))
    expect(findAttribute(binding, 'XOR-MAPPED-ADDRESS')?.value).toEqual(alice.inbox.address)
    expect(errorCode(await alice.request(METHOD.REFRESH, []))).toBeUndefined()
    const stats = server.stats()
    expect(stats.dropped.malformed + stats.dropped['no-permission'] + (stats.errorResponses[400] ?? 0)).toBeGreaterThanOrEqual(300)
    expect(stats).toMatchObject({ allocations: 1, relaySockets: 1 })
  })

  it('an allocation flood from one user gets 486 past its quota; other users still get relays', async () => {
    const server = await start({ quotas: { maxAllocationsPerUser: 4 } })
    const codes: Array<number | undefined> = []
    for (let i = 0; i < 24; i++) codes.push(errorCode(await (await client(server, 'flooder')).allocate()))
    expect(codes.filter(code => code === undefined)).toHaveLength(4)
    expect(codes.filter(code => code === 486)).toHaveLength(20)
    const bob = await client(server, 'bob')
    expect(findAttribute(await bob.allocate(), 'XOR-RELAYED-ADDRESS')).toBeDefined()
    expect(server.stats()).toMatchObject({ allocations: 5, relaySockets: 5, errorResponses: { 486: 20 } })
  })

  it('a full relay refuses new allocations with 508 and keeps relaying both ways for the call it has', async () => {
    const server = await start({ quotas: { maxAllocations: 3 } })
    const alice = await client(server, 'alice')
    const peer = new Inbox(await udpSocket())
    const relay = findAttribute(await alice.allocate(), 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(errorCode(await alice.request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: 0x4001 }, { type: 'XOR-PEER-ADDRESS', value: peer.address }]))).toBeUndefined()
    for (const user of ['bob', 'carol']) expect(errorCode(await (await client(server, user)).allocate())).toBeUndefined()
    for (let i = 0; i < 5; i++) {
      expect(errorCode(await (await client(server, `newcomer${i}`)).allocate())).toBe(508)
      alice.send(encodeChannelData(0x4001, Buffer.from(`to peer ${i}`)))
      expect((await peer.next()).bytes.toString()).toBe(`to peer ${i}`)
      peer.socket.send(Buffer.from(`to alice ${i}`), relay.port, relay.address)
      const back = decodeChannelData((await alice.inbox.next()).bytes)
      expect(back.ok && Buffer.from(back.data).toString()).toBe(`to alice ${i}`)
    }
    expect(server.stats()).toMatchObject({ allocations: 3, relaySockets: 3, errorResponses: { 508: 5 } })
  })

  it('EVEN-PORT reserves port+1 for the RESERVATION-TOKEN, on real sockets', async () => {
    const server = await start()
    const rtp = await client(server)
    const first = await rtp.allocate([{ type: 'EVEN-PORT', value: { reserve: true } }])
    const relay = findAttribute(first, 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(relay.port % 2).toBe(0)
    const token = findAttribute(first, 'RESERVATION-TOKEN')?.value as Uint8Array
    expect(server.stats().relaySockets).toBe(2)
    const rtcp = await client(server)
    const second = await rtcp.allocate([{ type: 'RESERVATION-TOKEN', value: token }])
    expect(findAttribute(second, 'XOR-RELAYED-ADDRESS')?.value).toEqual({ address: '127.0.0.1', port: relay.port + 1 })
    expect(server.stats()).toMatchObject({ allocations: 2, reservations: 0, relaySockets: 2 })
  })

  it('closes an expired allocation\'s socket (fake clock) and every socket on close(), idempotently', async () => {
    const clock = new FakeClock(Date.now())
    const server = await start({ clock })
    const alice = await client(server, 'alice', clock.now())
    const bob = await client(server, 'bob', clock.now())
    const aliceRelay = findAttribute(await alice.allocate(), 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    await alice.request(METHOD.REFRESH, [{ type: 'LIFETIME', value: 1200 }])
    const bobRelay = findAttribute(await bob.allocate(), 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(server.stats().relaySockets).toBe(2)

    clock.advance(600_000) // Bob's default 10 minutes run out; Alice asked for 20
    expect(server.stats()).toMatchObject({ allocations: 1, allocationsExpired: 1, relaySockets: 1 })
    const reuse = await udpSocket('127.0.0.1', bobRelay.port) // the port is free again
    reuse.close()

    await Promise.all([server.close(), server.close()])
    await server.close()
    expect(server.stats()).toMatchObject({ allocations: 0, relaySockets: 0 })
    for (const port of [aliceRelay.port, server.port]) {
      const again = await udpSocket('127.0.0.1', port)
      again.close()
    }
  })

  it('closes a relay socket that was still binding when close() was called', async () => {
    const server = await start()
    const alice = await client(server)
    alice.nonce = findAttribute(await alice.transaction(alice.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }])), 'NONCE')?.value
    alice.send(alice.encode(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }, { type: 'EVEN-PORT', value: { reserve: true } }]))
    while (server.stats().pendingAllocations + server.stats().allocations === 0) await new Promise(resolve => setImmediate(resolve))
    await server.close()
    expect(server.stats()).toMatchObject({ allocations: 0, pendingAllocations: 0, relaySockets: 0 })
  })

  it('refuses a bad listen address', async () => {
    await expect(start({ listen: 'nonsense' })).rejects.toThrow(/listen must be HOST:PORT/)
    await expect(start({ relayHost: 'not-an-ip' })).rejects.toThrow(/relayAddress/)
  })
})
