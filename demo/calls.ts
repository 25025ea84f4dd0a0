// One demo call, alice → bob, and its checks: the path it took, the tone in bob's
// recording, and (relay-only) the packets the supernodes' relays carried.
import type { CallLine } from '../node/index.js'
import type { CallStats, NodeEvent, NodeStatus } from '../node/index.js'
import { dominantFrequency, levelDbfs } from '../node/index.js'
import { readWavFile } from '../node/index.js'
import { SUPERNODES, waitFor, type DemoDirs, type DemoNetwork } from './network.js'
import { detail, shown, step, verdict } from './print.js'

export const TONE_HZ = 440
export const CALL_SECONDS = 4
/** Far past a call's setup and its CALL_SECONDS: only a hung CLI meets it. */
const CALL_COMMAND_TIMEOUT_MS = 120_000

type Relay = NodeStatus['relay']
type CallEnded = Extract<NodeEvent, { event: 'call-ended' }>
const relayPackets = (r: Relay): number => (r?.toPeer.packets ?? 0) + (r?.fromPeer.packets ?? 0)

const relays = async (net: DemoNetwork): Promise<Relay[]> => await Promise.all(SUPERNODES.map(async s => (await net.cliJson<NodeStatus>(s, 'status')).relay))
const bobEvents = (net: DemoNetwork): NodeEvent[] => net.bob.stdoutLines.flatMap(l => { try { return [JSON.parse(l) as NodeEvent] } catch { return [] } })

/** Places the call and checks it; true when it took its path and bob heard the tone (and, relay-only, the relays carried it). */
export async function placeCall (net: DemoNetwork, dirs: DemoDirs, relayOnly: boolean): Promise<boolean> {
  const kind = relayOnly ? 'relay-only' : 'direct'
  const expected = relayOnly ? 'relay' : 'direct'
  const before = await relays(net)
  step(`call: alice → bob, ${kind}: voxmesh call bob --tone ${TONE_HZ} --duration ${CALL_SECONDS} --json${relayOnly ? ' --relay-only' : ''}`)
  const result = await net.cli('alice', ['call', 'bob', '--tone', String(TONE_HZ), '--duration', String(CALL_SECONDS), '--json',
    ...(relayOnly ? ['--relay-only'] : [])], CALL_COMMAND_TIMEOUT_MS)
  const lines = result.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l) as CallLine)
  const connected = lines.find(l => l.event === 'connected')
  const ended = lines.find(l => l.event === 'ended')
  if (connected === undefined) {
    detail(`did not connect: ${ended?.message ?? result.stderr.trim()}  FAIL`)
    return false
  }
  const pathOk = connected.path === expected
  detail(`connected in ${connected.setupMs} ms, path ${connected.path}` +
    `${connected.relay === null ? '' : ` through ${connected.relay}`} (expected ${expected}: ${verdict(pathOk)})`)
  detail(`ended: ${ended?.message ?? result.stderr.trim()} after ${((ended?.durationMs ?? 0) / 1000).toFixed(1)} s (exit code ${result.code})`)

  const theirs = await waitFor(dirs, 'bob\'s end of the call', async () =>
    bobEvents(net).find((e): e is CallEnded => e.event === 'call-ended' && e.callId === connected.callId), 10_000)
  printStats(lines.filter(l => l.event === 'stats'), bobEvents(net).filter(e => e.event === 'call-stats' && e.callId === connected.callId) as CallStats[])
  const audioOk = checkRecording(theirs)
  const relayOk = checkRelays(before, await relays(net), relayOnly)
  const ok = pathOk && audioOk && relayOk && result.code === 0
  step(`${kind} call: ${verdict(ok)}`)
  return ok
}

/** Each side's last one-second report; bob receives the tone, alice receives bob's silence. */
function printStats (alice: CallStats[], bob: CallStats[]): void {
  for (const [who, list] of [['alice (hears silence)', alice], ['bob (hears the tone)', bob]] as const) {
    const s = list.at(-1)
    if (s !== undefined) {
      detail(`stats at ${who.padEnd(21)} rtt ${s.rttMs === null ? '-' : `${s.rttMs.toFixed(1)} ms`}  jitter ${s.jitterMs.toFixed(1)} ms  ` +
        `loss ${s.lossPct.toFixed(1)}%  ${s.bitrateKbps.toFixed(1)} kbit/s  MOS ${s.mos.toFixed(2)}`)
    }
  }
}

/** Bob's recording holds the tone, loud enough, for about as long as the call lasted. */
function checkRecording (theirs: CallEnded): boolean {
  if (theirs.recording === undefined) {
    detail('bob made no recording  FAIL')
    return false
  }
  const wav = readWavFile(theirs.recording)
  const rate = wav.sampleRate
  const seconds = wav.samples.length / rate
  const callSeconds = theirs.durationMs / 1000
  // Skip the first half second (jitter buffer start-up) and the last quarter second.
  const steady = wav.samples.subarray(rate / 2, Math.max(rate / 2, wav.samples.length - rate / 4))
  const hz = dominantFrequency(steady, rate)
  const dbfs = levelDbfs(steady)
  const audioOk = Math.abs(hz - TONE_HZ) < 3 && dbfs > -20 && seconds > callSeconds - 0.6 && seconds < callSeconds + 1.5
  detail(`recording: ${shown(theirs.recording)}`)
  detail(`audio check: ${hz.toFixed(1)} Hz (want ${TONE_HZ} ± 3), level ${dbfs.toFixed(1)} dBFS (want > -20), ` +
    `${seconds.toFixed(2)} s of audio for a ${callSeconds.toFixed(2)} s call: ${verdict(audioOk)}`)
  return audioOk
}

/** The packets the relays carried during the call: a relay-only call needs hundreds. */
function checkRelays (before: Relay[], after: Relay[], relayOnly: boolean): boolean {
  let carried = 0
  SUPERNODES.forEach((s, i) => {
    const [b, a] = [before[i] ?? null, after[i] ?? null]
    carried += relayPackets(a) - relayPackets(b)
    detail(`${s} relay: toPeer ${b?.toPeer.packets ?? 0} → ${a?.toPeer.packets ?? 0} packets, ` +
      `fromPeer ${b?.fromPeer.packets ?? 0} → ${a?.fromPeer.packets ?? 0} packets`)
  })
  // ~50 packets a second each way: a relayed call shows hundreds, a direct one (almost) none.
  const relayOk = !relayOnly || carried > CALL_SECONDS * 50
  detail(`the relays carried ${carried} packets during this call${relayOnly ? ` (want > ${CALL_SECONDS * 50}: ${verdict(relayOk)})` : ''}`)
  return relayOk
}
