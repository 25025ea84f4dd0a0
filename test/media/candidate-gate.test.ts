// The candidate gate without node-datachannel: descriptions, ICE states and clock ticks in,
// released candidates out.
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createCandidateGate, type CandidateGateInit } from '../../node/media/session/candidate-gate.js'
import { ANSWERER_CANDIDATE_HOLD_MS, MAX_ICE_SERVERS } from '../../node/media/session/constants.js'

const HOST = 'candidate:1 1 UDP 2114977791 10.0.0.2 5000 typ host'
const SRFLX = 'candidate:2 1 UDP 1686052607 198.18.0.2 5000 typ srflx raddr 10.0.0.2 rport 5000'
const RELAY = 'candidate:3 1 UDP 16777215 198.18.5.5 3478 typ relay raddr 198.18.0.2 rport 5000'

/** A description body with `candidates` inside; the gate sees only candidate and setup lines. */
function sdp (...candidates: string[]): string {
  return ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:audio', 'a=setup:actpass', ...candidates.map(c => `a=${c}`), 'a=end-of-candidates', ''].join('\r\n')
}

function gate (role: CandidateGateInit['role'], relayOnly = false, more: Partial<CandidateGateInit> = {}) {
  const clock = new FakeClock()
  const released: Array<{ candidates: string[], why: string }> = []
  const g = createCandidateGate({ role, relayOnly, clock, release: (candidates, why) => { released.push({ candidates, why }) }, ...more })
  return { clock, released, gate: g }
}

describe('candidate gate: the answerer', () => {
  it('takes the candidates out of the offer and holds them for ANSWERER_CANDIDATE_HOLD_MS', () => {
    const { clock, released, gate: g } = gate('answerer')
    const plan = g.plan(sdp(HOST, SRFLX))
    expect(plan).toMatchObject({ held: [HOST, SRFLX], relayedPath: false })
    expect(plan.sdp).not.toMatch(/candidate/)
    g.applied(plan)
    clock.advance(ANSWERER_CANDIDATE_HOLD_MS - 1)
    expect(released).toEqual([])
    clock.advance(1)
    expect(released).toEqual([{ candidates: [HOST, SRFLX], why: 'hold time over' }])
    clock.advance(10 * ANSWERER_CANDIDATE_HOLD_MS)
    expect(released).toHaveLength(1)
  })

  it('releases as soon as its ICE connects, once, and cancels the hold timer', () => {
    const { clock, released, gate: g } = gate('answerer')
    g.iceStateChanged('connected') // before the offer: nothing to release yet
    g.applied(g.plan(sdp(HOST)))
    g.iceStateChanged('checking')
    expect(released).toEqual([])
    g.iceStateChanged('completed')
    expect(released).toEqual([{ candidates: [HOST], why: 'ICE completed' }])
    expect(clock.pending).toBe(0)
    g.iceStateChanged('connected')
    expect(released).toHaveLength(1)
  })

  it('releases when the offerer says it holds the answer (not before the offer is applied), once, and cancels the hold timer', () => {
    const { clock, released, gate: g } = gate('answerer')
    const plan = g.plan(sdp(HOST, SRFLX))
    g.peerHasAnswer() // before our answer exists: nothing to release, and the hold still starts
    g.applied(plan)
    expect(released).toEqual([])
    expect(clock.pending).toBe(1)
    g.peerHasAnswer()
    expect(released).toEqual([{ candidates: [HOST, SRFLX], why: 'the offerer holds the answer' }])
    expect(clock.pending).toBe(0)
    g.peerHasAnswer()
    g.iceStateChanged('connected')
    expect(released).toHaveLength(1)
  })

  it('behind a NAT, serves DTLS (the offer it applies says a=setup:active): its own checks open the path, so its ICE connects first', () => {
    const plan = gate('answerer').gate.plan(sdp(HOST, SRFLX))
    expect(plan.serveDtls).toBe(true)
    expect(plan.sdp).toMatch(/^a=setup:active\r$/m)
  })

  it('reachable (a supernode), or offered a host candidate on our network: leaves DTLS to the offerer, whose checks reach it first', () => {
    const reachable = gate('answerer', false, { reachable: true }).gate.plan(sdp(HOST, SRFLX))
    const nearby = gate('answerer', false, { onOurNetwork: ip => ip.startsWith('10.0.0.') }).gate.plan(sdp(HOST, SRFLX))
    const elsewhere = gate('answerer', false, { onOurNetwork: ip => ip.startsWith('192.168.') }).gate.plan(sdp(HOST, SRFLX))
    // Only a host candidate counts: a srflx one on our network says nothing of a path without a NAT.
    const srflxOnly = gate('answerer', false, { onOurNetwork: ip => ip === '198.18.0.2' }).gate.plan(sdp(SRFLX))
    for (const plan of [reachable, nearby]) {
      expect(plan.serveDtls).toBe(false)
      expect(plan.sdp).toMatch(/^a=setup:actpass\r$/m)
    }
    expect([elsewhere.serveDtls, srflxOnly.serveDtls]).toEqual([true, true])
  })

  it('where the offerer serves DTLS (offered a host candidate on our network), the offerer\'s word does not end the hold: its checks must reach us first', () => {
    const { clock, released, gate: g } = gate('answerer', false, { onOurNetwork: ip => ip.startsWith('10.0.0.') })
    g.applied(g.plan(sdp(HOST, SRFLX)))
    g.peerHasAnswer()
    expect(released).toEqual([])
    g.iceStateChanged('connected')
    expect(released).toEqual([{ candidates: [HOST, SRFLX], why: 'ICE connected' }])
    expect(clock.pending).toBe(0)
  })

  it('records the type of every candidate a description signalled, refused ones too', () => {
    const { gate: g } = gate('answerer', true)
    expect(g.plan(sdp(HOST, SRFLX, RELAY)).signalledTypes).toEqual(['host', 'srflx', 'relay'])
  })

  it('offered relay candidates alone: serves DTLS (setup:active) and releases right after the call returns', async () => {
    const { clock, released, gate: g } = gate('answerer')
    const plan = g.plan(sdp(RELAY))
    expect(plan.relayedPath).toBe(true)
    expect(plan.sdp).toMatch(/^a=setup:active\r$/m)
    g.applied(plan)
    expect(released).toEqual([])
    expect(clock.pending).toBe(0)
    await Promise.resolve()
    expect(released).toEqual([{ candidates: [RELAY], why: 'relayed: the answerer serves DTLS' }])
  })

  it('relay-only: drops the peer\'s other candidates, and is relayed even without any', async () => {
    const { released, gate: g } = gate('answerer', true)
    const plan = g.plan(sdp(HOST, RELAY, SRFLX))
    expect(plan).toMatchObject({ held: [RELAY], relayedPath: true })
    g.applied(plan)
    await Promise.resolve()
    expect(released).toEqual([{ candidates: [RELAY], why: 'relayed: the answerer serves DTLS' }])
    expect(gate('answerer', true).gate.plan(sdp()).relayedPath).toBe(true)
  })

  it('close() drops what is held: nothing is released after it', async () => {
    const { clock, released, gate: g } = gate('answerer')
    g.applied(g.plan(sdp(HOST)))
    g.close()
    g.close()
    expect(clock.pending).toBe(0)
    g.iceStateChanged('connected')
    clock.advance(ANSWERER_CANDIDATE_HOLD_MS)
    const relayed = gate('answerer')
    relayed.gate.applied(relayed.gate.plan(sdp(RELAY)))
    relayed.gate.close()
    await Promise.resolve()
    expect([...released, ...relayed.released]).toEqual([])
  })
})

describe('candidate gate: the offerer', () => {
  it('leaves the answer\'s candidates and setup in the description and holds nothing', () => {
    const { clock, released, gate: g } = gate('offerer')
    const answer = sdp(HOST, RELAY).replace('a=setup:actpass', 'a=setup:active')
    const plan = g.plan(answer)
    expect(plan).toEqual({ sdp: answer, held: [], relayedPath: false, serveDtls: false, signalledTypes: ['host', 'relay'] })
    g.applied(plan)
    g.iceStateChanged('connected')
    expect(clock.pending).toBe(0)
    expect(released).toEqual([])
  })

  it('relay-only: the answer keeps only its relay candidates', () => {
    const { gate: g } = gate('offerer', true)
    const plan = g.plan(sdp(HOST, RELAY))
    expect(plan.sdp).toMatch(/typ relay/)
    expect(plan.sdp).not.toMatch(/typ host/)
    expect(plan.relayedPath).toBe(true)
  })
})

describe('candidate gate: what candidates say', () => {
  it('remembers the signalled type of an address, relay winning, to see through prflx pairs', () => {
    const { gate: g } = gate('answerer')
    g.plan(sdp(HOST, RELAY))
    expect(g.remoteCandidateType('198.18.5.5', 3478)).toBe('relay')
    expect(g.remoteCandidateType('10.0.0.2', 5000)).toBe('host')
    expect(g.remoteCandidateType('10.0.0.9', 1)).toBeUndefined()
  })

  it('lists our relayed candidates as TURN allocations, at most MAX_ICE_SERVERS', () => {
    const { gate: g } = gate('offerer')
    g.localCandidate(HOST)
    g.localCandidate(`a=${RELAY}`)
    g.localCandidate(RELAY)
    g.localCandidate('candidate:garbage')
    expect(g.relayedAddresses()).toEqual([{ ip: '198.18.5.5', port: 3478 }])
    for (let port = 1; port <= 2 * MAX_ICE_SERVERS; port++) g.localCandidate(`candidate:9 1 UDP 1 198.18.5.6 ${port} typ relay`)
    expect(g.relayedAddresses()).toHaveLength(MAX_ICE_SERVERS)
  })
})
