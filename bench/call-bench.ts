// Call benchmark on loopback, four parts:
//
//  1. Call setup through two supernodes: a login server, two supernodes (super1, super2 on
//     127.0.0.2, with their TURN relays) and the users (startNode, as in
//     test/calls/audio-call.test.ts), real nodes in one child process per series. N calls caller →
//     callee one after another, direct and then forced through the relays (relay-only), caller and
//     callee always on different supernodes; the callee answers each from its call-incoming
//     listener. Per call: invite → ringing, answer → caller connected, answer → first audio at
//     either end (definitions are printed with the table). Baselines in the same run: N bare
//     node-datachannel connections between two createMediaSession objects in one process, offer
//     and answer handed over directly (no overlay, no call signaling), from start() to the first
//     audio packet received; relay-only through two TURN servers on 127.0.0.2.
//     Each series runs in a child process that sends every sample and a heartbeat over IPC: a
//     child whose main thread freezes (libdatachannel can deadlock in a DTLS handshake over a TURN
//     relay, and then every call into node-datachannel blocks) is killed, noted, and a fresh one
//     runs the rest of the series. A fresh pair of users takes over every CALLS_PER_PAIR calls.
//  2. Mouth-to-ear latency the audio pipeline adds (framing + look-ahead + encode + jitter
//     buffer + decode) at 0/10/30 ms network jitter: bench/audio-pipeline-bench.ts's measurement.
//  3. TURN relay capacity: one TURN server (startTurnServer, the supernode's relay with its
//     defaults but a raised allocation quota) in a child process on 127.0.0.2; this process runs
//     simulated voice streams — a UDP client each that Allocates (long-term credentials from
//     issueTurnCredentials), CreatePermissions, ChannelBinds and then sends 50 ChannelData
//     packets/s of 100 bytes to a peer socket through the relay. The number of streams ramps up
//     (25, 50, 100, ... ×2) for --relay-seconds each until loss at the peers passes 1%, then
//     bisects. Baseline: a bare Node UDP forwarder process, measured right after the TURN server
//     at each count. Loss is split by where the kernel dropped (/proc/net/udp); the relay's CPU
//     is its process.cpuUsage.
//  4. Opus streams per core: the encoder (createOpusEncoder, as calls set it up) and the decoder
//     (createOpusDecoder) on speech, frames per CPU-second of this process / 50.
//
//   npm run bench:calls -- [--calls 100] [--relay-calls 100] [--skip-relay] [--relay-seconds 5]
//                          [--max-streams 6400] [--pipeline-seconds 30] [--opus-seconds 2] [--json]
//
// Everything runs on one machine: the benchmark's own clients share the cores with what they
// measure, which the output says. Nodes, servers, sockets, child processes and temp dirs are
// closed on exit, error, SIGINT and SIGTERM.
import { fork, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { LoginClient } from '../common/login-client.js'
import { startLoginServer, type RunningLoginServer } from '../login-server/server.js'
import { createOpusDecoder, createOpusEncoder } from '../node/media/audio/opus.js'
import { FRAME_SAMPLES, floatToInt16 } from '../node/media/audio/pcm.js'
import { createMediaSession, shutdownMedia, type MediaIceServer, type MediaSession } from '../node/media/media-session.js'
import { METHOD } from '../node/media/turn/constants.js'
import { issueTurnCredentials, type TurnSecret } from '../node/media/turn/credentials.js'
import type { TransportAddress } from '../node/media/turn/ip.js'
import {
  decodeStunMessage, encodeChannelData, encodeStunMessage, findAttribute, longTermKey, packetKind, type StunAttribute, type StunMessage
} from '../node/media/turn/stun-codec.js'
import { startTurnServer, type RunningTurnServer } from '../node/media/turn/udp-turn-server.js'
import { silentLogger, type Logger } from '../node/overlay/logger.js'
import type { NodeEvent } from '../node/runtime/api.js'
import { startNode, type RunningNode } from '../node/runtime/node.js'
import { measurePipeline, speech, type PipelineFigures } from './audio-pipeline-bench.js'

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '100' },
    'relay-calls': { type: 'string' },
    'skip-relay': { type: 'boolean', default: false },
    'relay-seconds': { type: 'string', default: '5' },
    'max-streams': { type: 'string', default: '6400' },
    'pipeline-seconds': { type: 'string', default: '30' },
    'opus-seconds': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    /** Internal: run as the TURN server (or the forwarder) child process of part 3. */
    'turn-child': { type: 'boolean', default: false },
    'forwarder-child': { type: 'boolean', default: false },
    /** Internal: run one series of part 1 (direct, relay, bare, bare-relay) as a child process. */
    'series-child': { type: 'string' },
    count: { type: 'string' },
    'data-dir': { type: 'string' }
  }
})
const num = (name: 'calls' | 'relay-calls' | 'relay-seconds' | 'max-streams' | 'pipeline-seconds' | 'opus-seconds', min: number, max: number, fallback?: string): number => {
  const n = Number(flags[name] ?? fallback)
  if (Number.isFinite(n) && n >= min && n <= max) return n
  process.stderr.write(`call-bench: --${name} must be a number in [${min}, ${max}], got ${String(flags[name])}\n`)
  process.exit(2)
}
const callCount = Math.round(num('calls', 1, 100_000))
const relayCallCount = Math.round(num('relay-calls', 0, 100_000, String(callCount)))
const relaySeconds = num('relay-seconds', 1, 600)
const maxStreams = Math.round(num('max-streams', 25, 20_000))
const pipelineSeconds = num('pipeline-seconds', 1, 600)
const opusSeconds = num('opus-seconds', 0.2, 60)
const cores = availableParallelism()
const PASSWORD = 'correct horse battery staple'
/** Calls (and bare connections) before the measured ones: module loading, JIT, first TURN allocations. */
const WARMUP = 3
/** How often the first audio is looked for (ms). */
const POLL_MS = 1
const CALL_TIMEOUT_MS = 25_000
const TURN_REALM = 'voxmesh'
const TURN_SECRET_ENV = 'VOXMESH_CALL_BENCH_TURN_SECRET'
const STREAM_PAYLOAD_BYTES = 100
const STREAM_PPS = 50
const CHANNEL = 0x4000
const PEER_SOCKETS = 8
const PEER_RECV_BUFFER = 4 * 1024 * 1024
const LOSS_LIMIT_PERCENT = 1
/** Sent rate below this share of the target: the bench client, not the relay, is the limit. */
const CLIENT_LIMIT_SHARE = 0.98
const REFINE_STEPS = 2
/**
 * Calls per pair of users before a fresh pair takes over. libjuice leaves a session's TURN
 * allocation open when it closes (libjuice #348), so each call end holds one allocation on its
 * supernode's relay for the allocation lifetime (10 min), and the relay allows 10 per user: the
 * 11th call of a user within 10 minutes would gather no relay candidate (and a relay-only call fails).
 */
const CALLS_PER_PAIR = 8

// ---- helpers -------------------------------------------------------------------

/** Nearest-rank percentile of an ascending array, p in 0..100. */
function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}
const round = (n: number, digits = 1): number => Number(n.toFixed(digits))
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

interface Series { n: number, p50: number, p90: number, p99: number, max: number }
function series (values: number[]): Series {
  const sorted = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b)
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) }
}

/** A free TCP port on `host` (the supernode's overlay listener; its TURN relay takes the same port on UDP). */
async function freePort (host: string): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, resolve) })
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

async function bindUdp (address: string, port = 0): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, address, () => { socket.off('error', reject); resolve() })
  })
  socket.on('error', () => {})
  return socket
}

function closeSocket (socket: Socket): Promise<void> {
  return new Promise(resolve => { try { socket.close(() => { resolve() }) } catch { resolve() } })
}

/** One Opus packet of a 440 Hz tone, what the bare connections send. */
function opusPacket (): Uint8Array {
  const encoder = createOpusEncoder({ fec: true })
  const frame = floatToInt16(Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => 0.3 * Math.sin(2 * Math.PI * 440 * i / 48_000)))
  const packet = encoder.encode(frame)
  encoder.close()
  return packet
}

// ---- cleanup ---------------------------------------------------------------------

/** Closers, run last-registered first. */
const closers: Array<() => Promise<void> | void> = []
let cleaning: Promise<void> | undefined
function cleanup (): Promise<void> {
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
function onCleanup (close: () => Promise<void> | void): () => Promise<void> {
  let done = false
  const once = async (): Promise<void> => { if (!done) { done = true; await close() } }
  closers.push(once)
  return async () => {
    const i = closers.indexOf(once)
    if (i >= 0) closers.splice(i, 1)
    await once()
  }
}

// ---- 1. call setup -----------------------------------------------------------------

interface CallSample {
  ok: boolean
  error?: string
  path?: string
  inviteToRinging: number
  answerToCallerConnected: number
  answerToCallerAudio: number
  answerToCalleeAudio: number
  /** alice's own setupMs (call-accept received → media connected). */
  reportedSetupMs: number
  /** placeCall() → both ends' call-ended. */
  wallMs: number
}

interface CallSeriesResult {
  relayOnly: boolean
  calls: number
  failures: number
  errors: string[]
  paths: Record<string, number>
  inviteToRinging: Series
  answerToCallerConnected: Series
  answerToCallerAudio: Series
  answerToCalleeAudio: Series
  reportedSetupMs: Series
  /** Wall time per call, invite to both ends' call-ended. */
  wallPerCallMs: number
  stalls: Stall[]
}

interface BareResult {
  relayOnly: boolean
  connections: number
  failures: number
  stalls: Stall[]
  startToOffererAudio: Series
  startToAnswererAudio: Series
  startToConnected: Series
}

/** What one node saw of one call: when (performance.now()) each call event arrived, and what some said. */
interface CallMarks {
  at: { incoming?: number, ringing?: number, connected?: number, ended?: number, answer?: number }
  setupMs?: number
  path?: string
  reason?: string
}
type Marks = Map<string, CallMarks>

function markEvents (node: RunningNode, marks: Marks, onEvent?: (event: NodeEvent) => void): void {
  node.subscribe(event => {
    const now = performance.now()
    const mark = (callId: string): CallMarks => {
      let entry = marks.get(callId)
      if (entry === undefined) marks.set(callId, entry = { at: {} })
      return entry
    }
    switch (event.event) {
      case 'call-incoming': mark(event.callId).at.incoming ??= now; break
      case 'call-ringing': mark(event.callId).at.ringing ??= now; break
      case 'call-connected': {
        const entry = mark(event.callId)
        entry.at.connected ??= now
        entry.setupMs = event.setupMs
        entry.path = event.path
        break
      }
      case 'call-ended': {
        const entry = mark(event.callId)
        entry.at.ended ??= now
        entry.reason = event.reason
        break
      }
    }
    onEvent?.(event)
  })
}

/** One caller and one callee, each attached to a different supernode. */
interface CallPair {
  alice: RunningNode
  bob: RunningNode
  aliceMarks: Marks
  bobMarks: Marks
  placement: string
  calls: number
  close: () => Promise<void>
}

interface CallNet {
  /** The pair to call with: a fresh one once the current one has placed CALLS_PER_PAIR calls. */
  pair: () => Promise<CallPair>
  pairsUsed: () => number
  placements: () => Record<string, number>
  /** TURN allocations live on each supernode's relay now (their own counters). */
  relayAllocations: () => Record<string, number>
  close: () => Promise<void>
}

/** The network of part 1 in `dir` (the parent process made it and removes it). */
async function startCallNet (dir: string): Promise<CallNet> {
  const log = pino({ level: process.env.BENCH_LOG ?? 'error' }, pino.destination(2)) as unknown as Logger
  // Rate limits raised: the harness makes a few dozen accounts and logins from 127.0.0.1.
  const login: RunningLoginServer = await startLoginServer({
    listen: '127.0.0.1:0',
    dataDir: join(dir, 'login'),
    argon2: { ops: 1, memoryKib: 64 },
    rateLimits: { accountsPerIp: { limit: 10_000, windowSeconds: 3600 }, sessionsPerIp: { limit: 10_000, windowSeconds: 60 } }
  })
  const closeLogin = onCleanup(() => login.close())
  const client = new LoginClient(login.url)

  const start = async (user: string, extra: Partial<Parameters<typeof startNode>[0]> = {}): Promise<{ node: RunningNode, close: () => Promise<void> }> => {
    const node = await startNode({ user, password: PASSWORD, loginServer: login.url, dataDir: join(dir, user), role: 'host', log, mediaBindAddress: '127.0.0.1', ...extra })
    return { node, close: onCleanup(() => node.close()) }
  }
  const attachedTo = async (node: RunningNode): Promise<string> => {
    const deadline = Date.now() + 20_000
    for (;;) {
      const sn = node.status().supernode
      if (sn !== null) return sn.user ?? sn.address
      if (Date.now() > deadline) throw new Error(`${node.status().user} did not attach to a supernode in 20 s`)
      await sleep(20)
    }
  }
  // The supernodes (and their TURN relays) on 127.0.0.2, the users' media on 127.0.0.1: TURN
  // permissions are per IP, so a relay-only session cannot reach the peer's relay from its host socket.
  for (const user of ['super1', 'super2']) await client.createAccount(user, PASSWORD)
  const supernodes: RunningNode[] = []
  const closeSupernodes: Array<() => Promise<void>> = []
  for (const user of ['super1', 'super2']) {
    const { node, close } = await start(user, { role: 'supernode', listen: `127.0.0.2:${await freePort('127.0.0.2')}` })
    await attachedTo(node)
    supernodes.push(node)
    closeSupernodes.push(close)
  }

  const waitFor = async (what: string, ok: () => boolean): Promise<void> => {
    for (const deadline = Date.now() + 20_000; !ok(); await sleep(10)) if (Date.now() > deadline) throw new Error(`${what} within 20 s`)
  }
  let pairs = 0
  const placements: Record<string, number> = {}
  /** A caller, and a callee restarted until it lands on the other supernode; contacts; bob answers every call at once. */
  const newPair = async (): Promise<CallPair> => {
    const k = ++pairs
    const [caller, callee] = [`caller${k}`, `callee${k}`]
    for (const user of [caller, callee]) await client.createAccount(user, PASSWORD)
    // Each attaches to whichever supernode answers first: restart one of them (alternately) until they differ.
    const started = async (user: string): Promise<{ node: RunningNode, close: () => Promise<void>, on: string }> => {
      rmSync(join(dir, user, 'host-cache.json'), { force: true })
      const n = await start(user)
      return { ...n, on: await attachedTo(n.node) }
    }
    let a = await started(caller)
    let b = await started(callee)
    for (let attempt = 0; a.on === b.on; attempt++) {
      if (attempt === 20) {
        await a.close()
        await b.close()
        throw new Error(`${caller} and ${callee} did not land on different supernodes in 20 restarts`)
      }
      if (attempt % 2 === 0) { await b.close(); b = await started(callee) } else { await a.close(); a = await started(caller) }
    }
    const closers = [a.close, b.close]
    const [alice, bob, aliceOn, bobOn] = [a.node, b.node, a.on, b.on]
    const placement = `${aliceOn} → ${bobOn}`
    placements[placement] = (placements[placement] ?? 0) + 1

    const aliceMarks: Marks = new Map()
    const bobMarks: Marks = new Map()
    const answerer = bob
    markEvents(alice, aliceMarks)
    markEvents(bob, bobMarks, event => {
      if (event.event !== 'call-incoming') return
      // Answered at once, from the listener: the answer time is this moment.
      const entry = bobMarks.get(event.callId) as CallMarks
      entry.at.answer = performance.now()
      answerer.answerCall(event.callId, { tone: 440 }).catch((err: Error) => { process.stderr.write(`call-bench: answer failed: ${err.message}\n`) })
    })

    // Contacts: the caller asks, the callee accepts, the caller sees the callee online.
    const events: NodeEvent[] = []
    const unsubscribe = [alice.subscribe(e => { events.push(e) }), bob.subscribe(e => { events.push(e) })]
    await alice.addContact(callee)
    await waitFor(`${callee} got no contact request`, () => events.some(e => e.event === 'contact-request' && e.from === caller))
    await bob.acceptContact(caller)
    await waitFor(`${caller} does not see ${callee} online`, () => events.some(e => e.event === 'presence' && e.user === callee && e.status === 'online'))
    for (const off of unsubscribe) off()
    return {
      alice, bob, aliceMarks, bobMarks, placement, calls: 0,
      close: async () => { for (const close of closers.reverse()) await close() }
    }
  }

  let current: CallPair | undefined
  return {
    async pair () {
      if (current !== undefined && current.calls >= CALLS_PER_PAIR) {
        await current.close()
        current = undefined
      }
      current ??= await newPair()
      current.calls++
      return current
    },
    pairsUsed: () => pairs,
    placements: () => ({ ...placements }),
    relayAllocations: () => Object.fromEntries(supernodes.map(sn => [sn.status().user, sn.status().relay?.allocations ?? 0])),
    close: async () => {
      await current?.close()
      for (const close of closeSupernodes.reverse()) await close()
      await closeLogin()
    }
  }
}

async function placeOneCall (net: CallNet, relayOnly: boolean): Promise<CallSample> {
  const { alice, bob, aliceMarks, bobMarks } = await net.pair()
  const callee = bob.status().user
  const t0 = performance.now()
  const failed = (error: string): CallSample => ({
    ok: false, error, inviteToRinging: NaN, answerToCallerConnected: NaN, answerToCallerAudio: NaN, answerToCalleeAudio: NaN, reportedSetupMs: NaN, wallMs: performance.now() - t0
  })
  let callId: string
  try {
    callId = (await alice.placeCall(callee, { tone: 440, relayOnly })).callId
  } catch (err) {
    return failed(`placeCall: ${(err as Error).message}`)
  }
  const a = (): CallMarks => aliceMarks.get(callId) ?? { at: {} }
  const b = (): CallMarks => bobMarks.get(callId) ?? { at: {} }
  const received = (node: RunningNode): boolean => (node.calls().find(c => c.callId === callId)?.stats?.packetsReceived ?? 0) > 0
  let callerAudio: number | undefined
  let calleeAudio: number | undefined
  let error: string | undefined
  for (;;) {
    if (callerAudio === undefined && received(alice)) callerAudio = performance.now()
    if (calleeAudio === undefined && received(bob)) calleeAudio = performance.now()
    if (callerAudio !== undefined && calleeAudio !== undefined) break
    if (a().at.ended !== undefined || b().at.ended !== undefined) {
      error = `ended before audio: ${a().reason ?? b().reason ?? '?'}, ${Math.round((performance.now() - t0) / 1000)} s after the invite`
      break
    }
    if (performance.now() - t0 > CALL_TIMEOUT_MS) { error = `no audio both ways within ${CALL_TIMEOUT_MS} ms`; break }
    await sleep(POLL_MS)
  }
  try { alice.hangup(callId) } catch { /* already ended */ }
  for (const t = performance.now(); a().at.ended === undefined || b().at.ended === undefined; await sleep(5)) {
    if (performance.now() - t > 10_000) { error ??= 'no call-ended within 10 s of the hangup'; break }
  }
  const am = a()
  const answer = b().at.answer
  aliceMarks.delete(callId)
  bobMarks.delete(callId)
  if (error !== undefined || answer === undefined) return failed(error ?? 'never answered')
  return {
    ok: true,
    path: am.path ?? 'unknown',
    inviteToRinging: (am.at.ringing ?? NaN) - t0,
    answerToCallerConnected: (am.at.connected ?? NaN) - answer,
    answerToCallerAudio: (callerAudio as number) - answer,
    answerToCalleeAudio: (calleeAudio as number) - answer,
    reportedSetupMs: am.setupMs ?? NaN,
    wallMs: performance.now() - t0
  }
}

/** Process freezes seen while running a series (see runSeries); `native`: where its threads were blocked, from gdb when installed. */
interface Stall { afterSamples: number, mainThread: string, native?: string }

function summarizeCalls (samples: CallSample[], relayOnly: boolean, stalls: Stall[]): CallSeriesResult {
  const ok = samples.filter(s => s.ok)
  const paths: Record<string, number> = {}
  for (const s of ok) paths[s.path as string] = (paths[s.path as string] ?? 0) + 1
  return {
    relayOnly,
    calls: samples.length,
    failures: samples.length - ok.length,
    errors: [...new Set(samples.filter(s => !s.ok).map(s => s.error as string))].slice(0, 5),
    stalls,
    paths,
    inviteToRinging: series(ok.map(s => s.inviteToRinging)),
    answerToCallerConnected: series(ok.map(s => s.answerToCallerConnected)),
    answerToCallerAudio: series(ok.map(s => s.answerToCallerAudio)),
    answerToCalleeAudio: series(ok.map(s => s.answerToCalleeAudio)),
    reportedSetupMs: series(ok.map(s => s.reportedSetupMs)),
    wallPerCallMs: round(samples.reduce((sum, s) => sum + s.wallMs, 0) / Math.max(1, samples.length))
  }
}

/** One bare connection: two media sessions, descriptions handed over directly. */
async function bareConnection (packet: Uint8Array, servers: { offerer: MediaIceServer[], answerer: MediaIceServer[] }, relayOnly: boolean): Promise<{ offerer: number, answerer: number, connected: number } | undefined> {
  const timers: NodeJS.Timeout[] = []
  const sessions: MediaSession[] = []
  const t: { offerer?: number, answerer?: number, connected?: number } = {}
  const make = (role: 'offerer' | 'answerer'): MediaSession => {
    let session: MediaSession | undefined
    session = createMediaSession({
      role,
      iceServers: servers[role],
      relayOnly,
      bindAddress: '127.0.0.1',
      mediaTimeoutMs: 0,
      log: silentLogger,
      onAudio: () => { t[role] ??= performance.now() },
      onState: state => {
        if (state !== 'connected' || session === undefined) return
        if (role === 'offerer') t.connected ??= performance.now()
        const s = session
        s.sendAudio(packet)
        timers.push(setInterval(() => { s.sendAudio(packet) }, 20))
      }
    })
    sessions.push(session)
    return session
  }
  try {
    const start = performance.now()
    const offerer = make('offerer')
    const answerer = make('answerer')
    offerer.start()
    const offer = await offerer.gathered()
    const applied = answerer.setRemoteDescription(offer, 'offer')
    if (!applied.ok) throw new Error(`offer refused: ${applied.reason}`)
    const answer = await answerer.gathered()
    const accepted = offerer.setRemoteDescription(answer, 'answer')
    if (!accepted.ok) throw new Error(`answer refused: ${accepted.reason}`)
    for (const deadline = start + CALL_TIMEOUT_MS; t.offerer === undefined || t.answerer === undefined; await sleep(POLL_MS)) {
      if (performance.now() > deadline) return undefined
    }
    return { offerer: (t.offerer as number) - start, answerer: (t.answerer as number) - start, connected: (t.connected ?? NaN) - start }
  } catch (err) {
    process.stderr.write(`call-bench: bare connection failed: ${(err as Error).message}\n`)
    return undefined
  } finally {
    for (const timer of timers) clearInterval(timer)
    for (const session of sessions) session.close()
  }
}

type BareSample = { ok: true, offerer: number, answerer: number, connected: number } | { ok: false }

/** Runs `count` bare connections (after WARMUP), reporting each. Relay-only: one TURN server per end, in this process. */
async function bareSeries (count: number, relayOnly: boolean, report: (sample: BareSample) => void): Promise<void> {
  const packet = opusPacket()
  const turns: RunningTurnServer[] = []
  const closeTurns = onCleanup(async () => { await Promise.all(turns.map(turn => turn.close())) })
  const secret = randomBytes(32)
  // Every connection gets its own credential user: closed sessions keep their allocations (see CALLS_PER_PAIR).
  if (relayOnly) for (let i = 0; i < 2; i++) turns.push(await startTurnServer({ listen: '127.0.0.2:0', relayHost: '127.0.0.2', realm: TURN_REALM, secret }))
  let connection = 0
  const servers = (): { offerer: MediaIceServer[], answerer: MediaIceServer[] } => {
    if (!relayOnly) return { offerer: [], answerer: [] }
    const server = (turn: RunningTurnServer, user: string): MediaIceServer => {
      const credentials = issueTurnCredentials(secret, user, 3600, Date.now())
      return { hostname: turn.address, port: turn.port, username: credentials.username, password: credentials.password, relayType: 'TurnUdp' }
    }
    const n = ++connection
    return { offerer: [server(turns[0] as RunningTurnServer, `offerer${n}`)], answerer: [server(turns[1] as RunningTurnServer, `answerer${n}`)] }
  }
  for (let i = 0; i < WARMUP; i++) await bareConnection(packet, servers(), relayOnly)
  for (let i = 0; i < count; i++) {
    const r = await bareConnection(packet, servers(), relayOnly)
    report(r === undefined ? { ok: false } : { ok: true, ...r })
  }
  await closeTurns()
}

function summarizeBare (samples: BareSample[], relayOnly: boolean, stalls: Stall[]): BareResult {
  const ok = samples.filter((s): s is Extract<BareSample, { ok: true }> => s.ok)
  return {
    relayOnly,
    connections: samples.length,
    failures: samples.length - ok.length,
    stalls,
    startToOffererAudio: series(ok.map(r => r.offerer)),
    startToAnswererAudio: series(ok.map(r => r.answerer)),
    startToConnected: series(ok.map(r => r.connected))
  }
}

// ---- part 1 in child processes -----------------------------------------------------

type SeriesKind = 'direct' | 'relay' | 'bare' | 'bare-relay'
interface Harness { pairs: number, placements: Record<string, number>, relayAllocationsLeftOpen: Record<string, number> }

/**
 * A child process running one series of part 1 (--series-child KIND --count N --data-dir DIR):
 * it sends each sample over IPC as it is measured, and a heartbeat every second, so the parent
 * sees a frozen process (a native deadlock blocks the main thread) and can carry on without it.
 */
async function seriesChild (kind: SeriesKind, count: number, dir: string): Promise<void> {
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
      const net = await startCallNet(dir)
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

/**
 * Where a frozen process's threads wait, from gdb's backtraces (when gdb is installed): per
 * thread, its innermost libdatachannel/libjuice frame, e.g. "juice poll: rtc::impl::DtlsTransport::handleTimeout".
 */
function nativeStacks (pid: number): string | undefined {
  const result = spawnSync('gdb', ['-p', String(pid), '-batch', '-ex', 'thread apply all bt 30'], { encoding: 'utf8', timeout: 60_000 })
  if (result.status !== 0 || typeof result.stdout !== 'string') return undefined
  const interesting = /(rtc::(?:impl::)?\w+::~?\w+|\b(?:agent|conn|juice)_\w+)/
  const seen = new Set<string>()
  for (const block of ('\n' + result.stdout).split('\nThread ').slice(1)) {
    const name = /"([^"]*)"/.exec(block)?.[1] ?? '?'
    const frame = block.split('\n').find(line => /^#\d+/.test(line) && interesting.test(line))
    const fn = frame === undefined ? undefined : interesting.exec(frame)?.[1]
    if (fn !== undefined && !/^(?:conn_thread_entry|conn_poll_run|conn_poll_process)$/.test(fn)) seen.add(`${name === 'node' && block.includes('(LWP ' + String(pid) + ')') ? 'main' : name}: ${fn}`)
  }
  return seen.size === 0 ? undefined : [...seen].join('; ')
}

/** How long without a heartbeat before a series child counts as frozen. */
const STALL_MS = 15_000
const MAX_RESTARTS = 5

/**
 * Runs a series in child processes until `count` samples are in: a child that stops sending its
 * heartbeat is killed (after its main thread's state is noted) and a fresh one runs the rest.
 */
async function runSeries<T> (kind: SeriesKind, count: number): Promise<{ samples: T[], stalls: Stall[], harness: Harness[] }> {
  const samples: T[] = []
  const stalls: Stall[] = []
  const harness: Harness[] = []
  for (let restarts = 0; samples.length < count; restarts++) {
    if (restarts > MAX_RESTARTS) throw new Error(`${kind} series: more than ${MAX_RESTARTS} child processes froze`)
    const dir = mkdtempSync(join(tmpdir(), 'voxmesh-call-bench-'))
    const removeDir = onCleanup(() => { rmSync(dir, { recursive: true, force: true }) })
    const child = fork(fileURLToPath(import.meta.url), ['--series-child', kind, '--count', String(count - samples.length), '--data-dir', dir], {
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
        if (!flags.json && samples.length % 25 === 0 && samples.length < count) process.stderr.write(`call-bench: ${kind}: ${samples.length}/${count}\n`)
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
      const native = nativeStacks(child.pid as number)
      stalls.push({ afterSamples: samples.length, mainThread, native })
      process.stderr.write(`call-bench: ${kind}: the child process froze after ${samples.length} samples (main thread ${mainThread}` +
        `${native === undefined ? '' : `; blocked in ${native}`}); killed, going on in a fresh one\n`)
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

// ---- 3. TURN relay capacity ------------------------------------------------------

interface ChildStats {
  cpu: NodeJS.CpuUsage
  elu: { idle: number, active: number }
  /** Packets sent on to the peers. */
  relayed: number
  dropped: Record<string, number>
}

type ChildKind = 'turn' | 'forwarder'

/**
 * A child process of part 3, on 127.0.0.2: the TURN server, or the baseline, a bare UDP forwarder
 * (one socket in, one out: strips the 4-byte ChannelData header and sends the payload to the peer
 * port written in it, no TURN logic). It answers stats requests over IPC.
 */
async function relayChild (kind: ChildKind): Promise<void> {
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
      // The supernode's defaults, but for the allocation total (2000): the ramp may pass it.
      quotas: { maxAllocations: maxStreams + 100 }
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

interface RelayChild {
  kind: ChildKind
  address: TransportAddress
  pid: number
  stats: () => Promise<ChildStats>
  close: () => Promise<void>
}

async function startRelayChild (kind: ChildKind, secret: string): Promise<RelayChild> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [`--${kind}-child`, '--max-streams', String(maxStreams)], {
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

interface Stream {
  index: number
  socket: Socket
  relay: TransportAddress
  peer: TransportAddress
  start: number
  sent: number
  seq: number
}

/** A TURN client: Allocate (answering the 401 challenge), CreatePermission and ChannelBind for its peer. */
async function openStream (index: number, server: TransportAddress, secret: TurnSecret, peer: TransportAddress): Promise<Stream> {
  const socket = await bindUdp('127.0.0.1')
  const pending = new Map<string, (message: StunMessage) => void>()
  socket.on('message', bytes => {
    if (packetKind(bytes) !== 'stun') return
    const decoded = decodeStunMessage(bytes)
    if (!decoded.ok) return
    pending.get(Buffer.from(decoded.message.transactionId).toString('hex'))?.(decoded.message)
  })
  const credentials = issueTurnCredentials(secret, `stream-${index}`, 3600, Date.now())
  const key = longTermKey(credentials.username, TURN_REALM, credentials.password)
  let nonce: string | undefined
  const request = async (method: number, attributes: StunAttribute[]): Promise<StunMessage> => {
    for (let challenges = 0; challenges < 3; challenges++) {
      const transactionId = randomBytes(12)
      const id = transactionId.toString('hex')
      const auth: StunAttribute[] = nonce === undefined
        ? []
        : [{ type: 'USERNAME', value: credentials.username }, { type: 'REALM', value: TURN_REALM }, { type: 'NONCE', value: nonce }]
      const bytes = encodeStunMessage({ method, class: 'request', transactionId, attributes: [...attributes, ...auth] },
        { integrityKey: nonce === undefined ? undefined : key, fingerprint: true })
      // Retransmissions (RFC 8489 §6.2.1, shortened for loopback): after 250, 500, 1000, 2000 ms.
      const response = await new Promise<StunMessage | undefined>(resolve => {
        let timer: NodeJS.Timeout | undefined
        let wait = 250
        const attempt = (left: number): void => {
          if (left === 0) { pending.delete(id); resolve(undefined); return }
          socket.send(bytes, server.port, server.address)
          timer = setTimeout(() => { attempt(left - 1) }, wait)
          wait *= 2
        }
        pending.set(id, message => { clearTimeout(timer); pending.delete(id); resolve(message) })
        attempt(4)
      })
      if (response === undefined) throw new Error(`stream ${index}: no answer to method ${method}`)
      const error = findAttribute(response, 'ERROR-CODE')?.value
      if (error === undefined) return response
      const fresh = findAttribute(response, 'NONCE')?.value
      if ((error.code === 401 || error.code === 438) && fresh !== undefined) { nonce = fresh; continue }
      throw new Error(`stream ${index}: method ${method} failed: ${error.code} ${error.reason}`)
    }
    throw new Error(`stream ${index}: too many challenges`)
  }
  try {
    const allocated = await request(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }])
    const relay = findAttribute(allocated, 'XOR-RELAYED-ADDRESS')?.value
    if (relay === undefined) throw new Error(`stream ${index}: no XOR-RELAYED-ADDRESS`)
    await request(METHOD.CREATE_PERMISSION, [{ type: 'XOR-PEER-ADDRESS', value: peer }])
    await request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: CHANNEL }, { type: 'XOR-PEER-ADDRESS', value: peer }])
    return { index, socket, relay, peer, start: 0, sent: 0, seq: 0 }
  } catch (err) {
    await closeSocket(socket)
    throw err
  }
}

/** Kernel drops per socket ("ip:port" → drops) from /proc/net/udp; undefined where it does not exist. */
function udpDrops (): Map<string, number> | undefined {
  let text: string
  try { text = readFileSync('/proc/net/udp', 'utf8') } catch { return undefined }
  const drops = new Map<string, number>()
  for (const line of text.split('\n').slice(1)) {
    const parts = line.trim().split(/\s+/)
    if (parts.length < 13) continue
    const [ipHex, portHex] = (parts[1] as string).split(':') as [string, string]
    const n = parseInt(ipHex, 16)
    // The address is the kernel's 32-bit word in host order (little-endian here).
    const ip = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.')
    const key = `${ip}:${parseInt(portHex, 16)}`
    drops.set(key, (drops.get(key) ?? 0) + Number(parts[12]))
  }
  return drops
}

function rmemDefault (): number | undefined {
  try { return Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8').trim()) } catch { return undefined }
}

interface RelayStep {
  relay: ChildKind
  streams: number
  targetPps: number
  sentPps: number
  lossPercent: number
  transitP50Ms: number
  transitP99Ms: number
  /** Share of one core: the relay process (TURN server or forwarder), and this bench process (clients and peers). */
  serverCpuPercent: number
  serverLoopPercent: number
  benchCpuPercent: number
  serverUsPerPacket: number
  /** Kernel receive-buffer drops in the step: at the relay's listening socket, the TURN relay sockets, the peers. */
  drops: { serverSocket: number, relaySockets: number, peerSockets: number } | null
  serverDropped: Record<string, number>
  senderSkipped: number
  verdict: 'ok' | 'loss' | 'bench-limited'
}

interface RelayResult {
  server: { pid: number, address: string }
  mode: string
  payloadBytes: number
  stepSeconds: number
  rmemDefault: number | null
  steps: RelayStep[]
  baseline: RelayStep[]
  capacity: number
  capacityNote: string
  allocationsFailed: number
}

async function measureRelay (): Promise<RelayResult> {
  const secret = randomBytes(24).toString('base64')
  // Both relays run from the start; each stream count is measured through the TURN server and
  // then through the forwarder, back to back, so both see the same machine.
  const turn = await startRelayChild('turn', secret)
  const forwarder = await startRelayChild('forwarder', secret)
  let target: RelayChild = turn
  const peers: Socket[] = []
  const streams: Stream[] = []
  const closeSockets = onCleanup(async () => {
    await Promise.all([...streams.map(s => closeSocket(s.socket)), ...peers.map(closeSocket)])
  })

  // Receivers: counts per step (byte 8 of the payload), transit times in 0.05 ms bins per step.
  const received = new Map<number, number>()
  const transit = new Map<number, Uint32Array>()
  const BIN_MS = 0.05
  const BINS = 40_000
  for (let i = 0; i < PEER_SOCKETS; i++) {
    const socket = await bindUdp('127.0.0.1')
    try { socket.setRecvBufferSize(PEER_RECV_BUFFER) } catch { /* keeps the default */ }
    socket.on('message', bytes => {
      if (bytes.length !== STREAM_PAYLOAD_BYTES) return
      const step = bytes[8] as number
      if (step === 0) return
      received.set(step, (received.get(step) ?? 0) + 1)
      let bins = transit.get(step)
      if (bins === undefined) transit.set(step, bins = new Uint32Array(BINS))
      const ms = performance.now() - bytes.readDoubleLE(9)
      const bin = Math.min(BINS - 1, Math.max(0, Math.floor(ms / BIN_MS)))
      bins[bin] = (bins[bin] as number) + 1
    })
    peers.push(socket)
  }
  const peerAddresses = peers.map(p => ({ address: '127.0.0.1', port: p.address().port }))
  const binPercentile = (bins: Uint32Array | undefined, p: number): number => {
    if (bins === undefined) return NaN
    let total = 0
    for (const c of bins) total += c
    const rank = Math.ceil(p / 100 * total)
    let seen = 0
    for (let i = 0; i < bins.length; i++) {
      seen += bins[i] as number
      if (seen >= rank && seen > 0) return round((i + 0.5) * BIN_MS, 2)
    }
    return NaN
  }

  // Sender: every 2 ms, each active stream sends what is due at 50 packets/s (a stream more than
  // 5 packets behind skips ahead, as the call audio clock does, and the skipped packets are counted).
  // Payload: stream index (u32), sequence number (u32), step (u8), send time (f64), peer port (u16).
  let active = 0
  let tag = 0
  let skipped = 0
  const sentByStep = new Map<number, number>()
  const payload = Buffer.alloc(STREAM_PAYLOAD_BYTES)
  const sender = setInterval(() => {
    const now = performance.now()
    const to = target.address
    for (let i = 0; i < active; i++) {
      const s = streams[i] as Stream
      const due = Math.floor((now - s.start) / (1000 / STREAM_PPS)) + 1
      if (due - s.sent > 5) { skipped += due - s.sent - 1; s.sent = due - 1 }
      while (s.sent < due) {
        payload.writeUInt32LE(s.index, 0)
        payload.writeUInt32LE(s.seq++, 4)
        payload[8] = tag
        payload.writeDoubleLE(performance.now(), 9)
        payload.writeUInt16LE(s.peer.port, 17)
        s.socket.send(encodeChannelData(CHANNEL, payload), to.port, to.address)
        s.sent++
        if (tag !== 0) sentByStep.set(tag, (sentByStep.get(tag) ?? 0) + 1)
      }
    }
  }, 2)
  const stopSender = onCleanup(() => { clearInterval(sender) })

  let allocationsFailed = 0
  const ensure = async (count: number): Promise<void> => {
    let next = streams.length
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < count) {
        const index = next++
        try {
          streams.push(await openStream(index, turn.address, secret, peerAddresses[index % PEER_SOCKETS] as TransportAddress))
        } catch (err) {
          allocationsFailed++
          if (allocationsFailed <= 3) process.stderr.write(`call-bench: ${(err as Error).message}\n`)
        }
      }
    }))
  }
  const setActive = (count: number): void => {
    const now = performance.now()
    // Newly active streams start spread over one 20 ms period.
    for (let i = active; i < Math.min(count, streams.length); i++) {
      const s = streams[i] as Stream
      s.start = now + (i % 10) * 2
      s.sent = 0
    }
    active = Math.min(count, streams.length)
  }

  let stepId = 0
  const runStep = async (count: number, through: RelayChild): Promise<RelayStep> => {
    target = through
    await ensure(count)
    setActive(count)
    const streamsNow = active
    await sleep(1000) // warm-up at the new load
    const id = ++stepId
    const [s0, c0, d0] = [await target.stats(), process.cpuUsage(), udpDrops()]
    const t0 = performance.now()
    skipped = 0
    tag = id
    await sleep(relaySeconds * 1000)
    tag = 0
    const elapsedS = (performance.now() - t0) / 1000
    const [s1, c1, d1] = [await target.stats(), process.cpuUsage(c0), udpDrops()]
    const stepSkipped = skipped
    await sleep(500) // packets still on their way
    const sent = sentByStep.get(id) ?? 0
    const got = received.get(id) ?? 0
    const lossPercent = sent === 0 ? 100 : round(100 * Math.max(0, sent - got) / sent, 2)
    const serverCpuS = (s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 1e6
    const relayed = s1.relayed - s0.relayed
    const elu = (s1.elu.active - s0.elu.active) / ((s1.elu.active + s1.elu.idle) - (s0.elu.active + s0.elu.idle))
    let drops: RelayStep['drops'] = null
    if (d0 !== undefined && d1 !== undefined) {
      const delta = (key: string): number => (d1.get(key) ?? 0) - (d0.get(key) ?? 0)
      const relayKeys = target.kind === 'turn' ? new Set(streams.slice(0, streamsNow).map(s => `${s.relay.address}:${s.relay.port}`)) : new Set<string>()
      drops = {
        serverSocket: delta(`${target.address.address}:${target.address.port}`),
        relaySockets: [...relayKeys].reduce((sum, key) => sum + delta(key), 0),
        peerSockets: peerAddresses.reduce((sum, p) => sum + delta(`${p.address}:${p.port}`), 0)
      }
    }
    const serverDropped: Record<string, number> = {}
    for (const [reason, n] of Object.entries(s1.dropped)) if (n - (s0.dropped[reason] ?? 0) > 0) serverDropped[reason] = n - (s0.dropped[reason] ?? 0)
    const targetPps = streamsNow * STREAM_PPS
    const sentPps = sent / elapsedS
    const step: RelayStep = {
      relay: target.kind,
      streams: streamsNow,
      targetPps,
      sentPps: Math.round(sentPps),
      lossPercent,
      transitP50Ms: binPercentile(transit.get(id), 50),
      transitP99Ms: binPercentile(transit.get(id), 99),
      serverCpuPercent: round(100 * serverCpuS / elapsedS),
      serverLoopPercent: round(100 * elu),
      benchCpuPercent: round(100 * (c1.user + c1.system) / 1e6 / elapsedS),
      serverUsPerPacket: relayed === 0 ? NaN : round(serverCpuS * 1e6 / relayed, 2),
      drops,
      serverDropped,
      senderSkipped: stepSkipped,
      verdict: sentPps < CLIENT_LIMIT_SHARE * targetPps ? 'bench-limited' : lossPercent > LOSS_LIMIT_PERCENT ? 'loss' : 'ok'
    }
    transit.delete(id)
    received.delete(id)
    sentByStep.delete(id)
    if (!flags.json) {
      process.stderr.write(`call-bench: ${target.kind} ${streamsNow} streams: loss ${lossPercent}%, sent ${step.sentPps}/${targetPps} pkt/s, ` +
        `relay CPU ${step.serverCpuPercent}%, bench CPU ${step.benchCpuPercent}%\n`)
    }
    return step
  }

  // The ramp: ×2 until the TURN server's loss passes the limit, then bisect; the forwarder
  // (the baseline) at every count the TURN server was measured at.
  const steps: RelayStep[] = []
  const baseline: RelayStep[] = []
  const measure = async (count: number): Promise<RelayStep> => {
    const step = await runStep(count, turn)
    steps.push(step)
    baseline.push(await runStep(count, forwarder))
    return step
  }
  let good = 0
  let bad: number | undefined
  let limitedBy: 'loss' | 'bench-limited' | 'max-streams' = 'max-streams'
  for (let count = 25; count <= maxStreams; count *= 2) {
    const step = await measure(count)
    if (step.streams < count) { limitedBy = 'bench-limited'; break } // allocations failed
    if (step.verdict === 'ok') { good = count; continue }
    limitedBy = step.verdict
    bad = count
    break
  }
  if (limitedBy === 'loss' && bad !== undefined) {
    for (let i = 0; i < REFINE_STEPS && bad - good > Math.max(10, good / 8); i++) {
      const mid = Math.round((good + bad) / 2)
      const step = await measure(mid)
      if (step.verdict === 'ok') good = mid
      else bad = mid
    }
  }

  await stopSender()
  await turn.close()
  await forwarder.close()
  await closeSockets()
  const capacityNote = limitedBy === 'loss'
    ? `largest count with loss ≤ ${LOSS_LIMIT_PERCENT}%; ${bad} streams lost more`
    : limitedBy === 'bench-limited'
      ? 'at least this: the bench\'s own clients could not send faster (or allocate more) on this machine, not the relay\'s limit'
      : `at least this: --max-streams ${maxStreams} reached without loss`
  return {
    server: { pid: turn.pid, address: `${turn.address.address}:${turn.address.port}` },
    mode: 'ChannelData (after Allocate, CreatePermission, ChannelBind), client → relay → peer',
    payloadBytes: STREAM_PAYLOAD_BYTES,
    stepSeconds: relaySeconds,
    rmemDefault: rmemDefault() ?? null,
    steps,
    baseline,
    capacity: good,
    capacityNote,
    allocationsFailed
  }
}

// ---- 4. Opus streams per core ----------------------------------------------------

interface CodecSpeed { framesPerCpuSecond: number, streamsPerCore: number, p50us: number, p99us: number }

/**
 * Runs `op` over `inputs` for `seconds`; the rate is per second of this process's CPU time
 * (what one core does, whatever else runs), the percentiles are wall time per call.
 */
function timeLoop<T> (inputs: T[], op: (input: T) => void): CodecSpeed {
  for (let i = 0; i < Math.min(200, inputs.length); i++) op(inputs[i] as T)
  const samples: number[] = []
  let count = 0
  const cpuStart = process.cpuUsage()
  const deadline = performance.now() + opusSeconds * 1000
  while (performance.now() < deadline) {
    for (const input of inputs) {
      const t = performance.now()
      op(input)
      samples.push(performance.now() - t)
      count++
      if ((count & 63) === 0 && performance.now() >= deadline) break
    }
  }
  const cpu = process.cpuUsage(cpuStart)
  const perSecond = count / ((cpu.user + cpu.system) / 1e6)
  samples.sort((a, b) => a - b)
  return { framesPerCpuSecond: Math.round(perSecond), streamsPerCore: Math.round(perSecond / 50), p50us: Math.round(percentile(samples, 50) * 1000), p99us: Math.round(percentile(samples, 99) * 1000) }
}

async function measureOpus (): Promise<{ input: string, encoderBackend: string, encoder: CodecSpeed, decoder: CodecSpeed, callEndsPerCore: number }> {
  const { signal, source } = speech()
  const frames: Int16Array[] = []
  for (let at = 0; at + FRAME_SAMPLES <= signal.length; at += FRAME_SAMPLES) frames.push(floatToInt16(signal.subarray(at, at + FRAME_SAMPLES)))
  const encoder = createOpusEncoder({ fec: true })
  const packets = frames.map(frame => encoder.encode(frame))
  const encode = timeLoop(frames, frame => { encoder.encode(frame) })
  const backend = encoder.backend
  encoder.close()
  const decoder = await createOpusDecoder()
  const decode = timeLoop(packets, packet => { decoder.decode(packet) })
  decoder.close()
  // One end of a call encodes one stream and decodes one: 50 of each per second.
  const callEndsPerCore = Math.round(1 / (50 / encode.framesPerCpuSecond + 50 / decode.framesPerCpuSecond))
  return { input: source, encoderBackend: backend, encoder: encode, decoder: decode, callEndsPerCore }
}

// ---- the run -------------------------------------------------------------------

function table (headers: string[], widths: number[], rows: Array<Array<string | number>>): string[] {
  const line = (cells: Array<string | number>): string => cells.map((c, i) => i === 0 ? String(c).padEnd(widths[0] as number) : String(c).padStart(widths[i] as number)).join('')
  return [line(headers), ...rows.map(line)]
}

async function main (): Promise<void> {
  const startedAt = performance.now()
  const machine = { cores, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadavgAtStart: loadavg().map(v => round(v, 2)) }

  // 1. Call setup, and the bare baselines, each series in its own child process (see runSeries).
  const directRun = await runSeries<CallSample>('direct', callCount)
  const direct = summarizeCalls(directRun.samples, false, directRun.stalls)
  const relayRun = relayCallCount > 0 ? await runSeries<CallSample>('relay', relayCallCount) : undefined
  const relayed = relayRun === undefined ? undefined : summarizeCalls(relayRun.samples, true, relayRun.stalls)
  const bareRun = await runSeries<BareSample>('bare', callCount)
  const bare = summarizeBare(bareRun.samples, false, bareRun.stalls)
  const bareRelayRun = relayCallCount > 0 ? await runSeries<BareSample>('bare-relay', relayCallCount) : undefined
  const bareRelay = bareRelayRun === undefined ? undefined : summarizeBare(bareRelayRun.samples, true, bareRelayRun.stalls)
  const harness = { callsPerPair: CALLS_PER_PAIR, pairs: 0, placements: {} as Record<string, number>, relayAllocationsLeftOpen: {} as Record<string, number> }
  for (const h of [...directRun.harness, ...(relayRun?.harness ?? [])]) {
    harness.pairs += h.pairs
    for (const [k, v] of Object.entries(h.placements)) harness.placements[k] = (harness.placements[k] ?? 0) + v
    for (const [k, v] of Object.entries(h.relayAllocationsLeftOpen)) harness.relayAllocationsLeftOpen[k] = (harness.relayAllocationsLeftOpen[k] ?? 0) + v
  }
  const ratio = (a: number, b: number): number => round(a / b, 1)
  const callRatios = {
    directAudioP50: ratio(direct.answerToCallerAudio.p50, bare.startToOffererAudio.p50),
    directAudioP99: ratio(direct.answerToCallerAudio.p99, bare.startToOffererAudio.p99),
    relayAudioP50: relayed !== undefined && bareRelay !== undefined ? ratio(relayed.answerToCallerAudio.p50, bareRelay.startToOffererAudio.p50) : null,
    relayAudioP99: relayed !== undefined && bareRelay !== undefined ? ratio(relayed.answerToCallerAudio.p99, bareRelay.startToOffererAudio.p99) : null
  }

  // 2. Mouth-to-ear added by the pipeline.
  const pipeline: PipelineFigures = await measurePipeline({ jitterLevels: [0, 10, 30], seconds: pipelineSeconds, phases: 5, lossPercent: 0 })

  // 3. TURN relay capacity.
  const relay = flags['skip-relay'] ? undefined : await measureRelay()

  // 4. Opus streams per core.
  const opus = await measureOpus()

  const figures = {
    machine: { ...machine, loadavgAtEnd: loadavg().map(v => round(v, 2)), totalSeconds: round((performance.now() - startedAt) / 1000) },
    calls: { warmup: WARMUP, pollMs: POLL_MS, harness, direct, relayed: relayed ?? null, bare, bareRelay: bareRelay ?? null, ratios: callRatios },
    pipeline,
    relay: relay ?? null,
    opus
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify(figures) + '\n')
    return
  }

  const out: string[] = []
  out.push(`voxmesh call bench: ${cores} cores (${machine.cpu}), node ${process.version}, load average ${machine.loadavgAtStart.join(' ')} at start. ` +
    'Everything runs on this one machine: the nodes, servers and the bench\'s own clients share these cores (and anything else running).')
  out.push('')
  out.push(`1. Call setup: ${callCount} direct${relayed === undefined ? '' : ` + ${relayCallCount} relay-only`} calls, one at a time, after ${WARMUP} warm-up calls each; ` +
    'a login server, super1 and super2 (127.0.0.2, with their TURN relays) and the users, real nodes in one child process per series; caller ("alice") and callee ("bob") always on different supernodes ' +
    `(${Object.entries(harness.placements).map(([k, v]) => `${k} ×${v}`).join(', ')})`)
  out.push(`   harness: a fresh pair of users every ${CALLS_PER_PAIR} calls (${harness.pairs} pairs): a closed session leaves its TURN allocation open (libjuice #348) ` +
    `and the relay allows 10 per user for 10 min, so a user's 11th call within 10 minutes would gather no relay candidate (relay-only calls fail). ` +
    `Allocations still open on the relays after these calls: ${Object.entries(harness.relayAllocationsLeftOpen).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  out.push('   invite → ringing: alice.placeCall() called → alice\'s call-ringing event (invite and ringing cross alice → super1 → super2 → bob and back)')
  out.push('   answer: bob.answerCall() called from his call-incoming listener, at once (no human delay)')
  out.push('   answer → connected: → alice\'s call-connected (her media session connected and its candidate pair known)')
  out.push(`   answer → first audio: → the first ${POLL_MS} ms poll at which that end's calls() shows packetsReceived > 0: its audio pipeline runs and ` +
    'one Opus RTP packet from the other end has arrived (received, not yet played: the jitter buffer adds its 20–40 ms target on top)')
  out.push('   bare baseline: two createMediaSession objects in one process, offer and answer (complete, candidates inside, as calls send them) handed over directly; ' +
    'each end sends an Opus packet when connected and every 20 ms after; start() → the first packet received. Relay-only: through two TURN servers on 127.0.0.2, one per end')
  const callRows: Array<Array<string | number>> = []
  const addSeries = (name: string, s: Series, n: number, fail: number): void => { callRows.push([name, n, fail, s.p50, s.p90, s.p99, s.max]) }
  for (const [label, r] of [['direct', direct], ['relay-only', relayed]] as const) {
    if (r === undefined) continue
    addSeries(`${label}: invite → ringing`, r.inviteToRinging, r.calls, r.failures)
    addSeries(`${label}: answer → connected`, r.answerToCallerConnected, r.calls, r.failures)
    addSeries(`${label}: answer → first audio, alice`, r.answerToCallerAudio, r.calls, r.failures)
    addSeries(`${label}: answer → first audio, bob`, r.answerToCalleeAudio, r.calls, r.failures)
  }
  for (const [label, b] of [['bare direct', bare], ['bare relay-only', bareRelay]] as const) {
    if (b === undefined) continue
    addSeries(`${label}: start → offerer audio`, b.startToOffererAudio, b.connections, b.failures)
    addSeries(`${label}: start → answerer audio`, b.startToAnswererAudio, b.connections, b.failures)
  }
  out.push(...table(['series', 'n', 'fail', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], [42, 6, 6, 9, 9, 9, 9], callRows))
  out.push(`   paths: direct ${JSON.stringify(direct.paths)}${relayed === undefined ? '' : `, relay-only ${JSON.stringify(relayed.paths)}`}; ` +
    `wall time per call (invite → both ended) ${direct.wallPerCallMs} ms direct${relayed === undefined ? '' : `, ${relayed.wallPerCallMs} ms relay-only`}`)
  for (const r of [direct, relayed]) if (r !== undefined && r.failures > 0) out.push(`   ${r.relayOnly ? 'relay-only' : 'direct'} failures: ${r.errors.join('; ')}`)
  const stallText = (label: string, stalls: Stall[]): string => `${label} ${stalls.length}${stalls.length === 0 ? '' : ` (${stalls.map(x => `after ${x.afterSamples}: main thread ${x.mainThread}${x.native === undefined ? '' : `; ${x.native}`}`).join(' | ')})`}`
  out.push(`   frozen processes (no heartbeat for ${STALL_MS / 1000} s: killed, the series went on in a fresh process): ` +
    [stallText('direct', direct.stalls), relayed === undefined ? '' : stallText('relay-only', relayed.stalls), stallText('bare', bare.stalls),
      bareRelay === undefined ? '' : stallText('bare relay-only', bareRelay.stalls)].filter(x => x !== '').join(', '))
  out.push(`   answer → first audio (alice) / bare start → offerer audio: ${callRatios.directAudioP50}× at p50, ${callRatios.directAudioP99}× at p99 (direct)` +
    (callRatios.relayAudioP50 === null ? '' : `; ${callRatios.relayAudioP50}× at p50, ${callRatios.relayAudioP99}× at p99 (relay-only against bare relay-only)`))
  out.push('')

  out.push(`2. Mouth-to-ear latency added by the pipeline (bench/audio-pipeline-bench.ts: ${pipeline.setup.seconds} s of ${pipeline.setup.input} × ${pipeline.setup.phases} receiver phases per row; ` +
    `network = uniform 0..J ms on a fixed path taken as 0)`)
  out.push(`   = 20 ms framing + ${pipeline.codec.lookaheadMs} ms encoder look-ahead + encode + network jitter + jitter-buffer wait + decode`)
  out.push(...table(['J ms', 'p50 ms', 'p99 ms', 'max ms', 'buffer wait p50/p99', 'concealed %', '× J=0 p50'], [6, 9, 9, 9, 21, 13, 11],
    pipeline.rows.map((r, i) => [r.jitterMs, r.total.p50, r.total.p99, r.total.max, `${round(r.buffer.p50)}/${round(r.buffer.p99)}`, r.concealedPercent, pipeline.ratios[i]?.totalP50VsBaseline ?? ''])))
  out.push('')

  if (relay === undefined) {
    out.push('3. TURN relay capacity: skipped (--skip-relay)')
  } else {
    out.push(`3. TURN relay capacity: one TURN server (startTurnServer, supernode defaults, allocation quota raised to ${maxStreams + 100}) in its own process (pid ${relay.server.pid}) at ${relay.server.address}; ` +
      `each stream = a UDP client in this process sending 50 × ${relay.payloadBytes}-byte packets/s by ${relay.mode}; ${relay.stepSeconds} s per step after 1 s at the new load. ` +
      'Baseline in the same run: a bare Node UDP forwarder process (one socket in, one out, no TURN logic), measured right after the TURN server at each stream count, from the same client sockets')
    out.push('   relay CPU % = the relay process\'s CPU time over the step, % of one core; loop % = its event-loop utilization; µs/pkt = its CPU per packet relayed; ' +
      'drops = kernel receive-buffer drops (/proc/net/udp) at the relay\'s listening socket / the TURN relay sockets / the bench\'s peer sockets')
    const relayRows = relay.steps.flatMap((t, i) => [t, relay.baseline[i]].filter((x): x is RelayStep => x !== undefined)).map(s => [s.relay === 'turn' ? 'TURN' : 'forwarder', s.streams, `${s.sentPps}/${s.targetPps}`, s.lossPercent, `${s.transitP50Ms}/${s.transitP99Ms}`,
      s.serverCpuPercent, s.serverLoopPercent, s.serverUsPerPacket, s.benchCpuPercent, s.drops === null ? 'n/a' : `${s.drops.serverSocket}/${s.drops.relaySockets}/${s.drops.peerSockets}`, s.verdict])
    out.push(...table(['relay', 'streams', 'pkt/s sent', 'loss %', 'transit p50/p99 ms', 'relay CPU %', 'loop %', 'µs/pkt', 'bench CPU %', 'drops srv/relay/peer', 'verdict'],
      [11, 8, 13, 8, 20, 13, 8, 8, 13, 22, 15], relayRows))
    const compared = relay.steps.flatMap(t => {
      const b = relay.baseline.find(x => x.streams === t.streams)
      return b === undefined || !Number.isFinite(b.serverUsPerPacket) ? [] : [`${t.streams}: ${round(t.serverUsPerPacket / b.serverUsPerPacket, 1)}×`]
    })
    if (compared.length > 0) out.push(`   TURN server CPU per packet / forwarder CPU per packet, by stream count: ${compared.join(', ')}`)
    const lossy = relay.steps.filter(s => s.verdict !== 'ok' && s.drops !== null)
    const atSocket = lossy.reduce((sum, s) => sum + (s.drops?.serverSocket ?? 0), 0)
    const lost = lossy.reduce((sum, s) => sum + s.targetPps * relay.stepSeconds * s.lossPercent / 100, 0)
    if (lossy.length > 0 && atSocket > 0.5 * lost) {
      out.push(`   where the loss happened: in the lossy steps the kernel dropped ${atSocket} packets at the relay's listening socket, ` +
        `${atSocket >= 0.9 * lost ? 'as many as were lost' : 'most of the loss'} (~${Math.round(lost)}) ` +
        `(receive buffer: rmem_default ${relay.rmemDefault ?? '?'} bytes, a few hundred small datagrams), which overflows whenever the relay process falls a few milliseconds behind at these rates (busy, or waiting for a core)`)
    }
    const okSteps = relay.steps.filter(s => s.verdict === 'ok' && Number.isFinite(s.serverUsPerPacket))
    const busiest = okSteps.at(-1)
    out.push(`   capacity: ${relay.capacity} concurrent 50 packet/s streams (${relay.capacityNote})` +
      (busiest === undefined ? '' : `; at ${busiest.streams} streams the server spent ${busiest.serverUsPerPacket} µs of CPU per relayed packet, ` +
        `a CPU-bound ceiling of ~${Math.round(1e6 / busiest.serverUsPerPacket / STREAM_PPS)} streams per core`))
    out.push(`   a relayed call leg carries two such streams (one each way); the bench client shares the ${cores} cores with the server, so the server never has a core to itself` +
      (relay.allocationsFailed > 0 ? `; ${relay.allocationsFailed} allocations failed` : ''))
    const dropNotes = relay.steps.filter(s => Object.keys(s.serverDropped).length > 0).map(s => `${s.streams}: ${JSON.stringify(s.serverDropped)}`)
    if (dropNotes.length > 0) out.push(`   packets the server itself refused: ${dropNotes.join('; ')}`)
    const skips = relay.steps.filter(s => s.senderSkipped > 0).map(s => `${s.streams}: ${s.senderSkipped}`)
    if (skips.length > 0) out.push(`   packets the bench's sender skipped (its timer ran > 100 ms late): ${skips.join('; ')}`)
  }
  out.push('')

  out.push(`4. Opus streams per core (${opus.input}; frames per CPU-second of this process, a stream = 50 frames/s; p50/p99 = wall time per frame)`)
  out.push(...table(['codec', 'frames/cpu-s', 'streams/core', 'p50 µs', 'p99 µs'], [56, 14, 14, 9, 9], [
    [`encoder: createOpusEncoder (@evan/opus ${opus.encoderBackend}, FEC on)`, opus.encoder.framesPerCpuSecond, opus.encoder.streamsPerCore, opus.encoder.p50us, opus.encoder.p99us],
    ['decoder: createOpusDecoder (opus-decoder, wasm)', opus.decoder.framesPerCpuSecond, opus.decoder.streamsPerCore, opus.decoder.p50us, opus.decoder.p99us]
  ]))
  out.push(`   one call end encodes one stream and decodes one: ~${opus.callEndsPerCore} call ends per core (codec only)`)
  out.push('')
  out.push(`total ${figures.machine.totalSeconds} s; load average ${figures.machine.loadavgAtEnd.join(' ')} at the end`)
  console.log(out.join('\n'))
}

if (flags['turn-child'] || flags['forwarder-child']) {
  await relayChild(flags['turn-child'] ? 'turn' : 'forwarder')
} else if (flags['series-child'] !== undefined) {
  try {
    await seriesChild(flags['series-child'] as SeriesKind, Number(flags.count), String(flags['data-dir']))
  } catch (err) {
    process.stderr.write(`call-bench (${flags['series-child']}): ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  }
} else {
  process.once('SIGINT', () => { void cleanup().finally(() => process.exit(130)) })
  process.once('SIGTERM', () => { void cleanup().finally(() => process.exit(143)) })
  try {
    await main()
  } catch (err) {
    process.stderr.write(`call-bench: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  } finally {
    await cleanup()
  }
}
