// One lab call and its checks: `voxmesh call CALLEE --duration N --json` run in the caller's
// namespace; the callee auto-answers. Each node sends its own tone (voxmesh-lab.ts) and records
// what it hears, so each recording must hold the other side's frequency.
import { rmSync } from 'node:fs'
import { dominantFrequency, levelDbfs, readWavFile } from '../../node/index.js'
import { inNetns, runCli } from '../helpers/processes.js'
import { host, PUBLIC_HOSTS } from './topology.js'
import { toneOf, type LabVoxmesh } from './voxmesh-lab.js'

export const CALL_SECONDS = 4
/** Far past a call's setup (ICE gives up well before) and its CALL_SECONDS: only a hung CLI meets it. */
const CALL_COMMAND_TIMEOUT_MS = 90_000
const END_WAIT_MS = 15_000
/** The tone must stand out: Opus at 48 kHz keeps a sine's frequency within a few Hz. */
const MAX_HZ_OFF = 3
const MIN_DBFS = -30

export interface CallCheck {
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
  /** Both ways, short: what the caller hears / what the callee hears, e.g. "700 Hz ok / 600 Hz ok". */
  audio: string
  /** Both ways, in words (frequency wanted, level). */
  audioDetail: string
  audioOk: boolean
  /** Packets the supernodes' relays carried (both directions) while the call ran; undefined when not counted. */
  relayedPackets?: number
  /** Both directions added up, from each side's call-ended summary; undefined when a side gave none. */
  frames?: { sent: number, received: number, lost: number, concealed: number }
  /** The candidate pair each side selected ("conea1: connected on relay … -> srflx …, ended on srflx … -> srflx …"). */
  pairs: string[]
  problem?: string
}

export interface CallCheckOptions {
  /**
   * Count the packets the relays carried during the call (default true). Off when other calls run
   * at the same time (the soak): the relays' counters then mix every call's packets.
   */
  countRelayed?: boolean
  /** Delete both recordings once checked (the soak makes hundreds). */
  removeRecordings?: boolean
}

/** A call-ended event's media summary (node/calls/call-types.ts). */
interface MediaSummary { path: string, selectedPair?: string, framesSent: number, framesReceived: number, framesLost: number, framesConcealed: number }

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

/** What `listener`'s recording holds, against the tone `speaker` sends. */
function hears (listener: string, speaker: string, recording: string | undefined): { ok: boolean, short: string, text: string } {
  const want = toneOf(host(speaker))
  if (recording === undefined) return { ok: false, short: 'none', text: `${listener} made no recording` }
  const wav = readWavFile(recording)
  const rate = wav.sampleRate
  // Skip the first half second (jitter buffer start-up) and the last quarter second.
  const steady = wav.samples.subarray(rate / 2, Math.max(rate / 2, wav.samples.length - rate / 4))
  if (steady.length < rate) return { ok: false, short: 'too short', text: `${listener} recorded ${(wav.samples.length / rate).toFixed(1)} s only` }
  const hz = dominantFrequency(steady, rate)
  const dbfs = levelDbfs(steady)
  const ok = Math.abs(hz - want) <= MAX_HZ_OFF && dbfs > MIN_DBFS
  return { ok, short: `${hz.toFixed(0)} Hz ${ok ? 'ok' : 'BAD'}`, text: `${listener} hears ${hz.toFixed(0)} Hz (want ${want}) at ${dbfs.toFixed(0)} dBFS: ${ok ? 'ok' : 'BAD'}` }
}

export async function checkCall (lab: LabVoxmesh, caller: string, callee: string, options: CallCheckOptions = {}): Promise<CallCheck> {
  const [from, to] = [lab.node(caller), lab.node(callee)]
  const countRelayed = options.countRelayed ?? true
  const relayedBefore = countRelayed ? await relayedSoFar(lab) : 0
  const result = await runCli(['call', callee, '--duration', String(CALL_SECONDS), '--json', '--data-dir', from.dataDir], {}, CALL_COMMAND_TIMEOUT_MS, inNetns(host(caller).ns))
    .catch((err: Error) => ({ code: null, stdout: '', stderr: err.message }))
  const lines = result.stdout.trim().split('\n').flatMap(line => { try { return [JSON.parse(line) as Record<string, unknown>] } catch { return [] } })
  const connected = lines.find(l => l.event === 'connected')
  if (connected === undefined) {
    const ended = lines.find(l => l.event === 'ended')
    return { audio: '-', audioDetail: 'no call', audioOk: false, pairs: [], problem: String(ended?.message ?? (result.stderr.trim() || `exit ${String(result.code)}`)) }
  }
  const callId = connected.callId
  const endOf = async (n: typeof from): Promise<Record<string, unknown> | undefined> =>
    await n.waitForEvent(e => e.event === 'call-ended' && e.callId === callId, END_WAIT_MS).catch(() => undefined)
  const [callerEnd, calleeEnd] = await Promise.all([endOf(from), endOf(to)])
  const answered = to.events().find(e => e.event === 'call-connected' && e.callId === callId)
  const recordings = [callerEnd?.recording, calleeEnd?.recording] as Array<string | undefined>
  const ways = [hears(caller, callee, recordings[0]), hears(callee, caller, recordings[1])]
  if (options.removeRecordings === true) for (const file of recordings) if (file !== undefined) rmSync(file, { force: true })
  const summaries = [callerEnd?.media, calleeEnd?.media] as Array<MediaSummary | undefined>
  const frames = summaries.every(a => a !== undefined)
    ? summaries.reduce((sum, a) => ({ sent: sum.sent + a.framesSent, received: sum.received + a.framesReceived, lost: sum.lost + a.framesLost, concealed: sum.concealed + a.framesConcealed }), { sent: 0, received: 0, lost: 0, concealed: 0 })
    : undefined
  return {
    path: summaries[0]?.path ?? String(connected.path),
    connectPath: String(connected.path),
    setupMs: typeof answered?.setupMs === 'number' ? answered.setupMs : undefined,
    audio: ways.map(w => w.short).join(' / '),
    audioDetail: ways.map(w => w.text).join('; '),
    audioOk: ways.every(w => w.ok),
    relayedPackets: countRelayed ? await relayedSoFar(lab) - relayedBefore : undefined,
    frames,
    pairs: [selectedPairs(lab, caller, callId, summaries[0]), selectedPairs(lab, callee, callId, summaries[1])],
    problem: result.code === 0 ? undefined : `the call command exited ${String(result.code)}: ${result.stderr.trim()}`
  }
}
