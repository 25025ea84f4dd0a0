// The Node floor of the capacity figures: a bare WebSocket server (ws-floor-child.ts) holding as
// many connections as C held hosts, and receiving the hosts' keepalive at the same rate (a frame
// every BEAT_INTERVAL_MS per connection, every PING_INTERVAL_MS a ping that is answered). What it
// costs is what any Node supernode on this transport pays before doing anything of its own.
import { spawn, type ChildProcess } from 'node:child_process'
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
  /** Keepalive frames sent to it per second over the window (counted). */
  framesPerSecond: number
  /** The bare server's CPU while it receives the keepalive, % of one core. */
  cpuPercent: number
}

let running: ChildProcess | undefined

/** Kills the bare server if a measurement is under way (the bench's cleanup on exit or signal). */
export function stopWsFloor (): void {
  running?.kill('SIGKILL')
  running = undefined
}

/** `connections` must be at least 1. */
export async function measureWsFloor (connections: number): Promise<WsFloor> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'ws-floor-child.js')], { stdio: ['ignore', 'pipe', 'inherit'] })
  running = child
  const sockets: WebSocket[] = []
  const timers = new Set<NodeJS.Timeout>()
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

    // Each connection keeps alive as a host does (host/keepalive.ts), from a random phase: a ping
    // every PING_INTERVAL_MS, and a beat whenever it sent nothing for BEAT_INTERVAL_MS.
    const beat = Buffer.alloc(BEAT_FRAME_BYTES)
    const ping = Buffer.alloc(PING_FRAME_BYTES)
    let frames = 0
    const later = (fn: () => void, ms: number): void => {
      const timer = setTimeout(() => { timers.delete(timer); fn() }, ms)
      timers.add(timer)
    }
    for (const socket of sockets) {
      let lastSentAt = Date.now() - Math.random() * BEAT_INTERVAL_MS
      const send = (frame: Buffer): void => { socket.send(frame); frames++; lastSentAt = Date.now() }
      const beatWhenQuiet = (): void => {
        const wait = lastSentAt + BEAT_INTERVAL_MS - Date.now()
        if (wait <= 0) send(beat)
        later(beatWhenQuiet, wait <= 0 ? BEAT_INTERVAL_MS : wait)
      }
      const pingEvery = (): void => { send(ping); later(pingEvery, PING_INTERVAL_MS) }
      later(beatWhenQuiet, lastSentAt + BEAT_INTERVAL_MS - Date.now())
      later(pingEvery, Math.random() * PING_INTERVAL_MS)
    }
    await sleep(PING_INTERVAL_MS)
    const cpu = cpuMeter(pid)
    const framesBefore = frames
    await sleep(FLOOR_WINDOW_S * 1000)
    return { connections, perConnectionKb: round(perConnectionKb, 2), framesPerSecond: Math.round((frames - framesBefore) / FLOOR_WINDOW_S), cpuPercent: cpu().other }
  } finally {
    for (const timer of timers) clearTimeout(timer)
    for (const socket of sockets) socket.terminate()
    child.kill('SIGTERM')
    running = undefined
  }
}
