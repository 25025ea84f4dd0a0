// Part 1's series (direct, relay, bare, bare-relay), each run in a child process that sends its
// samples and a heartbeat over IPC: a child whose main thread freezes is killed, noted, and a fresh
// one runs the rest of the series.
import { fork } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bareSeries } from './bare.js'
import { placeOneCall, startCallNet } from './setup-calls.js'
import { CHILD_ENTRY, cleanup, onCleanup, WARMUP } from './util.js'

/** A process freeze seen while running a series (see runSeries). */
export interface Stall { afterSamples: number, mainThread: string }

export type SeriesKind = 'direct' | 'relay' | 'bare' | 'bare-relay'
export interface Harness { pairs: number, placements: Record<string, number>, relayAllocationsLeftOpen: Record<string, number> }

/**
 * A child process running one series of part 1 (child.js --series-child KIND --count N --data-dir DIR --ring-ms MS):
 * it sends each sample over IPC as it is measured, and a heartbeat every second, so the parent
 * sees a frozen process (a native deadlock blocks the main thread) and can carry on without it.
 */
export async function seriesChild (kind: SeriesKind, count: number, dir: string, ringMs: number): Promise<void> {
  const send = (message: unknown): void => { process.send?.(message) }
  /** Sends and resolves once the message (and every one before it) is written. */
  const sent = (message: unknown): Promise<void> => new Promise(resolve => {
    if (process.send === undefined) resolve()
    else process.send(message, undefined, undefined, () => { resolve() })
  })
  const heartbeat = setInterval(() => { send({ type: 'alive' }) }, 1000)
  process.on('disconnect', () => { void cleanup().finally(() => process.exit(1)) })
  try {
    if (kind === 'direct' || kind === 'relay') {
      const net = await startCallNet(dir, ringMs)
      const relayOnly = kind === 'relay'
      for (let i = 0; i < WARMUP; i++) await placeOneCall(net, relayOnly)
      for (let i = 0; i < count; i++) send({ type: 'sample', sample: await placeOneCall(net, relayOnly) })
      const harness: Harness = { pairs: net.pairsUsed(), placements: net.placements(), relayAllocationsLeftOpen: net.relayAllocations() }
      await net.close()
      await sent({ type: 'done', harness })
    } else {
      await bareSeries(count, kind === 'bare-relay', sample => { send({ type: 'sample', sample }) })
      await sent({ type: 'done' })
    }
  } finally {
    clearInterval(heartbeat)
    await cleanup()
    // The IPC channel would keep this process alive.
    if (process.connected) process.disconnect()
  }
}

/** The state of a process's main thread, from /proc: what it waits in (wchan) and its state letter. */
function mainThreadState (pid: number): string {
  try {
    const wchan = readFileSync(`/proc/${pid}/task/${pid}/wchan`, 'utf8').trim()
    const state = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[0] ?? '?'
    return `state ${state}, waiting in ${wchan === '' || wchan === '0' ? 'nothing' : wchan}`
  } catch {
    return 'unknown'
  }
}

/** How long without a heartbeat before a series child counts as frozen. */
export const STALL_MS = 15_000
const MAX_RESTARTS = 5

/**
 * Runs a series in child processes until `count` samples are in: a child that stops sending its
 * heartbeat is killed (after its main thread's state is noted) and a fresh one runs the rest.
 */
export async function runSeries<T> (kind: SeriesKind, count: number, quiet: boolean, ringMs: number): Promise<{ samples: T[], stalls: Stall[], harness: Harness[] }> {
  const samples: T[] = []
  const stalls: Stall[] = []
  const harness: Harness[] = []
  for (let restarts = 0; samples.length < count; restarts++) {
    if (restarts > MAX_RESTARTS) throw new Error(`${kind} series: more than ${MAX_RESTARTS} child processes froze`)
    const dir = mkdtempSync(join(tmpdir(), 'voxmesh-call-bench-'))
    const removeDir = onCleanup(() => { rmSync(dir, { recursive: true, force: true }) })
    const child = fork(CHILD_ENTRY, ['--series-child', kind, '--count', String(count - samples.length), '--data-dir', dir, '--ring-ms', String(ringMs)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
    const killChild = onCleanup(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    })
    let last = Date.now()
    let done = false
    const stallsBefore = stalls.length
    child.on('message', (message: { type: string, sample?: T, harness?: Harness }) => {
      last = Date.now()
      if (message.type === 'sample') {
        samples.push(message.sample as T)
        if (!quiet && samples.length % 25 === 0 && samples.length < count) process.stderr.write(`call-bench: ${kind}: ${samples.length}/${count}\n`)
      } else if (message.type === 'done') {
        done = true
        if (message.harness !== undefined) harness.push(message.harness)
      }
    })
    let frozen = false
    const watchdog = setInterval(() => {
      if (frozen || Date.now() - last < STALL_MS || child.exitCode !== null) return
      frozen = true
      const mainThread = mainThreadState(child.pid as number)
      stalls.push({ afterSamples: samples.length, mainThread })
      process.stderr.write(`call-bench: ${kind}: the child process froze after ${samples.length} samples (main thread ${mainThread}); ` +
        'killed, going on in a fresh one\n')
      child.kill('SIGKILL')
    }, 1000)
    const code = await exited
    clearInterval(watchdog)
    await killChild()
    await removeDir()
    if (!done && stalls.length === stallsBefore) throw new Error(`${kind} series: the child process exited (${String(code)}) before it was done`)
  }
  return { samples: samples.slice(0, count), stalls, harness }
}
