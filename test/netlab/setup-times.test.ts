// How fast calls set up behind NATs: for each pair of NAT kinds, SETUP_CALLS short calls (the caller
// and callee swap on every other call), each checked as a scenario call is (path, the other side's
// tone both ways), and one row per pair with answer → first audio (p50, p90, worst) against the
// goal for its path. A call's figure is the later of its two sides' first audio packet, each side
// counting from the answer as it learned of it (the callee: the moment it answered; the caller: the
// moment the answer reached it). The row also gives the median ICE and DTLS times on the callee and
// why each callee's hold of the caller's candidates ended (node/media/session/candidate-gate.ts),
// so a slow row says where the time went. The goals are reported, not asserted: this machine is
// shared, and a wall time is no test verdict. A row fails when a call fails or takes another path.
import { describe, expect, it } from 'vitest'
import type { CallSetup } from '../../node/index.js'
import { checkCall, type CallCheck } from './calls.js'
import { labUnavailable, useLabVoxmesh } from './lab-suite.js'
import { recordRow, type SetupFigures } from './results.js'
import { befriend, reachableAgain, type LabVoxmesh } from './voxmesh-lab.js'

const unavailable = labUnavailable()

/** Calls per pair (at least 10 for the goals' p50); VOXMESH_LAB_SETUP_CALLS to change it. */
const SETUP_CALLS = Math.max(2, Number(process.env.VOXMESH_LAB_SETUP_CALLS ?? 10))
const CALL_SECONDS = 2
const GOALS = { direct: { p50: 300, worst: 600 }, relay: { p50: 500, worst: 1000 } } as const

type Path = 'direct' | 'relay' | 'either'

interface Pair {
  a: string
  b: string
  what: string
  /** The path each call must take, by who calls: a → b, then b → a ('either': reported, not required). */
  paths: [Path, Path]
  /** Why the path depends on who calls, when it does. */
  note?: string
}

const PAIRS: Pair[] = [
  { a: 'conea1', b: 'coneb1', what: 'cone ↔ cone', paths: ['direct', 'direct'] },
  { a: 'pub1', b: 'conea1', what: 'public ↔ cone', paths: ['direct', 'direct'] },
  { a: 'prc1', b: 'short1', what: 'port-restricted ↔ port-restricted', paths: ['direct', 'direct'] },
  { a: 'pub2', b: 'prc1', what: 'public ↔ port-restricted', paths: ['direct', 'direct'] },
  { a: 'syma1', b: 'symb1', what: 'symmetric ↔ symmetric', paths: ['relay', 'relay'] },
  { a: 'prc1', b: 'syma1', what: 'port-restricted ↔ symmetric', paths: ['relay', 'relay'] },
  {
    a: 'nofw1',
    b: 'prc1',
    what: 'port-restricted without an input firewall ↔ port-restricted',
    paths: ['either', 'either'],
    note: 'nofw1\'s router may remap its port when the other side\'s checks arrive before nofw1 sent anything (they leave conntrack entries there): then the call is relayed'
  }
]

/** The q-quantile of `values` (nearest rank). */
function quantile (values: number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN
}

/** A call's answer → first audio: the later side's, each from the answer as it learned of it. */
const firstAudioMs = (setup: { caller?: CallSetup, callee?: CallSetup }): number | undefined => {
  const [x, y] = [setup.caller?.firstAudioMs, setup.callee?.firstAudioMs]
  return x === undefined || y === undefined ? undefined : Math.max(x, y)
}

/** One call, placed again once if a node froze (libdatachannel #1630): the check, and the frozen nodes. */
async function callOnce (lab: LabVoxmesh, caller: string, callee: string): Promise<{ check: CallCheck, frozen: string[] }> {
  const options = { seconds: CALL_SECONDS, removeRecordings: true, countRelayed: false }
  const check = await checkCall(lab, caller, callee, options)
  if (check.frozen === undefined) return { check, frozen: [] }
  for (const name of check.frozen) await lab.restart(name)
  expect(await reachableAgain(lab, caller, callee)).toBeUndefined()
  return { check: await checkCall(lab, caller, callee, options), frozen: check.frozen }
}

const count = (items: string[]): string => [...new Set(items)].map(item => `${item} ×${items.filter(i => i === item).length}`).join(', ')

describe.skipIf(unavailable !== undefined)('call setup times in the network lab', () => {
  const voxmesh = useLabVoxmesh()

  for (const pair of PAIRS) {
    it(`${pair.what} (${pair.a} ↔ ${pair.b}): ${SETUP_CALLS} calls, answer → first audio against the goal`, async () => {
      expect(await befriend(voxmesh(), pair.a, pair.b)).toEqual([])
      const times: number[] = []
      const iceMs: number[] = []
      const dtlsMs: number[] = []
      const released: string[] = []
      const problems: string[] = []
      const paths: string[] = []
      const frozen: string[] = []
      const moved: string[] = []
      for (let i = 0; i < SETUP_CALLS; i++) {
        const [caller, callee] = i % 2 === 0 ? [pair.a, pair.b] : [pair.b, pair.a]
        const expected = pair.paths[i % 2] as Path
        const { check, frozen: froze } = await callOnce(voxmesh(), caller, callee)
        frozen.push(...froze)
        // The path the call's media ended on; ICE may connect on a relayed pair that succeeded as
        // soon as a direct one and nominate the direct one within 2 s (the row counts those).
        const path = check.path ?? 'none'
        paths.push(path)
        if (check.connectPath !== undefined && check.connectPath !== path) moved.push(`${check.connectPath} → ${path}`)
        const ms = firstAudioMs(check.setup)
        if (check.problem !== undefined || !check.audioOk || ms === undefined) problems.push(`${caller} → ${callee}: ${check.problem ?? check.audioDetail}`)
        else if (expected !== 'either' && path !== expected) problems.push(`${caller} → ${callee}: ${path}, not ${expected}`)
        if (ms !== undefined) times.push(ms)
        const answering = check.setup.callee
        if (answering?.iceConnectedMs !== undefined) iceMs.push(answering.iceConnectedMs)
        if (answering?.dtlsConnectedMs !== undefined) dtlsMs.push(answering.dtlsConnectedMs)
        if (answering?.releasedBecause !== undefined) released.push(answering.releasedBecause)
        console.log(`setup ${caller} → ${callee}: first audio ${ms ?? '-'} ms, ${path}; caller ${JSON.stringify(check.setup.caller)}; callee ${JSON.stringify(answering)}`)
      }
      const goal = GOALS[pair.paths.every(p => p === 'direct') ? 'direct' : 'relay']
      if (times.length === 0) problems.push('no call reached first audio')
      // A pair with no call through reports -1 (JSON has no NaN, and the table would take null for met).
      const figure = (value: number): number => Number.isFinite(value) ? value : -1
      const figures: SetupFigures = { calls: times.length, p50: figure(quantile(times, 0.5)), p90: figure(quantile(times, 0.9)), worst: figure(Math.max(...times)), goalP50: goal.p50, goalWorst: goal.worst }
      const expectedPaths = pair.paths[0] === pair.paths[1] ? pair.paths[0] : `${pair.paths[0]} when ${pair.a} calls, ${pair.paths[1]} when called`
      recordRow({
        scenario: `setup: ${pair.what} (${pair.a} ↔ ${pair.b}), ${SETUP_CALLS} calls`,
        expected: `${expectedPaths}; first audio ≤ ${goal.p50} ms p50, ≤ ${goal.worst} ms worst`,
        observed: `${count(paths)}${moved.length === 0 ? '' : ` (connected on one path, then moved: ${count(moved)})`}; p50 ${figures.p50}, p90 ${figures.p90}, worst ${figures.worst} ms` +
          ` (${figures.p50 <= goal.p50 && figures.worst <= goal.worst ? 'goal met' : 'goal MISSED'}); callee ICE p50 ${quantile(iceMs, 0.5)} ms, DTLS p50 ${quantile(dtlsMs, 0.5)} ms` +
          `; hold ended: ${count(released) || 'never held'}${frozen.length === 0 ? '' : `; FROZE (libdatachannel #1630): ${frozen.join(', ')}`}` +
          `${problems.length === 0 ? '' : `; ${problems.join('; ')}`}${pair.note === undefined ? '' : `; ${pair.note}`}`,
        setup: figures,
        pass: problems.length === 0
      })
      expect(problems).toEqual([])
    }, SETUP_CALLS * 60_000 + 120_000)
  }
})
