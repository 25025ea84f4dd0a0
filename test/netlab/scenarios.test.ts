// voxmesh on the lab's small internet (topology.ts): promotion, presence and messages across
// NATs, and calls with audio checked both ways. Each test records its report row(s) (results.ts)
// before it asserts. One lab and one voxmesh network for the whole file.
import { describe, expect, it } from 'vitest'
import { waitUntil } from '../helpers/wait.js'
import { CALL_SECONDS, checkCall, type CallCheck } from './calls.js'
import { recordRow } from './results.js'
import { labUnavailable, useLabVoxmesh } from './lab-suite.js'
import { hostsBehind, NATS, PUBLIC_HOSTS } from './topology.js'
import { befriend, messageGetsThrough, OVERLAY_PORT, reachableAgain } from './voxmesh-lab.js'

const unavailable = labUnavailable()

const ROLE_WAIT_MS = 30_000
const MESSAGE_WAIT_MS = 30_000

/** A call row's bound: a setup that hangs (90 s), the probe of its nodes (20 s), a restart and the call again. */
const CALL_TEST_TIMEOUT_MS = 300_000

describe.skipIf(unavailable !== undefined)('voxmesh in the network lab', () => {
  const voxmesh = useLabVoxmesh()

  it('promotion: the public hosts become supernodes; no host behind a NAT does, and each logs that the dial-back failed', async () => {
    const outcomes: boolean[] = []
    for (const h of PUBLIC_HOSTS) {
      const role = voxmesh().node(h.name).events().find(e => e.event === 'role')
      const ok = role?.role === 'supernode'
      recordRow({ scenario: `promotion: ${h.name} (public)`, expected: 'supernode', observed: String(role?.role ?? 'host'), pass: ok })
      outcomes.push(ok)
    }
    for (const nat of NATS) {
      await Promise.all(hostsBehind(nat).map(async h => {
        const failed = `not promoting: the dial-back to ${nat.wanIp}:${OVERLAY_PORT} failed`
        const n = voxmesh().node(h.name)
        const line = await waitUntil(`${h.name} to log a failed dial-back`, () => n.proc.stderrLines.find(l => l.includes(failed)), ROLE_WAIT_MS, 200).catch(() => undefined)
        const promoted = n.events().some(e => e.event === 'role')
        const logged = line !== undefined
        if (logged) console.log(`${h.name} logged: ${(JSON.parse(line) as { msg: string }).msg}`)
        const observed = promoted ? 'supernode' : logged ? 'host (dial-back failed)' : 'host (no failed dial-back logged)'
        recordRow({ scenario: `promotion: ${h.name} (${nat.kind} NAT)`, expected: 'host (dial-back failed)', observed, pass: !promoted && logged })
        outcomes.push(!promoted && logged)
      }))
    }
    expect(outcomes.every(Boolean), 'every promotion row passes (see the rows above)').toBe(true)
  })

  const presencePairs: Array<[string, string, string]> = [
    ['conea1', 'syma1', 'cone ↔ symmetric'],
    ['prc1', 'symb1', 'port-restricted ↔ symmetric'],
    ['tcp1', 'coneb1', 'tcp-only ↔ cone']
  ]
  for (const [a, b, what] of presencePairs) {
    it(`presence and messages: ${a} ↔ ${b} (${what})`, async () => {
      const problems = await befriend(voxmesh(), a, b)
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const problem = await messageGetsThrough(voxmesh(), from, to, `hello ${to}, from ${from}`, MESSAGE_WAIT_MS)
        if (problem !== undefined) problems.push(problem)
      }
      recordRow({
        scenario: `presence + messages: ${a} ↔ ${b} (${what})`,
        expected: 'online + delivered, both ways',
        observed: problems.length === 0 ? 'online + delivered, both ways' : problems.join('; '),
        pass: problems.length === 0
      })
      expect(problems).toEqual([])
    })
  }

  /**
   * A relayed call puts its audio (~50 packets a second each way) through the relays, hundreds of packets;
   * a direct one leaves them (almost) idle: at most a few ICE checks through a relay candidate.
   */
  const relayedAsExpected = (path: 'direct' | 'relay', packets: number): boolean => path === 'relay' ? packets > CALL_SECONDS * 50 : packets < 50
  /** Its node's line saying UDP does not reach its relay, so its calls use TURN over TCP (node/relay/bridge). */
  const overTcpLine = (name: string): string | undefined => voxmesh().node(name).proc.stderrLines.find(l => l.includes('calls use TURN over TCP'))
  /** [caller, callee, path, what, the side that must reach its relay over TCP] */
  const calls: Array<[string, string, 'direct' | 'relay', string, string?]> = [
    ['conea1', 'coneb1', 'direct', 'cone ↔ cone'],
    ['conea1', 'prc1', 'direct', 'cone ↔ port-restricted'],
    ['syma1', 'symb1', 'relay', 'symmetric ↔ symmetric'],
    ['shared1', 'shared2', 'direct', 'two hosts behind the same NAT'],
    ['tcp1', 'coneb1', 'relay', 'tcp-only ↔ cone', 'tcp1']
  ]
  for (const [caller, callee, expected, what, overTcp] of calls) {
    it(`call: ${caller} → ${callee} (${what}) connects ${expected}${overTcp === undefined ? '' : ` (${overTcp} over TCP)`}, audio heard both ways`, async () => {
      // Only contacts can be called: made first, outside the call's figures.
      expect(await befriend(voxmesh(), caller, callee)).toEqual([])
      let check: CallCheck = await checkCall(voxmesh(), caller, callee)
      // A node deadlocked in libdatachannel 0.24.5 (#1630, fixed upstream after that release; issue
      // "calls behind NATs" counts them) is not this scenario's failure: it is reported, the frozen
      // node restarted and the call placed once more. Any other failure, or a second freeze, fails.
      let froze = ''
      if (check.frozen !== undefined) {
        froze = `${check.frozen.join(' and ')} froze (libdatachannel #1630) and was restarted; again: `
        for (const name of check.frozen) await voxmesh().restart(name)
        expect(await reachableAgain(voxmesh(), caller, callee)).toBeUndefined()
        check = await checkCall(voxmesh(), caller, callee)
      }
      const relayed = check.relayedPackets ?? 0
      const moved = check.connectPath === check.path ? '' : `, connected on ${check.connectPath ?? '?'} first`
      const pairs = check.path === expected && moved === '' ? '' : `; ${check.pairs.join('; ')}`
      const tcpLine = overTcp === undefined ? undefined : overTcpLine(overTcp)
      const tcp = overTcp === undefined ? '' : tcpLine === undefined ? `; ${overTcp} logged no TURN over TCP` : `; ${overTcp} reached its relay over TCP`
      recordRow({
        scenario: `call: ${caller} → ${callee} (${what})`,
        expected: overTcp === undefined ? expected : `${expected} (${overTcp} over TCP)`,
        observed: froze + (check.path === undefined ? `no connection: ${check.problem ?? '?'}` : `${check.path}${moved} (relays carried ${relayed} packets)${tcp}${pairs}`),
        setupMs: check.setupMs,
        audio: check.audio,
        pass: check.problem === undefined && check.path === expected && relayedAsExpected(expected, relayed) && check.audioOk && (overTcp === undefined || tcpLine !== undefined)
      })
      if (tcpLine !== undefined) console.log(`${String(overTcp)} logged: ${(JSON.parse(tcpLine) as { msg: string }).msg}`)
      expect(check.problem).toBeUndefined()
      expect(check.path).toBe(expected)
      expect(relayedAsExpected(expected, relayed), `${relayed} packets through the relays`).toBe(true)
      expect(check.audioOk, check.audioDetail).toBe(true)
      if (overTcp !== undefined) expect(tcpLine, `${overTcp} says its calls use TURN over TCP`).toBeDefined()
    }, CALL_TEST_TIMEOUT_MS)
  }

  it('promotion, at the end of the run: still no host behind a NAT ever became a supernode', () => {
    const promoted = NATS.flatMap(hostsBehind).filter(h => voxmesh().node(h.name).events().some(e => e.event === 'role')).map(h => h.name)
    recordRow({ scenario: 'promotion: NAT hosts, over the whole run', expected: 'none promoted', observed: promoted.length === 0 ? 'none promoted' : `promoted: ${promoted.join(', ')}`, pass: promoted.length === 0 })
    expect(promoted).toEqual([])
  })
})
