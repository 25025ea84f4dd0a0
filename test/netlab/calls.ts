// One lab call and its checks: `voxmesh call CALLEE --duration N --json` run in the caller's
// namespace; the callee auto-answers. Each node sends its own tone (voxmesh-lab.ts) and records
// what it hears, so each recording must hold the other side's frequency.
import { rmSync } from 'node:fs'
import { dominantFrequency, levelDbfs, readWavFile, type CallSetup } from '../../node/index.js'
import { inNetns, startCli } from '../helpers/processes.js'
import { host, PUBLIC_HOSTS } from './topology.js'
import { toneOf, type LabVoxmesh } from './voxmesh-lab.js'

export const CALL_SECONDS = 4
/** Far past a call's setup (ICE gives up well before) and its CALL_SECONDS: only a hung CLI meets it. */
const CALL_COMMAND_TIMEOUT_MS = 90_000
const END_WAIT_MS = 15_000
/** The tone must stand out: Opus at 48 kHz keeps a sine's frequency within a few Hz. */
const MAX_HZ_OFF = 3
const MIN_DBFS = -30
/** A second holds the tone when no more than this share of its 20 ms frames is silent (below MIN_DBFS): 100 ms. */
const MAX_SILENT_SHARE = 0.1
const FRAME_SECONDS = 0.02

export interface CallCheck {
  /** As both nodes' events name the call; undefined when it never connected. */
  callId?: string
  /**
   * The path the call's media took: the caller's at the call's end (ICE can connect on one pair and
   * nominate a better one within ~2 s), else the one its node reported on call-connected; undefined
   * when it never connected.
   */
  path?: string
  /** The path the caller's node reported on call-connected. */
  connectPath?: string
  /** Answer → connected on the callee's node, ms. */
  setupMs?: number
  /** How each side's media set up (its call-ended summary), each in ms after the answer as that side knew it. */
  setup: { caller?: CallSetup, callee?: CallSetup }
  /** Both ways, short: what the caller hears / what the callee hears, e.g. "700 Hz ok / 600 Hz ok". */
  audio: string
  /** Both ways, in words (frequency wanted, level, seconds that held the tone). */
  audioDetail: string
  /** The whole recording (or its last `lastSeconds`) holds the other side's tone, both ways. */
  audioOk: boolean
  /** Packets the supernodes' relays carried (both directions) while the call ran; undefined when not counted. */
  relayedPackets?: number
  /** Both directions added up, from each side's call-ended summary; undefined when a side gave none. */
  frames?: { sent: number, received: number, lost: number, concealed: number }
  /** The candidate pair each side selected ("conea1: connected on relay … -> srflx …, ended on srflx … -> srflx …"). */
  pairs: string[]
  /** Every path either side reported while the call ran (connected, each call-stats, the end), in the order first seen. */
  pathsSeen: string[]
  /** Each side's paths in order, with when each change came: "conea1 direct, coneb1 relay → direct at 2 s". */
  pathHistory: string
  /** The per-second check of what each side heard: "conea1 14/14 s ok, coneb1 13/14 s ok (no tone from 7.5 s)". */
  seconds: string
  /** Every second checked held the other side's tone, both ways. */
  everySecondOk: boolean
  problem?: string
  /**
   * The nodes that stopped answering their control API after the call command hung: a process
   * deadlocked in libdatachannel 0.24.5 while a connection set up (#1630; README, "Calling a contact").
   */
  frozen?: string[]
}

export interface CallCheckOptions {
  /**
   * Count the packets the relays carried during the call (default true). Off when other calls run
   * at the same time (the soak): the relays' counters then mix every call's packets.
   */
  countRelayed?: boolean
  /** Delete both recordings once checked (the soak makes hundreds). */
  removeRecordings?: boolean
  /** How long the call lasts, s (default CALL_SECONDS). */
  seconds?: number
  /** Check only the recordings' last N seconds (e.g. after something broke and recovered mid-call); default the whole call. */
  lastSeconds?: number
  /**
   * Runs while the call does, from the moment the caller's CLI reports it connected (e.g. kills a
   * supernode); the call's checks wait for it. `callId` as both nodes' events name the call.
   */
  after?: (callId: string) => Promise<void>
}

/** A call-ended event's media summary (node/calls/call-types.ts). */
interface MediaSummary { path: string, selectedPair?: string, framesSent: number, framesReceived: number, framesLost: number, framesConcealed: number, setup?: CallSetup }

/** The pair `who` logged for call `callId` when its media connected, and the one it ended on when that differs. */
function selectedPairs (lab: LabVoxmesh, who: string, callId: unknown, end: MediaSummary | undefined): string {
  let atConnect = 'no pair logged'
  for (const line of lab.node(who).proc.stderrLines) {
    if (!line.includes('call media connected')) continue
    try {
      const entry = JSON.parse(line) as { callId?: unknown, pair?: string }
      if (entry.callId === callId) atConnect = entry.pair ?? 'no pair'
    } catch {}
  }
  const atEnd = end?.selectedPair
  return `${who}: connected on ${atConnect}${atEnd === undefined || atEnd === atConnect ? '' : `, ended on ${atEnd}`}`
}

/** The packets every supernode's relay carried so far (its `status --json` counters). */
async function relayedSoFar (lab: LabVoxmesh): Promise<number> {
  const counts = await Promise.all(PUBLIC_HOSTS.map(async h => {
    const status = await lab.node(h.name).cli('status', '--json')
    const relay = (JSON.parse(status.stdout) as { relay: { toPeer: { packets: number }, fromPeer: { packets: number } } | null }).relay
    return (relay?.toPeer.packets ?? 0) + (relay?.fromPeer.packets ?? 0)
  }))
  return counts.reduce((a, b) => a + b, 0)
}

interface Heard {
  ok: boolean
  short: string
  text: string
  /** Seconds checked one by one, and those that did not hold the tone (each by its start, s into the recording). */
  secondsChecked: number
  badSeconds: number[]
}

const holdsTone = (samples: Float32Array, rate: number, want: number): { ok: boolean, hz: number, dbfs: number } => {
  const hz = dominantFrequency(samples, rate)
  const dbfs = levelDbfs(samples)
  return { ok: Math.abs(hz - want) <= MAX_HZ_OFF && dbfs > MIN_DBFS, hz, dbfs }
}

/**
 * One second of a recording holds the tone: its dominant frequency, and sound in (nearly) every
 * 20 ms frame. The level over the whole second alone would pass a second that is mostly silence.
 */
function secondHoldsTone (second: Float32Array, rate: number, want: number): boolean {
  const frame = Math.round(rate * FRAME_SECONDS)
  let frames = 0
  let silent = 0
  for (let at = 0; at + frame <= second.length; at += frame, frames++) {
    if (levelDbfs(second.subarray(at, at + frame)) <= MIN_DBFS) silent++
  }
  return holdsTone(second, rate, want).ok && silent <= frames * MAX_SILENT_SHARE
}

/** What `listener`'s recording holds, against the tone `speaker` sends: as a whole, and second by second (exported for its unit test). */
export function hears (listener: string, speaker: string, recording: string | undefined, lastSeconds?: number): Heard {
  const want = toneOf(host(speaker))
  const none = { secondsChecked: 0, badSeconds: [] }
  if (recording === undefined) return { ok: false, short: 'none', text: `${listener} made no recording`, ...none }
  const wav = readWavFile(recording)
  const rate = wav.sampleRate
  // Skip the first half second (jitter buffer start-up) and the last quarter second.
  const end = Math.max(rate / 2, wav.samples.length - rate / 4)
  const start = lastSeconds === undefined ? rate / 2 : Math.max(rate / 2, end - lastSeconds * rate)
  const steady = wav.samples.subarray(start, end)
  if (steady.length < rate) return { ok: false, short: 'too short', text: `${listener} recorded ${(wav.samples.length / rate).toFixed(1)} s only`, ...none }
  const whole = holdsTone(steady, rate, want)
  // Each whole second on its own: a gap of a second or more (a path that broke) shows even when the whole passes.
  const badSeconds: number[] = []
  let secondsChecked = 0
  for (let from = start; from + rate <= end; from += rate, secondsChecked++) {
    if (!secondHoldsTone(wav.samples.subarray(from, from + rate), rate, want)) badSeconds.push(from / rate)
  }
  const gaps = badSeconds.length === 0 ? '' : `, no tone in the second(s) from ${badSeconds.map(t => `${t.toFixed(1)} s`).join(', ')}`
  return {
    ok: whole.ok,
    short: `${whole.hz.toFixed(0)} Hz ${whole.ok ? 'ok' : 'BAD'}`,
    text: `${listener} hears ${whole.hz.toFixed(0)} Hz (want ${want}) at ${whole.dbfs.toFixed(0)} dBFS: ${whole.ok ? 'ok' : 'BAD'}, ${secondsChecked - badSeconds.length}/${secondsChecked} s held it${gaps}`,
    secondsChecked,
    badSeconds
  }
}

/** The path a node's call event reports: call-connected's and call-stats' own, call-ended's media summary's. */
export function reportedPath (e: Record<string, unknown>): string | undefined {
  const path = e.event === 'call-ended' ? (e.media as MediaSummary | undefined)?.path : e.path
  return typeof path === 'string' ? path : undefined
}

/**
 * Every path `names` reported for call `callId`, in the order first seen, and each side's history:
 * "coneb1 relay → direct at 2 s" (seconds from that side's call-connected).
 */
function pathsOf (lab: LabVoxmesh, names: string[], callId: unknown): { seen: string[], history: string } {
  const seen: string[] = []
  const sides = names.map(name => {
    let connectedAt: number | undefined
    let last: string | undefined
    const steps: string[] = []
    for (const { event: e, at } of lab.node(name).proc.events) {
      if (e.callId !== callId) continue
      if (e.event === 'call-connected') connectedAt = at
      const path = reportedPath(e)
      if (path === undefined || path === last) continue
      if (!seen.includes(path)) seen.push(path)
      steps.push(last === undefined ? path : `${path} at ${((at - (connectedAt ?? at)) / 1000).toFixed(0)} s`)
      last = path
    }
    return `${name} ${steps.length === 0 ? 'none' : steps.join(' → ')}`
  })
  return { seen, history: sides.join(', ') }
}

/** The caller's `voxmesh call --json`: its events, after running `after` (if any) once it connected. */
async function runCall (caller: string, callee: string, dataDir: string, seconds: number, after?: (callId: string) => Promise<void>): Promise<{ lines: Array<Record<string, unknown>>, code: number | null, stderr: string, hookError?: string }> {
  const proc = startCli(['call', callee, '--duration', String(seconds), '--json', '--data-dir', dataDir], {}, inNetns(host(caller).ns))
  const timer = setTimeout(() => { proc.child.kill('SIGKILL') }, CALL_COMMAND_TIMEOUT_MS + seconds * 1000)
  let hookError: string | undefined
  if (after !== undefined) {
    const connected = await proc.waitForEvent(e => e.event === 'connected', CALL_COMMAND_TIMEOUT_MS).catch(() => undefined)
    if (connected !== undefined) await after(String(connected.event.callId)).catch((err: Error) => { hookError = err.message })
  }
  const code = await proc.exited
  clearTimeout(timer)
  return { lines: proc.events.map(s => s.event), code, stderr: proc.stderrLines.join('\n'), hookError }
}

/** Of `names`, the nodes whose control API no longer answers (status within 20 s). */
async function frozenOf (lab: LabVoxmesh, names: string[]): Promise<string[]> {
  const answers = await Promise.all(names.map(async name => await lab.node(name).cli('status', '--json').then(r => r.code === 0, () => false)))
  return names.filter((_, i) => answers[i] !== true)
}

export async function checkCall (lab: LabVoxmesh, caller: string, callee: string, options: CallCheckOptions = {}): Promise<CallCheck> {
  const [from, to] = [lab.node(caller), lab.node(callee)]
  const countRelayed = options.countRelayed ?? true
  const relayedBefore = countRelayed ? await relayedSoFar(lab) : 0
  const result = await runCall(caller, callee, from.dataDir, options.seconds ?? CALL_SECONDS, options.after)
  const lines = result.lines
  const connected = lines.find(l => l.event === 'connected')
  if (connected === undefined) {
    const ended = lines.find(l => l.event === 'ended')
    // A node deadlocked in libdatachannel (#1630) hangs the call command when it is the caller's,
    // and fails the call ("no media path") when it is the callee's: either way, ask both.
    const frozen = await frozenOf(lab, [caller, callee])
    return {
      audio: '-', audioDetail: 'no call', audioOk: false, setup: {}, pairs: [], pathsSeen: [], pathHistory: '-', seconds: '-', everySecondOk: false,
      problem: String(ended?.message ?? (result.stderr.trim() || `exit ${String(result.code)}`)) + (frozen.length === 0 ? '' : `; ${frozen.join(' and ')} stopped answering (libdatachannel #1630 deadlock)`),
      ...(frozen.length === 0 ? {} : { frozen })
    }
  }
  const callId = connected.callId
  const endOf = async (n: typeof from): Promise<Record<string, unknown> | undefined> =>
    await n.waitForEvent(e => e.event === 'call-ended' && e.callId === callId, END_WAIT_MS).catch(() => undefined)
  const [callerEnd, calleeEnd] = await Promise.all([endOf(from), endOf(to)])
  const answered = to.events().find(e => e.event === 'call-connected' && e.callId === callId)
  const recordings = [callerEnd?.recording, calleeEnd?.recording] as Array<string | undefined>
  const ways = [hears(caller, callee, recordings[0], options.lastSeconds), hears(callee, caller, recordings[1], options.lastSeconds)]
  if (options.removeRecordings === true) for (const file of recordings) if (file !== undefined) rmSync(file, { force: true })
  const summaries = [callerEnd?.media, calleeEnd?.media] as Array<MediaSummary | undefined>
  const paths = pathsOf(lab, [caller, callee], callId)
  const frames = summaries.every(a => a !== undefined)
    ? summaries.reduce((sum, a) => ({ sent: sum.sent + a.framesSent, received: sum.received + a.framesReceived, lost: sum.lost + a.framesLost, concealed: sum.concealed + a.framesConcealed }), { sent: 0, received: 0, lost: 0, concealed: 0 })
    : undefined
  return {
    callId: String(callId),
    path: summaries[0]?.path ?? String(connected.path),
    connectPath: String(connected.path),
    setupMs: typeof answered?.setupMs === 'number' ? answered.setupMs : undefined,
    setup: { caller: summaries[0]?.setup, callee: summaries[1]?.setup },
    audio: ways.map(w => w.short).join(' / '),
    audioDetail: ways.map(w => w.text).join('; '),
    audioOk: ways.every(w => w.ok),
    relayedPackets: countRelayed ? await relayedSoFar(lab) - relayedBefore : undefined,
    frames,
    pairs: [selectedPairs(lab, caller, callId, summaries[0]), selectedPairs(lab, callee, callId, summaries[1])],
    pathsSeen: paths.seen,
    pathHistory: paths.history,
    seconds: ways.map((w, i) => `${i === 0 ? caller : callee} ${w.secondsChecked - w.badSeconds.length}/${w.secondsChecked} s ok${w.badSeconds.length === 0 ? '' : ` (no tone from ${w.badSeconds.map(t => `${t.toFixed(1)} s`).join(', ')})`}`).join(', '),
    everySecondOk: ways.every(w => w.secondsChecked > 0 && w.badSeconds.length === 0),
    problem: result.hookError !== undefined
      ? `during the call: ${result.hookError}`
      : result.code === 0 ? undefined : `the call command exited ${String(result.code)}: ${result.stderr.trim()}`
  }
}
