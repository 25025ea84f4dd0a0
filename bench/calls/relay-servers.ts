// Part 3's relays, each in a child process on 127.0.0.2 (forked as child.js --turn-child or
// --forwarder-child): the TURN server measured, and the baseline UDP forwarder; the parent
// asks them for their counters over IPC.
import { fork, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { startTurnServer, type TransportAddress } from '../../node/index.js'
import { STREAM_PAYLOAD_BYTES } from './turn-stream.js'
import { bindUdp, CHILD_ENTRY, closeSocket, onCleanup, TURN_REALM } from './util.js'

const TURN_SECRET_ENV = 'VOXMESH_CALL_BENCH_TURN_SECRET'

export interface ChildStats {
  cpu: NodeJS.CpuUsage
  elu: { idle: number, active: number }
  /** Packets sent on to the peers. */
  relayed: number
  dropped: Record<string, number>
}

export type ChildKind = 'turn' | 'forwarder'

/**
 * A child process of part 3, on 127.0.0.2: the TURN server, or the baseline, a bare UDP forwarder
 * (one socket in, one out: strips the 4-byte ChannelData header and sends the payload to the peer
 * port written in it, no TURN logic). It answers stats requests over IPC.
 */
export async function relayChild (kind: ChildKind, maxStreams: number): Promise<void> {
  if (process.send === undefined) throw new Error(`--${kind}-child is internal to call-bench`)
  let address: TransportAddress
  let counters: () => { relayed: number, dropped: Record<string, number> }
  let close: () => Promise<void>
  if (kind === 'turn') {
    const secret = process.env[TURN_SECRET_ENV]
    if (secret === undefined) throw new Error('--turn-child needs its secret')
    const server = await startTurnServer({
      listen: '127.0.0.2:0',
      relayHost: '127.0.0.2',
      realm: TURN_REALM,
      secret,
      // The supernode's defaults, but for the allocation total (2000), which the ramp may pass,
      // and the per-address quota, as every stream comes from 127.0.0.1.
      quotas: { maxAllocations: maxStreams + 100, maxAllocationsPerAddress: maxStreams + 100 },
      // loopback peers: the lab flag.
      allowPrivatePeers: true
    })
    address = { address: server.address, port: server.port }
    counters = () => {
      const stats = server.stats()
      return { relayed: stats.toPeer.packets, dropped: stats.dropped }
    }
    close = () => server.close()
  } else {
    const listener = await bindUdp('127.0.0.2')
    const out = await bindUdp('127.0.0.2')
    let relayed = 0
    listener.on('message', bytes => {
      if (bytes.length !== 4 + STREAM_PAYLOAD_BYTES) return
      const data = bytes.subarray(4)
      out.send(data, data.readUInt16LE(17), '127.0.0.1')
      relayed++
    })
    address = { address: '127.0.0.2', port: listener.address().port }
    counters = () => ({ relayed, dropped: {} })
    close = async () => { await Promise.all([closeSocket(listener), closeSocket(out)]) }
  }
  const send = (message: unknown): void => { process.send?.(message) }
  const exit = (): void => { void close().finally(() => process.exit(0)) }
  process.on('disconnect', exit)
  process.on('message', (message: { type: string, id: number }) => {
    if (message.type === 'stats') {
      const elu = performance.eventLoopUtilization()
      send({ type: 'stats', id: message.id, stats: { cpu: process.cpuUsage(), elu: { idle: elu.idle, active: elu.active }, ...counters() } satisfies ChildStats })
    } else if (message.type === 'close') {
      exit()
    }
  })
  send({ type: 'ready', ...address })
}

export interface RelayChild {
  kind: ChildKind
  address: TransportAddress
  pid: number
  stats: () => Promise<ChildStats>
  close: () => Promise<void>
}

export async function startRelayChild (kind: ChildKind, secret: string, maxStreams: number): Promise<RelayChild> {
  const child: ChildProcess = fork(CHILD_ENTRY, [`--${kind}-child`, '--max-streams', String(maxStreams)], {
    env: { ...process.env, [TURN_SECRET_ENV]: secret },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  const closeChild = onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    if (child.connected) child.send({ type: 'close' })
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  })
  const ready = await new Promise<TransportAddress>((resolve, reject) => {
    child.once('message', message => { resolve(message as TransportAddress) })
    child.once('exit', code => { reject(new Error(`the ${kind} child exited (${String(code)}) before listening`)) })
  })
  let nextId = 0
  return {
    kind,
    address: { address: ready.address, port: ready.port },
    pid: child.pid as number,
    stats: () => new Promise(resolve => {
      const id = ++nextId
      const on = (message: { type: string, id: number, stats: ChildStats }): void => {
        if (message.type !== 'stats' || message.id !== id) return
        child.off('message', on)
        resolve(message.stats)
      }
      child.on('message', on)
      child.send({ type: 'stats', id })
    }),
    close: closeChild
  }
}
