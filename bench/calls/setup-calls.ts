// Part 1 of the call bench: calls through two supernodes. A login server, super1 and super2
// (127.0.0.2, with their TURN relays) and pairs of users, real nodes (startNode, as in
// test/calls/audio-call.test.ts), caller and callee always on different supernodes; the callee
// answers each call from its call-incoming listener. placeOneCall times one call from both ends' events.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pino } from 'pino'
import { LoginClient } from '../../common/login-client.js'
import { startLoginServer, type RunningLoginServer } from '../../login-server/server.js'
import type { Logger } from '../../common/logger.js'
import type { NodeEvent } from '../../node/index.js'
import { createNode, type RunningNode } from '../../node/index.js'
import { round, sleep } from '../lib/measure.js'
import { freePort } from '../lib/ports.js'
import { waitUntil } from '../lib/wait.js'
import type { Stall } from './series.js'
import { CALL_TIMEOUT_MS, onCleanup, POLL_MS, series, type Series } from './util.js'

const PASSWORD = 'correct horse battery staple'

export interface CallSample {
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

export interface CallSeriesResult {
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

export interface CallNet {
  /**
   * The pair to call with: one pair for the whole series, as a user who calls again and again
   * (each call's TURN allocations are released when it ends, see turn-release).
   */
  pair: () => Promise<CallPair>
  pairsUsed: () => number
  placements: () => Record<string, number>
  /** TURN allocations live on each supernode's relay now (their own counters). */
  relayAllocations: () => Record<string, number>
  close: () => Promise<void>
}

/**
 * The network of part 1 in `dir` (the parent process made it and removes it). The callee answers
 * each call `ringMs` after his device rings.
 */
export async function startCallNet (dir: string, ringMs: number): Promise<CallNet> {
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

  const start = async (user: string, extra: Partial<Parameters<typeof createNode>[0]> = {}): Promise<{ node: RunningNode, close: () => Promise<void> }> => {
    const node = await createNode({ user, password: PASSWORD, loginServer: login.url, dataDir: join(dir, user), role: 'host', log, mediaBindAddress: '127.0.0.1', ...extra })
    return { node, close: onCleanup(() => node.close()) }
  }
  const attachedTo = async (node: RunningNode): Promise<string> => await waitUntil(`${node.status().user} to attach to a supernode`, () => {
    const sn = node.status().supernode
    return sn === null ? undefined : sn.user ?? sn.address
  }, 20_000, 20)
  // The supernodes (and their TURN relays) on 127.0.0.2, the users' media on 127.0.0.1: TURN
  // permissions are per IP, so a relay-only session cannot reach the peer's relay from its host socket.
  for (const user of ['super1', 'super2']) await client.createAccount(user, PASSWORD)
  const supernodes: RunningNode[] = []
  const closeSupernodes: Array<() => Promise<void>> = []
  for (const user of ['super1', 'super2']) {
    // A free TCP port for the overlay listener; the supernode's TURN relay takes the same port on UDP.
    // loopback peers: the lab flag (the relay refuses loopback and private peers by default).
    const { node, close } = await start(user, { role: 'supernode', listen: `127.0.0.2:${await freePort('127.0.0.2')}`, relayAllowPrivate: true })
    await attachedTo(node)
    supernodes.push(node)
    closeSupernodes.push(close)
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
      // Answered ringMs after the ring (at once, from the listener, with 0): the answer time is that moment.
      const answer = (): void => {
        const entry = bobMarks.get(event.callId) as CallMarks
        entry.at.answer = performance.now()
        answerer.answerCall(event.callId, { tone: 440 }).catch((err: Error) => { process.stderr.write(`call-bench: answer failed: ${err.message}\n`) })
      }
      if (ringMs === 0) answer()
      else setTimeout(answer, ringMs)
    })

    // Contacts: the caller asks, the callee accepts, the caller sees the callee online.
    const events: NodeEvent[] = []
    const unsubscribe = [alice.subscribe(e => { events.push(e) }), bob.subscribe(e => { events.push(e) })]
    await alice.addContact(callee)
    await waitUntil(`${callee}'s contact request from ${caller}`, () => events.some(e => e.event === 'contact-request' && e.from === caller), 20_000)
    await bob.acceptContact(caller)
    await waitUntil(`${caller} to see ${callee} online`, () => events.some(e => e.event === 'presence' && e.user === callee && e.status === 'online'), 20_000)
    for (const off of unsubscribe) off()
    return {
      alice, bob, aliceMarks, bobMarks, placement, calls: 0,
      close: async () => { for (const close of closers.reverse()) await close() }
    }
  }

  let current: CallPair | undefined
  return {
    async pair () {
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

export async function placeOneCall (net: CallNet, relayOnly: boolean): Promise<CallSample> {
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

export function summarizeCalls (samples: CallSample[], relayOnly: boolean, stalls: Stall[]): CallSeriesResult {
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
