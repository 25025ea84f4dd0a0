// What the parts of the call bench share: constants, sample summaries, UDP sockets, the child
// processes' entry point, and the closers run on exit (cleanup / onCleanup).
import { createSocket, type Socket } from 'node:dgram'
import { fileURLToPath } from 'node:url'
import { shutdownMedia } from '../../node/index.js'
import { series as seriesOf, type Series as MeasuredSeries } from '../lib/measure.js'

/** Calls (and bare connections) before the measured ones: module loading, JIT, first TURN allocations. */
export const WARMUP = 3
/** How often the first audio is looked for (ms). */
export const POLL_MS = 1
/** How long after the ring the callee answers (--ring-ms): a quick human. */
export const DEFAULT_RING_MS = '500'
export const CALL_TIMEOUT_MS = 25_000
export const TURN_REALM = 'voxmesh'
/** What the bench's child processes run (child.ts): a series of part 1, a relay of part 3. */
export const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url))

export type Series = Omit<MeasuredSeries, 'fail'>
/** Percentiles of the finite values (a failed sample's NaN figures left out). */
export function series (values: number[]): Series {
  const { fail: _fail, ...figures } = seriesOf(values.filter(v => Number.isFinite(v)))
  return figures
}

export async function bindUdp (address: string, port = 0): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, address, () => { socket.off('error', reject); resolve() })
  })
  socket.on('error', () => {})
  return socket
}

export function closeSocket (socket: Socket): Promise<void> {
  return new Promise(resolve => { try { socket.close(() => { resolve() }) } catch { resolve() } })
}

// ---- cleanup ---------------------------------------------------------------------

/** Closers, run last-registered first. */
const closers: Array<() => Promise<void> | void> = []
let cleaning: Promise<void> | undefined
/** Runs every registered closer (once, however often it is called), then shuts node-datachannel down. */
export function cleanup (): Promise<void> {
  cleaning ??= (async () => {
    while (closers.length > 0) {
      const close = closers.pop() as () => Promise<void> | void
      try { await close() } catch (err) { process.stderr.write(`call-bench: cleanup: ${(err as Error).message}\n`) }
    }
    shutdownMedia()
  })()
  return cleaning
}
/** Registers a closer; the returned function runs it now (once) and unregisters it. */
export function onCleanup (close: () => Promise<void> | void): () => Promise<void> {
  let done = false
  const once = async (): Promise<void> => { if (!done) { done = true; await close() } }
  closers.push(once)
  return async () => {
    const i = closers.indexOf(once)
    if (i >= 0) closers.splice(i, 1)
    await once()
  }
}
