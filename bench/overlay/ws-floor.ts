// The Node floor of the capacity figures: a bare WebSocket server (ws-floor-child.ts) holding as
// many connections as C held hosts, and receiving the hosts' keepalive at the same rate (a frame
// every BEAT_INTERVAL_MS per connection, every PING_INTERVAL_MS a ping that is answered). What it
// costs is what any Node supernode on this transport pays before doing anything of its own.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { WebSocket } from 'ws'
import { BEAT_INTERVAL_MS, PING_INTERVAL_MS } from '../../node/index.js'
import { cpuMeter, memoryOf, pool, round, sleep } from '../lib/measure.js'
import { BEAT_FRAME_BYTES, FLOOR_WINDOW_S, PING_FRAME_BYTES } from './constants.js'

export interface WsFloor {
  connections: number
  /** RSS growth of the bare server per open connection, KiB. */
  perConnectionKb: number
  framesPerSecond: number
  /** The bare server's CPU while it receives the keepalive, % of one core. */
  cpuPercent: number
}

export async function measureWsFloor (connections: number): Promise<WsFloor> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'ws-floor-child.js')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const sockets: WebSocket[] = []
  const timers: NodeJS.Timeout[] = []
  try {
    const port = Number((await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()).value)
    const pid = child.pid as number
    await sleep(500)
    const before = memoryOf(pid).rssKb
    await pool(connections, 100, async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
      sockets.push(socket)
      await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject) })
    })
    await sleep(2000)
    const perConnectionKb = (memoryOf(pid).rssKb - before) / connections

    // Each connection's keepalive, started at a random phase: a frame every beat interval, a ping every ping interval.
    const beat = Buffer.alloc(BEAT_FRAME_BYTES)
    const ping = Buffer.alloc(PING_FRAME_BYTES)
    const pingEvery = Math.max(1, Math.round(PING_INTERVAL_MS / BEAT_INTERVAL_MS))
    for (const socket of sockets) {
      let sent = 0
      timers.push(setTimeout(() => {
        timers.push(setInterval(() => { socket.send(++sent % pingEvery === 0 ? ping : beat) }, BEAT_INTERVAL_MS))
      }, Math.random() * BEAT_INTERVAL_MS))
    }
    await sleep(BEAT_INTERVAL_MS)
    const cpu = cpuMeter(pid)
    await sleep(FLOOR_WINDOW_S * 1000)
    return { connections, perConnectionKb: round(perConnectionKb, 2), framesPerSecond: Math.round(connections * 1000 / BEAT_INTERVAL_MS), cpuPercent: cpu().other }
  } finally {
    for (const timer of timers) clearTimeout(timer)
    for (const socket of sockets) socket.terminate()
    child.kill('SIGTERM')
  }
}
