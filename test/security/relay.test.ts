// Issue 8, item 3: "Relays relay calls, nothing else". One `it` per attack of a member who holds
// relay credentials the legitimate way (from her own registered host), with a raw TURN client:
//   - relaying into the supernode's own machine and the networks behind it;
//   - the spellings that got around such checks before (CVE-2020-26262);
//   - keeping credentials and allocations after leaving the supernode;
//   - filling the relay with many accounts from one address.
// The supernode is the real node runtime (startNode: overlay on ws, relay on UDP) with a real
// login server; the relay-filling and IPv6 attacks go to the real UDP TURN server with the
// supernode's quotas. Everything is on loopback (127.0.0.0/8, and ::1 for the IPv6 relay); no
// packet goes to any other address: the denied peers are only named in requests.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { systemClock } from '../../common/clock.js'
import { loadSodium } from '../../common/sodium.js'
import type { RunningLoginServer } from '../../login-server/server.js'
import { DEFAULT_MAX_ALLOCATIONS_PER_ADDRESS, METHOD } from '../../node/relay/constants.js'
import { issueTurnCredentials, type TurnCredentials } from '../../node/relay/credentials.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { decodeChannelData, encodeChannelData } from '../../node/relay/stun/channel-data.js'
import type { StunMessage } from '../../node/relay/stun/message.js'
import { startTurnServer, type RunningTurnServer } from '../../node/relay/udp/udp-turn-server.js'
import { createWsTransport } from '../../node/net/ws-transport.js'
import { createSupernodeCache, supernodeRef } from '../../node/overlay/supernode-cache.js'
import { createHost, type Host } from '../../node/overlay/host.js'
import type { Logger } from '../../common/logger.js'
import { silentLogger } from '../../common/logger.js'
import type { NodeStatus } from '../../node/runtime/api.js'
import { openDataDir } from '../../node/runtime/data-dir.js'
import { openLoginSession, type LoginSession } from '../../node/runtime/login-session.js'
import type { RunningNode } from '../../node/runtime/node.js'
import { freePort } from '../helpers/ports.js'
import { closeAllSockets, Inbox, UdpTurnClient, udpSocket } from '../turn/udp-client.js'
import { waitUntil } from '../helpers/wait.js'
import { startInProcessNet } from '../helpers/in-process-net.js'
import { TEST_PASSWORD } from '../helpers/voxmesh-net.js'

const PASSWORD = TEST_PASSWORD
const REALM = 'voxmesh'
const log: Logger = silentLogger

const errorOf = (message: StunMessage): { code: number, reason: string } | undefined => findAttribute(message, 'ERROR-CODE')?.value

/** A login server, a supernode (node runtime) on 127.0.0.2, and Mallory: a plain host attached to it, driven by hand. */
interface Net {
  dir: string
  login: RunningLoginServer
  sn: RunningNode
  turnServer: TransportAddress
  mallory: Host
  mallorySession: LoginSession
  relay: () => NonNullable<NodeStatus['relay']>
  /** Mallory's relay credentials, asked for over her link as her call service does. */
  credentials: () => Promise<TurnCredentials>
  close: () => Promise<void>
}

async function startNet (supernodeOptions: { relayAllowPrivate?: boolean }): Promise<Net> {
  const net = await startInProcessNet({ dirPrefix: 'voxmesh-relay-security-', users: ['super1', 'mallory'], log: () => log })
  const { dir, login } = net
  // The supernode's own media socket on its default address, not the hosts' 127.0.0.1.
  const sn = await net.startNode('super1', { role: 'supernode', listen: `127.0.0.2:${await freePort()}`, mediaBindAddress: undefined, ...supernodeOptions })
  const [host, port] = (sn.status().listen as string).split(':') as [string, string]

  const sodium = await loadSodium()
  const dataDir = openDataDir(sodium, join(dir, 'mallory'))
  const mallorySession = await openLoginSession({ url: login.url, user: 'mallory', credentials: { password: PASSWORD }, dataDir, log })
  const cache = createSupernodeCache()
  cache.add(mallorySession.supernodes.map(supernodeRef), Date.now())
  const mallory = createHost(
    { sodium, clock: systemClock, transport: createWsTransport(), identity: { certificate: mallorySession.certificate, secretKey: dataDir.device.secretKey }, issuerKey: mallorySession.issuerKey, log, cache },
    { user: 'mallory', deviceKey: dataDir.device.deviceKey, lookup: mallorySession.lookup, onEvent: () => {} }
  )
  mallory.start()
  await waitUntil('mallory attached', () => mallory.supernode, 10_000)

  const relay = (): NonNullable<NodeStatus['relay']> => {
    const counters = sn.status().relay
    if (counters === null) throw new Error('the supernode runs no relay')
    return counters
  }
  return {
    dir,
    login,
    sn,
    turnServer: { address: host, port: Number(port) },
    mallory,
    mallorySession,
    relay,
    credentials: async () => {
      const issued = await mallory.turnCredentials()
      if (issued === undefined) throw new Error('the supernode gave no relay credentials')
      return { username: issued.username, password: issued.password, expiresAt: Number(issued.username.split(':')[0]) * 1000, user: 'mallory' }
    },
    close: async () => {
      mallory.close()
      mallorySession.close()
      await net.close()
    }
  }
}

afterEach(async () => { await closeAllSockets() })

describe('a supernode\'s relay with its defaults, against a member holding its credentials', () => {
  let net: Net
  beforeAll(async () => { net = await startNet({}) }, 60_000)
  afterAll(async () => { await net?.close() }, 30_000)

  it('refuses to relay into loopback (the supernode itself included), the private networks, link-local, cloud metadata and CGNAT: 403, and a Send indication reaches nothing', async () => {
    const client = await UdpTurnClient.open(net.turnServer, await net.credentials(), REALM)
    expect(errorOf(await client.allocate())).toBeUndefined()
    const targets = [
      '127.0.0.1', '127.0.0.2', '127.255.255.254', // loopback: services on the supernode's own machine
      '10.0.0.1', '172.16.0.1', '192.168.1.1', // private networks behind it
      '169.254.169.254', // cloud metadata
      '100.64.0.1', // CGNAT
      '198.18.0.1', '240.0.0.1', '0.0.0.0', '0.1.2.3'
    ]
    for (const [i, ip] of targets.entries()) {
      const peer = { address: ip, port: 80 }
      const permission = errorOf(await client.request(METHOD.CREATE_PERMISSION, [{ type: 'XOR-PEER-ADDRESS', value: peer }]))
      expect(permission, `CreatePermission ${ip}`).toEqual({ code: 403, reason: expect.stringMatching(new RegExp(`^Forbidden: peer ${ip.replace(/\./g, '\\.')}: `)) })
      const bind = errorOf(await client.request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: 0x4000 + i }, { type: 'XOR-PEER-ADDRESS', value: peer }]))
      expect(bind?.code, `ChannelBind ${ip}`).toBe(403)
    }
    // A real service on loopback: a Send indication to it is dropped, never delivered.
    const service = new Inbox(await udpSocket('127.0.0.1'))
    const before = net.relay().dropped['forbidden-peer'] ?? 0
    for (let i = 0; i < 5; i++) {
      client.send(client.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: service.address }, { type: 'DATA', value: Buffer.from(`probe ${i}`) }], 'indication'))
    }
    expect(await service.quiet(300)).toBe(true)
    await waitUntil('the dropped probes counted', () => (net.relay().dropped['forbidden-peer'] ?? 0) - before === 5 || undefined, 2000)
  })

  it('credentials live minutes, not an hour', async () => {
    const issued = await net.mallory.turnCredentials()
    expect(issued?.ttlSeconds).toBeLessThanOrEqual(600)
    const expiry = Number(issued?.username.split(':')[0])
    expect(expiry * 1000 - Date.now()).toBeLessThanOrEqual(600_000)
  })
})

describe('an IPv6 relay (on ::1) with the supernode\'s defaults, against the bypass spellings', () => {
  const SECRET = 'v6-secret'
  let turn: RunningTurnServer
  beforeAll(async () => { turn = await startTurnServer({ listen: '[::1]:0', relayHost: '::1', realm: REALM, secret: SECRET }) })
  afterAll(async () => { await turn?.close() })

  it('refuses ::1, ::, unique-local, link-local, and loopback/private/metadata IPv4 as IPv4-mapped, -compatible, -translated and NAT64 addresses; nothing reaches a service on ::1', async () => {
    const client = await UdpTurnClient.open({ address: '::1', port: turn.port }, issueTurnCredentials(SECRET, 'mallory', 600, Date.now()), REALM, '::1')
    expect(errorOf(await client.allocate([{ type: 'REQUESTED-ADDRESS-FAMILY', value: 6 }]))).toBeUndefined()
    for (const ip of [
      '::1', '::', '0:0:0:0:0:0:0:1', 'fd00::1', 'fe80::1',
      '::ffff:127.0.0.1', '::ffff:0.0.0.0', '::ffff:10.0.0.1', '::ffff:169.254.169.254',
      '::127.0.0.1', '::ffff:0:127.0.0.1', '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::1'
    ]) {
      const response = await client.request(METHOD.CREATE_PERMISSION, [{ type: 'XOR-PEER-ADDRESS', value: { address: ip, port: 80 } }])
      expect(errorOf(response)?.code, `CreatePermission [${ip}]`).toBe(403)
    }
    const service = new Inbox(await udpSocket('::1'))
    client.send(client.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: service.address }, { type: 'DATA', value: Buffer.from('probe') }], 'indication'))
    expect(await service.quiet(300)).toBe(true)
    expect(turn.stats().dropped['forbidden-peer']).toBe(1)
  })
})

describe('a supernode\'s relay after the host it served left', () => {
  let net: Net
  // loopback peers: the lab flag (this attack is about credentials, not about peers).
  beforeAll(async () => { net = await startNet({ relayAllowPrivate: true }) }, 60_000)
  afterAll(async () => { await net?.close() }, 30_000)

  it('the host\'s credentials stop working and its allocations end when its link closes', async () => {
    const credentials = await net.credentials()
    const peer = new Inbox(await udpSocket('127.0.0.1'))
    const client = await UdpTurnClient.open(net.turnServer, credentials, REALM)
    expect(errorOf(await client.allocate())).toBeUndefined()
    expect(errorOf(await client.request(METHOD.CREATE_PERMISSION, [{ type: 'XOR-PEER-ADDRESS', value: peer.address }]))).toBeUndefined()
    const send = (text: string): void => { client.send(client.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: peer.address }, { type: 'DATA', value: Buffer.from(text) }], 'indication')) }
    send('while registered')
    expect((await peer.next()).bytes.toString()).toBe('while registered')
    expect(net.relay().allocations).toBe(1)

    net.mallory.close() // she leaves the supernode (her link closes)
    await waitUntil('her allocation to end', () => net.relay().allocations === 0 || undefined, 5000)
    send('after leaving')
    expect(await peer.quiet(300)).toBe(true)
    expect(errorOf(await client.request(METHOD.REFRESH, []))?.code).toBe(401)
    const again = await UdpTurnClient.open(net.turnServer, credentials, REALM)
    expect(errorOf(await again.allocate())).toEqual({ code: 401, reason: expect.stringMatching(/^Unauthenticated: credentials revoked/) })
    expect(net.relay().allocations).toBe(0)
  })
})

describe('a relay with the supernode\'s quotas, against many accounts from one address', () => {
  const SECRET = 'fill-secret'
  const ACCOUNTS = 200
  const ALLOCATIONS_EACH = 10
  let turn: RunningTurnServer
  // loopback peers: the lab flag (this attack is about quotas, not about peers).
  beforeAll(async () => { turn = await startTurnServer({ listen: '127.0.0.2:0', relayHost: '127.0.0.2', realm: REALM, secret: SECRET, allowPrivatePeers: true }) })
  afterAll(async () => { await turn?.close() })

  it('200 accounts × 10 allocations from one address get the per-address quota, not the relay; a new caller elsewhere is served and a call in progress keeps relaying', async () => {
    const server = { address: turn.address, port: turn.port }
    const credentialsOf = (user: string): TurnCredentials => issueTurnCredentials(SECRET, user, 600, Date.now())
    // A call in progress: Alice (on 127.0.0.3) relays to her peer over a channel.
    const peer = new Inbox(await udpSocket('127.0.0.1'))
    const alice = await UdpTurnClient.open(server, credentialsOf('alice'), REALM, '127.0.0.3')
    const aliceRelay = findAttribute(await alice.allocate(), 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(errorOf(await alice.request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: 0x4001 }, { type: 'XOR-PEER-ADDRESS', value: peer.address }]))).toBeUndefined()
    const callStillRelays = async (tag: string): Promise<void> => {
      alice.send(encodeChannelData(0x4001, Buffer.from(`to peer ${tag}`)))
      expect((await peer.next(2000, bytes => bytes.toString() === `to peer ${tag}`)).bytes.toString()).toBe(`to peer ${tag}`)
      peer.socket.send(Buffer.from(`to alice ${tag}`), aliceRelay.port, aliceRelay.address)
      const back = decodeChannelData((await alice.inbox.next(2000, bytes => bytes[0] === 0x40)).bytes)
      expect(back.ok && Buffer.from(back.data).toString()).toBe(`to alice ${tag}`)
    }

    // The flood: every account's allocations from 127.0.0.1, 100 at a time; refused sockets are closed.
    const codes = new Map<number | undefined, number>()
    const held: UdpTurnClient[] = []
    const attempts = Array.from({ length: ACCOUNTS * ALLOCATIONS_EACH }, (_, i) => `account${Math.floor(i / ALLOCATIONS_EACH)}`)
    for (let start = 0; start < attempts.length; start += 100) {
      await Promise.all(attempts.slice(start, start + 100).map(async user => {
        const client = await UdpTurnClient.open(server, credentialsOf(user), REALM, '127.0.0.1')
        const code = errorOf(await client.allocate())?.code
        codes.set(code, (codes.get(code) ?? 0) + 1)
        if (code === undefined) held.push(client)
        else client.socket.close()
      }))
      if (start % 500 === 0) await callStillRelays(`during ${start}`)
    }
    expect(codes.get(undefined)).toBe(DEFAULT_MAX_ALLOCATIONS_PER_ADDRESS)
    expect(codes.get(486)).toBe(ACCOUNTS * ALLOCATIONS_EACH - DEFAULT_MAX_ALLOCATIONS_PER_ADDRESS)

    // A caller from another address still gets a relay, and the call in progress still relays.
    const bob = await UdpTurnClient.open(server, credentialsOf('bob'), REALM, '127.0.0.4')
    expect(errorOf(await bob.allocate())).toBeUndefined()
    await callStillRelays('after')
    expect(turn.stats().allocations).toBe(DEFAULT_MAX_ALLOCATIONS_PER_ADDRESS + 2)
  }, 120_000)
})
