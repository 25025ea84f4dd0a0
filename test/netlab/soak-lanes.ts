// The soak's lanes: which hosts call each other, what path each pair must take, and the tally of
// every call, per kind of NAT pair (one report row each).
//
// A group is a set of hosts no other group uses, so each host is in one call at a time. The first
// group is a round robin of the two cone hosts and two port-restricted ones (prc1, and short1 whose
// router's UDP mappings expire after 30 s): two calls at a time, every pairing in turn, so it
// covers cone ↔ cone, cone ↔ port-restricted and port-restricted ↔ port-restricted. The others
// are one pair each: symmetric ↔ symmetric (relayed) and the two hosts behind the same NAT. Every
// second pass over a group's rounds swaps caller and callee.
import type { CallCheck } from './calls.js'
import { host } from './topology.js'

export type Pair = [caller: string, callee: string]
export const SOAK_GROUPS: Pair[][][] = [
  [[['conea1', 'coneb1'], ['prc1', 'short1']], [['conea1', 'prc1'], ['coneb1', 'short1']], [['conea1', 'short1'], ['coneb1', 'prc1']]],
  [[['syma1', 'symb1']]],
  [[['shared1', 'shared2']]]
]

/** The calls of a group's `index`th round (counting on over its passes: every second pass swaps sides). */
export function callsOf (group: Pair[][], index: number): Pair[] {
  const round = group[index % group.length] as Pair[]
  const swap = Math.floor(index / group.length) % 2 === 1
  return round.map(([a, b]) => swap ? [b, a] : [a, b])
}

/** The lane a call belongs to: the two NATs' kinds (order-free), or "same NAT". */
export function laneOf (a: string, b: string): string {
  const [na, nb] = [host(a).nat, host(b).nat]
  if (na !== undefined && na.name === nb?.name) return `same NAT (${na.kind})`
  return [na?.kind ?? 'public', nb?.kind ?? 'public'].sort().join(' ↔ ')
}

/** Symmetric NATs on both sides leave only the relay; every other pair in the soak punches through. */
export const expectedPath = (a: string, b: string): 'direct' | 'relay' =>
  host(a).nat?.kind === 'symmetric' && host(b).nat?.kind === 'symmetric' ? 'relay' : 'direct'

export interface LaneTally {
  lane: string
  expected: 'direct' | 'relay'
  pairs: Set<string>
  calls: number
  /** Connected (whatever the path). */
  setups: number
  /** Connected on one path and ended on another (ICE nominated a better pair after connecting). */
  moved: string[]
  /** Connected on the expected path, no problem, audio heard both ways. */
  good: number
  setupMs: number[]
  frames: { sent: number, received: number, lost: number, concealed: number }
  /** Calls that ended without a frame summary from both sides. */
  noSummary: number
  /** One line per bad call: what went wrong, with the selected pairs when the path was unexpected. */
  problems: string[]
  /** Calls during whose setup a node deadlocked in libdatachannel 0.24.5 (#1630): the node was restarted. */
  froze: string[]
}

export function newTally (lane: string, expected: 'direct' | 'relay'): LaneTally {
  return { lane, expected, pairs: new Set(), calls: 0, setups: 0, moved: [], good: 0, setupMs: [], frames: { sent: 0, received: 0, lost: 0, concealed: 0 }, noSummary: 0, problems: [], froze: [] }
}

/** Adds one call's check to its lane's tally; `n` numbers the call in the soak. */
export function tallyCall (t: LaneTally, [caller, callee]: Pair, check: CallCheck, n: number): void {
  t.calls++
  t.pairs.add([caller, callee].sort().join('↔'))
  if (check.path !== undefined) t.setups++
  if (check.setupMs !== undefined) t.setupMs.push(check.setupMs)
  if (check.frames === undefined) t.noSummary++
  else for (const key of ['sent', 'received', 'lost', 'concealed'] as const) t.frames[key] += check.frames[key]
  const what = `call ${n} ${caller} → ${callee}`
  if (check.path !== undefined && check.connectPath !== check.path) t.moved.push(`${what}: connected ${check.connectPath ?? '?'}, moved to ${check.path} (${check.pairs.join('; ')})`)
  if (check.frozen !== undefined) t.froze.push(`${what}: ${check.frozen.join(' and ')} froze`)
  else if (check.path === undefined) t.problems.push(`${what}: not set up: ${check.problem ?? '?'}`)
  else if (check.path !== t.expected) t.problems.push(`${what}: ${check.path}, not ${t.expected} (${check.pairs.join('; ')})`)
  else if (check.problem !== undefined) t.problems.push(`${what}: ${check.problem}`)
  else if (!check.audioOk) t.problems.push(`${what}: audio ${check.audioDetail}`)
  else t.good++
}

export const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** The lane's figures in words, for its report row. */
export function describeTally (t: LaneTally): string {
  const lostPct = t.frames.received + t.frames.lost === 0 ? 0 : 100 * t.frames.lost / (t.frames.received + t.frames.lost)
  const frames = `frames lost ${t.frames.lost}/${t.frames.received + t.frames.lost} (${lostPct.toFixed(2)} %), concealed ${t.frames.concealed}` +
    (t.noSummary === 0 ? '' : `, ${t.noSummary} calls without a summary`)
  const failed = t.calls - t.good - t.froze.length
  const shown = t.problems.slice(0, 3).join(' | ') + (t.problems.length > 3 ? ` | and ${t.problems.length - 3} more` : '')
  const moved = (t.moved.length === 0 ? '' : `; ${t.moved.length} connected on one path and moved to the other`) +
    (t.froze.length === 0 ? '' : `; ${t.froze.length} set-up froze a node (libdatachannel #1630; restarted): ${t.froze.join(', ')}`)
  return `${t.calls} calls (${[...t.pairs].join(', ')}): ${t.setups} set up, ${failed} failed${moved}; ${frames}${failed === 0 ? '' : `; ${shown}`}`
}
