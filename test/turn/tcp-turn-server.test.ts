// TURN over TCP on real sockets: the server's TCP clients (through the host's UDP ↔ TCP bridge,
// as a UDP-only ICE agent uses it, and raw), their caps, and the bridge's own bounds.
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startTurnTcpBridge, type TurnTcpBridge } from '../../node/relay/bridge/tcp-bridge.js'
import { createRelayRouter } from '../../node/relay/bridge/relay-route.js'
import { probeUdp } from '../../node/relay/bridge/udp-probe.js'
import { recordingLogger, type LogEntry } from '../overlay/recording-logger.js'
import { METHOD } from '../../node/relay/constants.js'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { decodeChannelData, encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { encodeStunMessage } from '../../node/relay/stun/message.js'
import { TurnStreamDecoder } from '../../node/relay/stun/stream.js'
import type { TcpTurnLimits } from '../../node/relay/tcp/tcp-edge.js'
import { startTurnServer, type RunningTurnServer } from '../../node/relay/udp/udp-turn-server.js'
import { waitUntil } from '../helpers/wait.js'
import { newTransactionId } from './helpers.js'
import { closeAllSockets, Inbox, UdpTurnClient, udpSocket } from './udp-client.js'

const SECRET = 'tcp-secret'
const REALM = 'sn.voxmesh.test'
const servers: RunningTurnServer[] = []
const bridges: TurnTcpBridge[] = []
const sockets: Socket[] = []

async function start (limits?: TcpTurnLimits): Promise<RunningTurnServer> {
  // loopback peers: the lab flag. TCP on the UDP socket's port number.
  const server = await startTurnServer({ listen: '127.0.0.1:0', relayHost: '127.0.0.1', realm: REALM, secret: SECRET, allowPrivatePeers: true, tcp: { limits } })
  servers.push(server)
  return server
}

async function bridgeTo (server: RunningTurnServer, options: { maxSources?: number } = {}): Promise<TurnTcpBridge> {
  const bridge = await startTurnTcpBridge({ server: { address: server.address, port: server.tcpPort as number }, ...options })
  bridges.push(bridge)
  return bridge
}

async function tcp (server: RunningTurnServer): Promise<Socket> {
  const socket = connect({ host: server.address, port: server.tcpPort as number })
  sockets.push(socket)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  return socket
}

const closed = (socket: Socket): Promise<void> => new Promise(resolve => {
  if (socket.closed) resolve()
  else socket.once('close', () => { resolve() })
})
const binding = (): Uint8Array => encodeStunMessage({ method: METHOD.BINDING, class: 'request', transactionId: newTransactionId(), attributes: [] })

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await Promise.all(bridges.splice(0).map(async bridge => { await bridge.close() }))
  await Promise.all(servers.splice(0).map(async server => { await server.close() }))
  await closeAllSockets()
})

describe('TURN over TCP, through the host\'s UDP ↔ TCP bridge', () => {
  it('allocates, relays ChannelData of odd lengths both ways to a UDP peer, and ends the allocation when the connection closes', async () => {
    const server = await start()
    expect(server.tcpPort).toBe(server.port)
    const bridge = await bridgeTo(server)
    const alice = await UdpTurnClient.open({ address: bridge.address, port: bridge.port }, issueTurnCredentials(SECRET, 'alice', 600, Date.now()), REALM)
    const peer = new Inbox(await udpSocket())

    const allocated = await alice.allocate()
    expect(findAttribute(allocated, 'ERROR-CODE')).toBeUndefined()
    const relay = findAttribute(allocated, 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    // The server saw a TCP client: the mapped address is the bridge's connection, not alice's UDP socket.
    expect(findAttribute(allocated, 'XOR-MAPPED-ADDRESS')?.value.port).not.toBe(alice.inbox.address.port)
    expect(server.stats().tcp).toMatchObject({ connections: 1 })

    expect(findAttribute(await alice.request(METHOD.CHANNEL_BIND, [
      { type: 'CHANNEL-NUMBER', value: 0x4001 }, { type: 'XOR-PEER-ADDRESS', value: peer.address }
    ]), 'ERROR-CODE')).toBeUndefined()
    alice.send(encodeChannelData(0x4001, Buffer.from('hello'))) // 9 bytes: padded on the stream
    const atPeer = await peer.next()
    expect(atPeer.bytes.toString()).toBe('hello')
    expect(atPeer.from).toEqual(relay)

    peer.socket.send(Buffer.from('odd!!!!'), relay.port, relay.address)
    const back = await alice.inbox.next(2000, bytes => bytes[0] === 0x40)
    // The padding stays on the stream: alice gets the datagram as over UDP.
    expect(back.bytes.length).toBe(4 + 7)
    expect(decodeChannelData(back.bytes)).toMatchObject({ ok: true, channel: 0x4001 })
    expect(Buffer.from((decodeChannelData(back.bytes) as { data: Uint8Array }).data).toString()).toBe('odd!!!!')
    expect(bridge.stats()).toMatchObject({ sources: 1, dropped: 0 })

    await bridge.close()
    await bridge.close() // idempotent
    await waitUntil('the allocation ended with its connection', () => server.stats().allocations === 0 && server.stats().tcp?.connections === 0, 2000)
    expect(server.stats().allocationsDeleted).toBe(1)
  })

  it('forwards only whole STUN/ChannelData from this machine, and from at most maxSources sockets', async () => {
    const server = await start()
    const bridge = await bridgeTo(server, { maxSources: 1 })
    const first = new Inbox(await udpSocket())
    const second = new Inbox(await udpSocket())
    first.socket.send(Buffer.from('not turn'), bridge.port, bridge.address)
    await waitUntil('garbage dropped', () => bridge.stats().dropped === 1, 2000)
    first.socket.send(binding(), bridge.port, bridge.address)
    expect((await first.next()).bytes.readUInt16BE(0)).toBe(0x0101) // Binding success
    second.socket.send(binding(), bridge.port, bridge.address)
    await waitUntil('second source dropped', () => bridge.stats().dropped === 2, 2000)
    expect(await second.quiet(150)).toBe(true)
    expect(bridge.stats()).toMatchObject({ sources: 1, toServer: { messages: 1 }, fromServer: { messages: 1 } })
  })
})

describe('TURN over TCP, raw connections', () => {
  it('answers messages coalesced in one write and split across writes', async () => {
    const server = await start()
    const socket = await tcp(server)
    const decoder = new TurnStreamDecoder()
    const answers: Uint8Array[] = []
    socket.on('data', chunk => { answers.push(...decoder.push(chunk).frames) })
    const [one, two, three] = [binding(), binding(), binding()] as [Uint8Array, Uint8Array, Uint8Array]
    socket.write(Buffer.concat([one, two, three.subarray(0, 7)]))
    await waitUntil('two answers', () => answers.length === 2, 2000)
    socket.write(three.subarray(7))
    await waitUntil('three answers', () => answers.length === 3, 2000)
    expect(answers.map(a => Buffer.from(a.subarray(8, 20)).toString('hex'))).toEqual([one, two, three].map(m => Buffer.from(m.subarray(8, 20)).toString('hex')))
    expect(server.stats().bindingRequests).toBe(3)
  })

  it('closes a connection that sends garbage or an oversize message, and counts it', async () => {
    const server = await start({ maxFrameBytes: 512 })
    const garbage = await tcp(server)
    garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await closed(garbage)
    const oversize = await tcp(server)
    oversize.write(Uint8Array.of(0x40, 0x01, 0x02, 0x00)) // ChannelData of 512 bytes: 516 with its header
    await closed(oversize)
    await waitUntil('both closed on the server too', () => server.stats().tcp?.connections === 0, 2000)
    expect(server.stats().tcp).toMatchObject({ badStreams: 2 })
  })

  it('caps connections per client address', async () => {
    const server = await start({ maxConnectionsPerAddress: 2 })
    const kept = [await tcp(server), await tcp(server)]
    const third = await tcp(server)
    await closed(third)
    expect(server.stats().tcp).toMatchObject({ refused: 1, connections: 2 })
    expect(kept.every(socket => !socket.closed)).toBe(true)
  })

  it('closes an idle connection', async () => {
    const server = await start({ idleTimeoutMs: 200 })
    const idle = await tcp(server)
    await closed(idle)
    await waitUntil('closed on the server too', () => server.stats().tcp?.connections === 0, 2000)
    expect(server.stats().tcp).toMatchObject({ idleClosed: 1 })
  })

  it('refuses bad limits before it listens', async () => {
    await expect(start({ maxConnections: 0 })).rejects.toThrow('tcp.maxConnections must be a positive integer, got 0')
  })
})

describe('probeUdp', () => {
  it('is ok when the TURN server answers a Binding over UDP, and says why not when nothing answers', async () => {
    const server = await start()
    expect(await probeUdp({ address: server.address, port: server.port })).toMatchObject({ ok: true })
    const silent = new Inbox(await udpSocket())
    expect(await probeUdp(silent.address, { attempts: 2, waitMs: 50 })).toEqual({
      ok: false, reason: `no STUN answer over UDP from 127.0.0.1:${silent.address.port} after 2 tries in 100 ms`
    })
    // It asked twice.
    await silent.next()
    await silent.next()
  })
})

describe('createRelayRouter', () => {
  it('keeps UDP when it reaches the relay, bridges over TCP when not, remembers the answer and says it once', async () => {
    const server = await start()
    const entries: LogEntry[] = []
    const router = createRelayRouter({ log: recordingLogger(entries), probe: { attempts: 2, waitMs: 50 } })
    expect(await router.route({ host: server.address, port: server.port, tcpPort: server.tcpPort })).toEqual({ via: 'udp', host: server.address, port: server.port })
    // No TCP port: nothing else to try, nothing probed.
    expect(await router.route({ host: '127.0.0.1', port: 9, tcpPort: undefined })).toMatchObject({ via: 'udp', port: 9 })

    // A "relay" whose UDP port never answers, but whose TCP port is the real server's.
    const silent = new Inbox(await udpSocket())
    const blocked = { host: '127.0.0.1', port: silent.address.port, tcpPort: server.tcpPort }
    const first = await router.route(blocked)
    if (first.via !== 'tcp') throw new Error('expected a TCP route')
    bridges.push(first.bridge)
    expect(first).toMatchObject({ host: '127.0.0.1', port: first.bridge.port })
    const second = await router.route(blocked)
    if (second.via === 'tcp') bridges.push(second.bridge)
    expect(second.via).toBe('tcp')
    // Remembered: two probes' worth of requests for the first route, none for the second.
    await silent.next()
    await silent.next()
    expect(await silent.quiet(100)).toBe(true)
    expect(entries.filter(e => e.level === 'info').map(e => e.msg)).toEqual([
      `UDP reaches our supernode's relay at ${server.address}:${server.port}: calls use TURN over UDP`,
      `UDP does not reach our supernode's relay (no STUN answer over UDP from 127.0.0.1:${silent.address.port} after 2 tries in 100 ms): calls use TURN over TCP to port ${String(server.tcpPort)} through a local bridge`
    ])
  })
})
