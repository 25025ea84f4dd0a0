// Part 1's baseline: bare node-datachannel connections between two createMediaSession objects in
// one process, offer and answer handed over directly (no overlay, no call signaling), timed from
// start() to the first audio packet received; relay-only through two TURN servers on 127.0.0.2.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createOpusEncoder } from '../../node/index.js'
import { FRAME_SAMPLES, floatToInt16 } from '../../node/index.js'
import { createMediaSession, type MediaIceServer, type MediaSession } from '../../node/index.js'
import { DEFAULT_MAX_ALLOCATIONS, issueTurnCredentials, startTurnServer, type RunningTurnServer } from '../../node/index.js'
import { silentLogger } from '../../common/logger.js'
import { sleep } from '../lib/measure.js'
import type { Stall } from './series.js'
import { CALL_TIMEOUT_MS, onCleanup, POLL_MS, series, TURN_REALM, WARMUP, type Series } from './util.js'

export interface BareResult {
  relayOnly: boolean
  connections: number
  failures: number
  stalls: Stall[]
  startToOffererAudio: Series
  startToAnswererAudio: Series
  startToConnected: Series
}

/** One Opus packet of a 440 Hz tone, what the bare connections send. */
function opusPacket (): Uint8Array {
  const encoder = createOpusEncoder({ fec: true })
  const frame = floatToInt16(Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => 0.3 * Math.sin(2 * Math.PI * 440 * i / 48_000)))
  const packet = encoder.encode(frame)
  encoder.close()
  return packet
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

export type BareSample = { ok: true, offerer: number, answerer: number, connected: number } | { ok: false }

/** Runs `count` bare connections (after WARMUP), reporting each. Relay-only: one TURN server per end, in this process. */
export async function bareSeries (count: number, relayOnly: boolean, report: (sample: BareSample) => void): Promise<void> {
  const packet = opusPacket()
  const turns: RunningTurnServer[] = []
  const closeTurns = onCleanup(async () => { await Promise.all(turns.map(turn => turn.close())) })
  const secret = randomBytes(32)
  // Every connection gets its own credential user: a closed session keeps its allocation (libjuice
  // does not delete it; calls have their supernode do it, which bare sessions have no one for).
  // loopback peers: the lab flag; and every client is on 127.0.0.1 with allocations that outlive
  // their sessions, so the per-address quota is the total's.
  if (relayOnly) {
    for (let i = 0; i < 2; i++) {
      turns.push(await startTurnServer({
        listen: '127.0.0.2:0', relayHost: '127.0.0.2', realm: TURN_REALM, secret, allowPrivatePeers: true, quotas: { maxAllocationsPerAddress: DEFAULT_MAX_ALLOCATIONS }
      }))
    }
  }
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

export function summarizeBare (samples: BareSample[], relayOnly: boolean, stalls: Stall[]): BareResult {
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
