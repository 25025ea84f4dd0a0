// A long call across the NAT whose UDP mappings expire after 30 s (router `short`): short1 ↔ conea1
// for two minutes, four times the mapping's lifetime. The call stays up only if its media (and
// ICE's consent checks) keep the mapping alive, or it moves to a path that works; every second of
// each side's recording must hold the other's tone, and the row lists every path the call took.
import { describe, expect, it } from 'vitest'
import { checkCall } from './calls.js'
import { labUnavailable, useLabVoxmesh } from './lab-suite.js'
import { recordRow } from './results.js'
import { befriend } from './voxmesh-lab.js'

const unavailable = labUnavailable()
const LONG_CALL_SECONDS = 120

describe.skipIf(unavailable !== undefined)('a long call in the network lab', () => {
  const voxmesh = useLabVoxmesh()

  it(`short1 → conea1 (30 s UDP mappings ↔ cone) stays up ${LONG_CALL_SECONDS} s, no silent second either way`, { timeout: (LONG_CALL_SECONDS + 120) * 1000 }, async () => {
    expect(await befriend(voxmesh(), 'short1', 'conea1')).toEqual([])
    const check = await checkCall(voxmesh(), 'short1', 'conea1', { seconds: LONG_CALL_SECONDS })
    const lasted = check.frames === undefined ? '' : `, ${check.frames.lost} frames lost of ${check.frames.sent} sent`
    const pass = check.problem === undefined && check.audioOk && check.everySecondOk
    recordRow({
      scenario: `long call: short1 → conea1 (30 s UDP mappings ↔ cone), ${LONG_CALL_SECONDS} s`,
      expected: 'up all along, tone every second',
      observed: check.path === undefined
        ? `no connection: ${check.problem ?? '?'}`
        : `paths ${check.pathHistory}; ${check.seconds}${lasted}${check.problem === undefined ? '' : `; ${check.problem}`}`,
      setupMs: check.setupMs,
      audio: check.audio,
      pass
    })
    expect(check.problem).toBeUndefined()
    expect(check.audioOk, check.audioDetail).toBe(true)
    expect(check.everySecondOk, check.audioDetail).toBe(true)
  })
})
