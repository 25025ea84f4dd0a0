import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { WebSocket } from 'ws'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { createDialer, DIALBACK_PATH } from '../../common/dialback.js'
import { createWsTransport, LINK_PATH, type WsTransportOptions } from '../../node/net/ws-transport.js'
import { MAX_FRAME_BYTES, type Connection, type Listener, type Transport } from '../../node/net/transport.js'
import { freePort } from '../helpers/ports.js'
import { waitUntil } from '../helpers/wait.js'

let sodium: Sodium
beforeAll(async () => { sodium = await loadSodium() })

// Everything opened by a test, closed in afterEach whether the test passed or not.
const listeners: Listener[] = []
const connections: Connection[] = []
const rawSockets: WebSocket[] = []
const tcpServers: Server[] = []

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close('test cleanup')
  for (const socket of rawSockets.splice(0)) socket.terminate()
  await Promise.all(listeners.splice(0).map(async listener => { await listener.close() }))
  await Promise.all(tcpServers.splice(0).map(async server => { await new Promise(resolve => { server.close(resolve) }) }))
})

interface Recorder { frames: Uint8Array[], closes: string[] }

function record (connection: Connection): Recorder {
  const rec: Recorder = { frames: [], closes: [] }
  connection.setHandlers({ onFrame: frame => { rec.frames.push(frame) }, onClose: reason => { rec.closes.push(reason) } })
  return rec
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A listener on 127.0.0.1:0 and a connection to it from a second transport; both ends tracked for cleanup. */
async function connectedPair (serverOptions: WsTransportOptions = {}, clientOptions: WsTransportOptions = {}) {
  const accepted: Connection[] = []
  const listener = await createWsTransport(serverOptions).listen('127.0.0.1:0', connection => {
    connections.push(connection)
    accepted.push(connection)
  })
  listeners.push(listener)
  const client = await createWsTransport(clientOptions).dial(listener.address)
  connections.push(client)
  await waitUntil('the accepted connection', () => accepted.length === 1, 3000)
  return { listener, client, server: accepted[0] as Connection }
}

describe('ws transport', () => {
  it('carries binary frames both ways, in order, as Uint8Array', async () => {
    const { listener, client, server } = await connectedPair()
    expect(listener.address).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(client.remoteAddress).toBe(listener.address)
    expect(server.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/)
    const atClient = record(client)
    const atServer = record(server)
    for (let i = 0; i < 50; i++) client.send(new Uint8Array([i, 255 - i]))
    server.send(new Uint8Array(0))
    server.send(new Uint8Array(MAX_FRAME_BYTES).fill(7))
    await waitUntil('frames', () => atServer.frames.length === 50 && atClient.frames.length === 2, 3000)
    expect(atServer.frames.map(f => f[0])).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(atServer.frames[3]).toEqual(new Uint8Array([3, 252]))
    expect(Object.getPrototypeOf(atServer.frames[0])).toBe(Uint8Array.prototype)
    expect(atClient.frames[0]).toEqual(new Uint8Array(0))
    expect(atClient.frames[1]?.byteLength).toBe(MAX_FRAME_BYTES)
    expect(atClient.closes).toEqual([])
  })

  it('buffers frames that arrive before setHandlers', async () => {
    const listener = await createWsTransport().listen('127.0.0.1:0', connection => {
      connections.push(connection)
      connection.send(new Uint8Array([1]))
      connection.send(new Uint8Array([2]))
    })
    listeners.push(listener)
    const client = await createWsTransport().dial(listener.address)
    connections.push(client)
    await sleep(50)
    const rec = record(client)
    await waitUntil('buffered frames', () => rec.frames.length === 2, 3000)
    expect(rec.frames).toEqual([new Uint8Array([1]), new Uint8Array([2])])
  })

  it('says "connection refused" when nothing listens', async () => {
    const port = await freePort()
    await expect(createWsTransport().dial(`127.0.0.1:${port}`)).rejects.toThrow(`cannot dial 127.0.0.1:${port}: connection refused`)
    await expect(createWsTransport().dial('nonsense')).rejects.toThrow(/not a host:port address/)
  })

  it('says it timed out when the server never answers the handshake', async () => {
    const held: Socket[] = []
    const silent = createServer(socket => { held.push(socket) })
    tcpServers.push(silent)
    await new Promise<void>(resolve => { silent.listen(0, '127.0.0.1', resolve) })
    const { port } = silent.address() as { port: number }
    try {
      await expect(createWsTransport().dial(`127.0.0.1:${port}`, 200)).rejects.toThrow(`cannot dial 127.0.0.1:${port}: timed out after 200 ms`)
    } finally {
      for (const socket of held) socket.destroy()
    }
  })

  it('cuts a socket that never finishes its upgrade request, and keeps an upgraded link however quiet', async () => {
    const { listener, client, server } = await connectedPair({ upgradeTimeoutMs: 300 })
    const atServer = record(server)
    const [host, port] = listener.address.split(':') as [string, string]
    const raw = createConnection(Number(port), host)
    raw.on('error', () => {})
    raw.write('GET /voxmesh/link HTTP/1.1\r\nHost: x\r\n') // and never the rest
    let cut = false
    raw.on('close', () => { cut = true })
    await waitUntil('the server to cut the unfinished upgrade', () => cut, 3000)
    client.send(new Uint8Array([9]))
    await waitUntil('a frame on the quiet link', () => atServer.frames.length === 1, 3000)
    expect(atServer.closes).toEqual([])
  })

  it('propagates close to the other side, onClose exactly once on each', async () => {
    const { client, server } = await connectedPair()
    const atClient = record(client)
    const atServer = record(server)
    client.send(new Uint8Array([42]))
    client.close('bye')
    client.close('twice')
    client.send(new Uint8Array([43]))
    expect(client.closed).toBe(true)
    await waitUntil('both closes', () => atServer.closes.length > 0 && atClient.closes.length > 0, 3000)
    await sleep(50)
    expect(atClient.closes).toEqual(['bye'])
    expect(atServer.closes).toEqual(['remote closed: bye'])
    expect(atServer.frames).toEqual([new Uint8Array([42])])
    expect(server.closed).toBe(true)
    server.close('late')
    await sleep(20)
    expect(atServer.closes).toHaveLength(1)
  })

  it('reports a reset when the peer vanishes without a close handshake', async () => {
    const accepted: Connection[] = []
    const listener = await createWsTransport().listen('127.0.0.1:0', connection => { connections.push(connection); accepted.push(connection) })
    listeners.push(listener)
    const raw = new WebSocket(`ws://${listener.address}${LINK_PATH}`)
    rawSockets.push(raw)
    await new Promise(resolve => raw.once('open', resolve))
    await waitUntil('the accepted connection', () => accepted.length === 1, 3000)
    const rec = record(accepted[0] as Connection)
    raw.terminate()
    await waitUntil('the close', () => rec.closes.length > 0, 3000)
    expect(rec.closes).toEqual(['connection reset'])
  })

  it('listener.close closes the accepted connections and stops accepting', async () => {
    const { listener, client, server } = await connectedPair()
    const atClient = record(client)
    const atServer = record(server)
    const started = Date.now()
    await listener.close()
    await listener.close()
    expect(Date.now() - started).toBeLessThan(1000)
    await waitUntil('the client close', () => atClient.closes.length > 0, 3000)
    expect(atServer.closes).toEqual(['listener closed'])
    expect(atClient.closes).toEqual(['remote closed: listener closed'])
    await expect(createWsTransport().dial(listener.address)).rejects.toThrow(/connection refused/)
  })

  it('closes the connection when asked to send an oversized frame', async () => {
    const { client, server } = await connectedPair()
    const atClient = record(client)
    const atServer = record(server)
    client.send(new Uint8Array(MAX_FRAME_BYTES + 1))
    expect(client.closed).toBe(true)
    await waitUntil('both closes', () => atServer.closes.length > 0 && atClient.closes.length > 0, 3000)
    expect(atClient.closes).toEqual([`frame too large: ${MAX_FRAME_BYTES + 1} bytes > ${MAX_FRAME_BYTES}`])
    expect(atServer.closes[0]).toMatch(/^remote closed: frame too large/)
    expect(atServer.frames).toEqual([])
  })

  it('closes the connection when the peer sends an oversized frame', async () => {
    const { client, server } = await connectedPair({}, { maxPayload: 1 << 20 })
    const atClient = record(client)
    const atServer = record(server)
    client.send(new Uint8Array(MAX_FRAME_BYTES + 1000))
    await waitUntil('both closes', () => atServer.closes.length > 0 && atClient.closes.length > 0, 3000)
    expect(atServer.closes[0]).toMatch(/frame too large/)
    expect(atClient.closes[0]).toMatch(/frame too large/)
    expect(atServer.frames).toEqual([])
  })

  it('closes the connection on a text frame', async () => {
    const accepted: Connection[] = []
    const listener = await createWsTransport().listen('127.0.0.1:0', connection => { connections.push(connection); accepted.push(connection) })
    listeners.push(listener)
    const raw = new WebSocket(`ws://${listener.address}${LINK_PATH}`)
    rawSockets.push(raw)
    const rawClosed = new Promise<number>(resolve => raw.once('close', code => { resolve(code) }))
    await new Promise(resolve => raw.once('open', resolve))
    await waitUntil('the accepted connection', () => accepted.length === 1, 3000)
    const rec = record(accepted[0] as Connection)
    raw.send('hello')
    expect(await rawClosed).toBe(1003)
    expect(rec.closes).toEqual(['protocol error: text frame'])
    expect(rec.frames).toEqual([])
  })

  it('rejects unknown paths and plain HTTP with 404', async () => {
    const listener = await createWsTransport().listen('127.0.0.1:0', () => { throw new Error('must not accept') })
    listeners.push(listener)
    for (const path of ['/other', '/voxmesh/link/x', DIALBACK_PATH]) {
      const raw = new WebSocket(`ws://${listener.address}${path}`)
      rawSockets.push(raw)
      const error = await new Promise<Error>(resolve => raw.once('error', resolve))
      expect(error.message).toBe('Unexpected server response: 404')
    }
    const response = await fetch(`http://${listener.address}/`)
    expect(response.status).toBe(404)
    await response.text()
  })

  it('refuses to listen on a port in use, saying so', async () => {
    const listener = await createWsTransport().listen('127.0.0.1:0', () => {})
    listeners.push(listener)
    await expect(createWsTransport().listen(listener.address, () => {})).rejects.toThrow(`cannot listen on ${listener.address}: address in use`)
  })

  describe('dial-back', () => {
    async function listenWithDialback (secretKey: Uint8Array): Promise<{ listener: Listener, transport: Transport }> {
      const transport = createWsTransport({ dialback: { sodium, secretKey } })
      const listener = await transport.listen('127.0.0.1:0', connection => { connections.push(connection) })
      listeners.push(listener)
      return { listener, transport }
    }

    it('answers a real dial-back check with a proof from the device key', async () => {
      const device = sodium.crypto_sign_keypair()
      const { listener } = await listenWithDialback(device.privateKey)
      const result = await createDialer(sodium, 2000)(listener.address, device.publicKey)
      expect(result).toMatchObject({ ok: true })
    })

    it('fails the check for another device key', async () => {
      const device = sodium.crypto_sign_keypair()
      const other = sodium.crypto_sign_keypair()
      const { listener } = await listenWithDialback(device.privateKey)
      const result = await createDialer(sodium, 2000)(listener.address, other.publicKey)
      expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/not with a valid proof/) })
    })

    it('binds the proof to the advertised address', async () => {
      const device = sodium.crypto_sign_keypair()
      const transport = createWsTransport({ dialback: { sodium, secretKey: device.privateKey, advertisedAddress: '198.18.0.7:4000' } })
      const listener = await transport.listen('127.0.0.1:0', () => {})
      listeners.push(listener)
      const result = await createDialer(sodium, 2000)(listener.address, device.publicKey)
      expect(result).toMatchObject({ ok: false })
    })

    it('still serves links on the same port', async () => {
      const device = sodium.crypto_sign_keypair()
      const { listener } = await listenWithDialback(device.privateKey)
      const client = await createWsTransport().dial(listener.address)
      connections.push(client)
      expect(client.closed).toBe(false)
    })

    it('fails when the node does not answer dial-backs', async () => {
      const device = sodium.crypto_sign_keypair()
      const listener = await createWsTransport().listen('127.0.0.1:0', () => {})
      listeners.push(listener)
      const result = await createDialer(sodium, 2000)(listener.address, device.publicKey)
      expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/404/) })
    })
  })
})
