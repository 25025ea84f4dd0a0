// A local UDP ↔ TCP bridge to a TURN server, for an ICE agent that speaks TURN over UDP only
// (libjuice: node-datachannel ignores TURN TCP/TLS servers) on a network that drops UDP.
// The agent is given this bridge's UDP socket (on loopback, or the address the agent binds) as
// its TURN server; each datagram from a local source goes, framed (../stun/stream.ts), over
// that source's own TCP connection to the TURN server's TCP port; what comes back goes back to
// the source as datagrams. The TURN server sees one TCP client per source, as if the agent
// spoke TURN over TCP itself.
//
// Bounds: sources (one TCP connection each), bytes queued while a connection opens, bytes
// waiting to be written, the message size; only STUN and ChannelData are forwarded. A
// connection that fails or closes is not reopened (the allocation on it is gone): the agent's
// TURN transactions time out and the call's ICE reports the failure. close() is idempotent.
import { createSocket } from 'node:dgram'
import { connect, type Socket } from 'node:net'
import type { Logger } from '../../../common/logger.js'
import { silentLogger } from '../../../common/logger.js'
import { ipFamily, type TransportAddress } from '../ip.js'
import { DEFAULT_MAX_STREAM_FRAME_BYTES, fromStreamFrame, toStreamFrame, TurnStreamDecoder } from '../stun/stream.js'

export interface TurnTcpBridgeOptions {
  /** The TURN server's TCP address. */
  server: TransportAddress
  /** The address the bridge's UDP socket binds (default 127.0.0.1): where the ICE agent sends. */
  bindAddress?: string
  /** Local sources (ICE agent sockets), each with its own TCP connection (default 4); more are ignored. */
  maxSources?: number
  /** Bytes queued or waiting to be written per connection; datagrams beyond are dropped (default 256 KiB). */
  maxBufferedBytes?: number
  /** How long a TCP connection may take to open (default 5 s). */
  connectTimeoutMs?: number
  log?: Logger
}

export interface TurnTcpBridgeStats {
  sources: number
  toServer: { messages: number, bytes: number }
  fromServer: { messages: number, bytes: number }
  /** Datagrams not forwarded: not STUN/ChannelData, too large, a buffer full, a source over the cap, its connection gone. */
  dropped: number
}

export interface TurnTcpBridge {
  /** Where the ICE agent sends its TURN traffic (give it as a TurnUdp server). */
  readonly address: string
  readonly port: number
  stats: () => TurnTcpBridgeStats
  /** Idempotent; resolves when the UDP socket and every connection are closed. */
  close: () => Promise<void>
}

interface Source {
  socket: Socket
  connected: boolean
  /** Frames waiting for the connection to open. */
  queue: Uint8Array[]
  queued: number
  /** The connection failed or closed: datagrams from this source are dropped. */
  gone: boolean
}

export async function startTurnTcpBridge (options: TurnTcpBridgeOptions): Promise<TurnTcpBridge> {
  const log = options.log ?? silentLogger
  const bindAddress = options.bindAddress ?? '127.0.0.1'
  const family = ipFamily(bindAddress)
  if (family === undefined) throw new TypeError(`bindAddress must be an IP address, got ${JSON.stringify(bindAddress)}`)
  const maxSources = options.maxSources ?? 4
  const maxBuffered = options.maxBufferedBytes ?? 256 * 1024
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000
  const server = `${options.server.address}:${options.server.port}`
  const isLocal = (ip: string): boolean => ip === bindAddress || ip === '::1' || ip.startsWith('127.')
  const udp = createSocket({ type: family === 6 ? 'udp6' : 'udp4' })
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind({ address: bindAddress, port: 0, exclusive: true }, () => { udp.off('error', reject); resolve() })
  })
  udp.on('error', error => { log.debug({ err: error.message }, 'turn bridge: UDP socket error') })
  const sources = new Map<string, Source>()
  const stats = { toServer: { messages: 0, bytes: 0 }, fromServer: { messages: 0, bytes: 0 }, dropped: 0 }
  let closing: Promise<void> | undefined

  const drop = (why: string, from: string): void => {
    stats.dropped++
    log.debug({ from, server }, `turn bridge: datagram dropped: ${why}`)
  }

  const open = (key: string, from: TransportAddress): Source => {
    const socket = connect({ host: options.server.address, port: options.server.port, noDelay: true, timeout: connectTimeoutMs })
    const source: Source = { socket, connected: false, queue: [], queued: 0, gone: false }
    const decoder = new TurnStreamDecoder(DEFAULT_MAX_STREAM_FRAME_BYTES)
    socket.once('connect', () => {
      source.connected = true
      socket.setTimeout(0)
      for (const frame of source.queue) socket.write(frame)
      source.queue = []
      source.queued = 0
    })
    socket.once('timeout', () => { socket.destroy(new Error(`no TCP connection to ${server} within ${connectTimeoutMs} ms`)) })
    socket.on('data', chunk => {
      const pushed = decoder.push(chunk)
      for (const frame of pushed.frames) {
        const datagram = fromStreamFrame(frame)
        stats.fromServer.messages++
        stats.fromServer.bytes += datagram.length
        if (closing === undefined) udp.send(datagram, from.port, from.address)
      }
      if (!pushed.ok) socket.destroy(new Error(`the TURN server sent ${pushed.reason}`))
    })
    socket.on('error', error => { log.info({ server, source: key }, `turn bridge: TCP connection to the TURN server failed: ${error.message}`) })
    socket.once('close', () => { source.gone = true })
    return source
  }

  udp.on('message', (bytes, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`
    // Our own ICE agent only: the bridge carries our credentials' allocations.
    if (!isLocal(rinfo.address)) { drop('not from this machine', key); return }
    const frame = toStreamFrame(bytes)
    if (frame === undefined || frame.length > DEFAULT_MAX_STREAM_FRAME_BYTES) { drop('not a whole STUN or ChannelData message, or too large', key); return }
    let source = sources.get(key)
    if (source === undefined) {
      if (sources.size >= maxSources) { drop(`over ${maxSources} sources`, key); return }
      sources.set(key, source = open(key, { address: rinfo.address, port: rinfo.port }))
    }
    if (source.gone) { drop('its TCP connection to the TURN server is closed', key); return }
    const waiting = source.connected ? source.socket.writableLength : source.queued
    if (waiting + frame.length > maxBuffered) { drop(`over ${maxBuffered} bytes waiting`, key); return }
    stats.toServer.messages++
    stats.toServer.bytes += bytes.length
    if (source.connected) {
      source.socket.write(frame)
    } else {
      source.queue.push(frame)
      source.queued += frame.length
    }
  })
  const bound = udp.address()
  log.debug({ bridge: `${bound.address}:${bound.port}`, server }, 'turn bridge: open')

  return {
    address: bound.address,
    port: bound.port,
    stats: () => ({ sources: sources.size, toServer: { ...stats.toServer }, fromServer: { ...stats.fromServer }, dropped: stats.dropped }),
    close: async () => {
      closing ??= (async () => {
        const closed = [...sources.values()].map(source => new Promise<void>(resolve => {
          if (source.socket.closed) resolve()
          else { source.socket.once('close', () => { resolve() }); source.socket.destroy() }
        }))
        closed.push(new Promise(resolve => { udp.close(() => { resolve() }) }))
        await Promise.all(closed)
        log.debug({ server, ...stats }, 'turn bridge: closed')
      })()
      await closing
    }
  }
}
