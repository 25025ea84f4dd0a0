// The real Transport: one frame = one binary WebSocket message, over TCP.
// A listener is an http server that routes upgrades by path:
//   /voxmesh/link      → a Connection handed to onConnection
//   /voxmesh/dialback  → answers a dial-back check (common/dialback.ts) when
//                        configured, so a checker dialing our advertised address
//                        gets a proof signed by our device key
//   anything else      → 404
// Keepalive is the protocol's job. ws already sets TCP_NODELAY on every socket.
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import { formatHostPort, parseHostPort } from '../../common/address.js'
import { answerDialback, DIALBACK_PATH } from '../../common/dialback.js'
import type { Sodium } from '../../common/sodium.js'
import { WsConnection, type ConnectionLimits } from './ws-connection.js'
import { DEFAULT_DIAL_TIMEOUT_MS, MAX_FRAME_BYTES, type Connection, type Listener, type Transport } from './transport.js'

export const LINK_PATH = '/voxmesh/link'
/** A connection whose unsent data exceeds this (a peer that stopped reading) is closed rather than buffered without end. */
export const MAX_SEND_BUFFER_BYTES = 4 * 1024 * 1024
/** How long listener.close() waits for accepted connections to close cleanly before cutting them. */
export const LISTENER_CLOSE_GRACE_MS = 500
/** A connection must finish its WebSocket upgrade request within this (the link handshake then has its own timeout). */
export const UPGRADE_TIMEOUT_MS = 10_000
const UPGRADE_CHECK_INTERVAL_MS = 250
/** A dial-back checker gets this long to send its nonce and read the answer. */
export const DIALBACK_ANSWER_TIMEOUT_MS = 10_000
const DIALBACK_MAX_PAYLOAD = 1024

export interface WsDialbackOptions {
  sodium: Sodium
  /** The device's Ed25519 secret key (64 bytes, libsodium layout). */
  secretKey: Uint8Array
  /**
   * The address the proof is bound to: the one we advertise to the checker.
   * A function is asked at each check (the address may change); default: the
   * listener's bound address.
   */
  advertisedAddress?: string | (() => string)
}

export interface WsTransportOptions {
  dialback?: WsDialbackOptions
  /** Largest frame sent or accepted; default MAX_FRAME_BYTES. */
  maxPayload?: number
  /** Default MAX_SEND_BUFFER_BYTES. */
  maxSendBufferBytes?: number
  /**
   * The local IP every dial goes out from (default: the system's choice). A node
   * sets its advertised IP here, so the supernode it asks for a dial-back sees
   * the request come from the address it advertises.
   */
  localAddress?: string
  /** Default UPGRADE_TIMEOUT_MS. */
  upgradeTimeoutMs?: number
}

interface Limits extends ConnectionLimits { localAddress?: string, upgradeTimeoutMs: number }

export function createWsTransport (options: WsTransportOptions = {}): Transport {
  const limits: Limits = {
    maxPayload: options.maxPayload ?? MAX_FRAME_BYTES,
    maxSendBufferBytes: options.maxSendBufferBytes ?? MAX_SEND_BUFFER_BYTES,
    localAddress: options.localAddress,
    upgradeTimeoutMs: options.upgradeTimeoutMs ?? UPGRADE_TIMEOUT_MS
  }
  return {
    dial: async (address, timeoutMs = DEFAULT_DIAL_TIMEOUT_MS) => await dial(address, timeoutMs, limits),
    listen: async (address, onConnection) => await listen(address, onConnection, limits, options.dialback)
  }
}

// --- dialing ----------------------------------------------------------------

async function dial (address: string, timeoutMs: number, limits: Limits): Promise<Connection> {
  const target = parseHostPort(address)
  if (target === undefined) throw new Error(`cannot dial ${address}: not a host:port address`)
  const where = formatHostPort(target)
  return await new Promise<Connection>((resolve, reject) => {
    let settled = false
    let socket: WebSocket
    const fail = (why: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.terminate()
      reject(new Error(`cannot dial ${where}: ${why}`))
    }
    const timer = setTimeout(() => { fail(`timed out after ${timeoutMs} ms`) }, timeoutMs)
    try {
      socket = new WebSocket(`ws://${where}${LINK_PATH}`, {
        maxPayload: limits.maxPayload,
        handshakeTimeout: timeoutMs,
        followRedirects: false,
        perMessageDeflate: false,
        localAddress: limits.localAddress
      })
    } catch (err) {
      settled = true
      clearTimeout(timer)
      reject(new Error(`cannot dial ${where}: ${errorMessage(err)}`))
      return
    }
    // Stays attached after a failure: terminate() may still report errors.
    socket.on('error', err => { fail(describeDialError(err, timeoutMs)) })
    socket.once('close', () => { fail('closed during the handshake') })
    socket.once('open', () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.removeAllListeners('error')
      socket.removeAllListeners('close')
      resolve(new WsConnection(socket, where, limits))
    })
  })
}

function describeDialError (err: Error, timeoutMs: number): string {
  const code = (err as NodeJS.ErrnoException).code
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused'
    case 'ETIMEDOUT': return `timed out after ${timeoutMs} ms`
    case 'ECONNRESET': return 'connection reset during the handshake'
    case 'EHOSTUNREACH': return 'host unreachable'
    case 'ENETUNREACH': return 'network unreachable'
    case 'ENOTFOUND': return 'unknown host'
    case 'EAI_AGAIN': return 'name lookup failed (temporary)'
  }
  if (err.message === 'Opening handshake has timed out') return `timed out after ${timeoutMs} ms`
  const status = /^Unexpected server response: (\d+)$/.exec(err.message)
  if (status !== null) return `not a voxmesh link endpoint (HTTP ${status[1]})`
  return err.message
}

// --- listening --------------------------------------------------------------

async function listen (address: string, onConnection: (connection: Connection) => void, limits: Limits, dialback: WsDialbackOptions | undefined): Promise<Listener> {
  const wanted = parseHostPort(address, true)
  if (wanted === undefined) throw new Error(`cannot listen on ${address}: not a host:port address`)

  // A socket that never finishes its HTTP upgrade request is cut (Node checks every connectionsCheckingInterval).
  const server = createServer({ headersTimeout: limits.upgradeTimeoutMs, requestTimeout: limits.upgradeTimeoutMs, connectionsCheckingInterval: UPGRADE_CHECK_INTERVAL_MS }, (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' })
    res.end('not found\n')
  })
  const linkServer = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayload, perMessageDeflate: false })
  const dialbackServer = dialback !== undefined
    ? new WebSocketServer({ noServer: true, maxPayload: DIALBACK_MAX_PAYLOAD, perMessageDeflate: false })
    : undefined
  const rawSockets = new Set<Duplex>()
  const accepted = new Set<WsConnection>()
  const dialbackSockets = new Set<WebSocket>()
  let closing = false
  let boundAddress = ''

  // One listener function for all sockets (`this` is the socket), not a closure per socket.
  const forgetRawSocket = function (this: Duplex): void { rawSockets.delete(this) }
  server.on('connection', socket => {
    rawSockets.add(socket)
    socket.on('close', forgetRawSocket)
  })
  server.on('clientError', (_err, socket) => { socket.destroy() })
  // Built here, not in the upgrade handler: a closure made there would keep that handler's
  // scope (the upgrade request, its headers) alive for as long as the connection lives.
  const acceptLink = (ws: WebSocket, remoteAddress: string): void => {
    if (closing) { ws.terminate(); return }
    onConnection(new WsConnection(ws, remoteAddress, limits, accepted))
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError)
    const path = pathOf(req.url)
    if (closing) {
      refuseUpgrade(socket, '503 Service Unavailable')
    } else if (path === LINK_PATH) {
      const remoteAddress = remoteAddressOf(req)
      linkServer.handleUpgrade(req, socket, head, ws => { acceptLink(ws, remoteAddress) })
    } else if (path === DIALBACK_PATH && dialbackServer !== undefined && dialback !== undefined) {
      dialbackServer.handleUpgrade(req, socket, head, ws => {
        if (closing) { ws.terminate(); return }
        dialbackSockets.add(ws)
        const timer = setTimeout(() => { ws.terminate() }, DIALBACK_ANSWER_TIMEOUT_MS)
        timer.unref()
        ws.on('error', () => {})
        ws.once('close', () => {
          clearTimeout(timer)
          dialbackSockets.delete(ws)
        })
        const advertised = typeof dialback.advertisedAddress === 'function'
          ? dialback.advertisedAddress()
          : dialback.advertisedAddress ?? boundAddress
        answerDialback(dialback.sodium, ws, dialback.secretKey, advertised)
      })
    } else {
      refuseUpgrade(socket, '404 Not Found')
    }
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      linkServer.close()
      dialbackServer?.close()
      reject(new Error(`cannot listen on ${address}: ${describeListenError(err)}`))
    }
    server.once('error', onError)
    server.listen({ host: wanted.host, port: wanted.port }, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const info = server.address() as AddressInfo
  boundAddress = formatHostPort({ host: info.address, port: info.port })

  let closed: Promise<void> | undefined
  const close = async (): Promise<void> => {
    closing = true
    const serverClosed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
    for (const ws of dialbackSockets) ws.terminate()
    const connections = [...accepted]
    for (const connection of connections) connection.closeWith(1001, 'listener closed')
    let graceTimer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(connections.map(async connection => { await connection.gone() })),
      new Promise<void>(resolve => { graceTimer = setTimeout(resolve, LISTENER_CLOSE_GRACE_MS) })
    ])
    clearTimeout(graceTimer)
    for (const connection of connections) connection.terminate()
    for (const socket of rawSockets) socket.destroy()
    linkServer.close()
    dialbackServer?.close()
    await serverClosed
  }
  return {
    address: boundAddress,
    close: async () => { await (closed ??= close()) }
  }
}

/** The upgrading socket's error listener (it stays for the connection's life, so it holds nothing). */
function destroyOnError (this: Duplex): void { this.destroy() }

function refuseUpgrade (socket: Duplex, status: string): void {
  socket.once('finish', () => { socket.destroy() })
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function pathOf (url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://voxmesh.invalid').pathname
  } catch {
    return ''
  }
}

function remoteAddressOf (req: IncomingMessage): string {
  const raw = req.socket.remoteAddress ?? 'unknown'
  const host = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice('::ffff:'.length) : raw
  return formatHostPort({ host, port: req.socket.remotePort ?? 0 })
}

function describeListenError (err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE': return 'address in use'
    case 'EADDRNOTAVAIL': return 'not an address of this machine'
    case 'EACCES': return 'permission denied'
    case 'ENOTFOUND': return 'unknown host'
    default: return err.message
  }
}

function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
