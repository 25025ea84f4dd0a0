// Faults in the lab: a supernode killed (its hosts re-home, their contacts reach them again, a direct
// call through it keeps its audio, a relayed one recovers), the login server stopped (what logged-in
// users do goes on; a new login fails, saying why) and restarted on its data dir (nothing lost).
// Each test records its row(s) (results.ts) before it asserts, and leaves two supernodes running.
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { inNetns, runCli } from '../helpers/processes.js'
import { TEST_PASSWORD, type NodeProcess } from '../helpers/voxmesh-net.js'
import { checkCall, type CallCheck } from './calls.js'
import { killNode, loginServerKey, relayOfCall, pathsSince, presenceSince, reachableAgainMs, rehomeMs, supernodeOf, type Kill } from './faults.js'
import { labUnavailable, useLabVoxmesh } from './lab-suite.js'
import { recordRow } from './results.js'
import { hostsBehind, LOGIN, NATS, PUBLIC_HOSTS } from './topology.js'
import { befriend, contactsOf, messageGetsThrough } from './voxmesh-lab.js'

const unavailable = labUnavailable()

/** What issue 11 asks of a re-home and of a relayed call's recovery. */
const WITHIN_MS = 5000
/** How long the measurements wait before calling it a failure: past WITHIN_MS, so a slow one still gets its figure. */
const MEASURE_TIMEOUT_MS = 20_000
const EVENT_WAIT_MS = 15_000
/** Into a call, when the fault strikes: past ICE's nomination (~2 s), so the path has settled. */
const FAULT_AFTER_MS = 4000
/** Every NAT host and a contact of theirs: whom to ask whether the host is reachable again. */
const FRIENDS: Array<[string, string]> = [['conea1', 'coneb1'], ['syma1', 'symb1'], ['prc1', 'short1'], ['tcp1', 'shared1'], ['shared2', 'conea1'], ['nofw1', 'coneb1']]
const contactOf = (name: string): string => {
  const pair = FRIENDS.find(p => p.includes(name))
  if (pair === undefined) throw new Error(`${name} has no contact in FRIENDS`)
  return pair[0] === name ? pair[1] : pair[0]
}
const NAT_HOSTS = NATS.flatMap(hostsBehind).map(h => h.name)
const ms = (value: number | undefined): string => value === undefined ? 'never' : `${value} ms`

describe.skipIf(unavailable !== undefined)('faults in the network lab', () => {
  const voxmesh = useLabVoxmesh()

  it('setup: the pairs the faults are measured with are contacts', { timeout: 300_000 }, async () => {
    const problems: string[] = []
    for (const [a, b] of FRIENDS) problems.push(...await befriend(voxmesh(), a, b))
    expect(problems).toEqual([])
  })

  /** Restarts `victim` and waits until it is a supernode again: later rows need two. */
  const restart = async (victim: string): Promise<void> => { await voxmesh().restart(victim) }

  it('supernode killed (SIGKILL): its hosts re-home within 5 s and their contacts reach them again', async () => {
    const lab = voxmesh()
    // The supernode serving the most hosts: the biggest re-home.
    const served = (sn: string): string[] => NAT_HOSTS.filter(h => supernodeOf(lab, h) === sn)
    const victim = PUBLIC_HOSTS.map(h => h.name).sort((a, b) => served(b).length - served(a).length)[0] as string
    const hosts = served(victim)
    // Asked before the kill: a host without a contact here would otherwise end the test with the victim down.
    const contacts = hosts.map(contactOf)
    const kill = await killNode(lab, victim, NAT_HOSTS)
    const [rehomed, reached] = await Promise.all([
      Promise.all(hosts.map(async h => await rehomeMs(lab, kill, h, MEASURE_TIMEOUT_MS))),
      Promise.all(hosts.map(async (h, i) => await reachableAgainMs(lab, kill, contacts[i] as string, h, MEASURE_TIMEOUT_MS)))
    ])
    const rehomeOk = hosts.length > 0 && rehomed.every(t => t !== undefined && t <= WITHIN_MS)
    const rehomeSeen = hosts.length === 0 ? 'it served no host' : hosts.map((h, i) => `${h} ${ms(rehomed[i])}`).join(', ')
    recordRow({
      scenario: `fault: supernode ${victim} killed, its ${hosts.length} hosts re-home`,
      expected: `each attached elsewhere within ${WITHIN_MS} ms`,
      observed: rehomeSeen,
      pass: rehomeOk
    })
    const reachOk = hosts.length > 0 && reached.every(t => t !== undefined)
    const reachSeen = hosts.map((h, i) => {
      const seen = presenceSince(lab, kill, contactOf(h), h)
      return `${contactOf(h)} → ${h} ${ms(reached[i])}${seen.length === 0 ? '' : ` (presence: ${seen.join(' → ')})`}`
    }).join(', ')
    recordRow({ scenario: `fault: supernode ${victim} killed, contacts reach its hosts again`, expected: 'online + message delivered', observed: reachSeen, pass: reachOk })
    await restart(victim)
    expect(rehomeOk, rehomeSeen).toBe(true)
    expect(reachOk, reachSeen).toBe(true)
  })

  /** A call `seconds` long from `caller` to `callee` during which `fault` strikes FAULT_AFTER_MS after it connected. */
  const callThrough = async (caller: string, callee: string, seconds: number, fault: (callId: string) => Promise<void>, lastSeconds?: number): Promise<CallCheck> => {
    expect(contactOf(caller)).toBe(callee)
    return await checkCall(voxmesh(), caller, callee, {
      seconds,
      lastSeconds,
      countRelayed: false,
      after: async callId => {
        await sleep(FAULT_AFTER_MS)
        await fault(callId)
      }
    })
  }

  it('supernode killed during a direct call (conea1 → coneb1): the call keeps its audio, not a second lost', async () => {
    const lab = voxmesh()
    let kill: Kill | undefined
    const check = await callThrough('conea1', 'coneb1', 16, async () => {
      const victim = supernodeOf(lab, 'conea1')
      if (victim === undefined) throw new Error('conea1 is attached to no supernode')
      kill = await killNode(lab, victim, ['conea1', 'coneb1'])
    })
    const rehomed = kill === undefined ? undefined : await rehomeMs(lab, kill, 'conea1', MEASURE_TIMEOUT_MS)
    // ICE may connect on a relayed pair and move to direct within ~2 s (README): judged is what the media did from the kill on.
    const afterKill = kill === undefined ? [] : pathsSince(lab, kill, ['conea1', 'coneb1'], check.callId)
    const pass = check.problem === undefined && check.path === 'direct' && afterKill.every(p => p === 'direct') && check.audioOk && check.everySecondOk
    recordRow({
      scenario: `fault: ${kill?.victim ?? 'supernode'} killed 4 s into a direct call conea1 → coneb1`,
      expected: 'direct from the kill on, tone every second',
      observed: `${check.problem ?? `paths ${check.pathHistory}; after the kill ${[...new Set(afterKill)].join(', ') || 'none reported'}`}; ${check.seconds}; conea1 re-homed in ${ms(rehomed)}`,
      setupMs: check.setupMs,
      audio: check.audio,
      pass
    })
    if (kill !== undefined) await restart(kill.victim)
    expect(check.problem).toBeUndefined()
    expect(check.path).toBe('direct')
    expect(afterKill.filter(p => p !== 'direct'), 'paths reported after the kill').toEqual([])
    expect(check.everySecondOk, check.audioDetail).toBe(true)
  })

  it('supernode relaying a call (syma1 → symb1) killed: the call recovers within 5 s, audio heard after', async () => {
    const lab = voxmesh()
    let kill: Kill | undefined
    let recovering: Record<string, unknown> | undefined
    let recovered: { event: Record<string, unknown>, at: number } | undefined
    let relayPairs = ''
    const check = await callThrough('syma1', 'symb1', 24, async callId => {
      const { relay, pairs } = relayOfCall(lab, callId, ['syma1', 'symb1'])
      relayPairs = pairs.join('; ')
      if (relay === undefined) throw new Error(`no relay candidate of a supernode in the pairs: ${pairs.join('; ') || 'none logged'}`)
      kill = await killNode(lab, relay, ['syma1', 'symb1'])
      const k = kill
      const either = async <T>(find: (n: NodeProcess) => Promise<T>): Promise<T | undefined> =>
        await Promise.any([find(lab.node('syma1')), find(lab.node('symb1'))]).catch(() => undefined)
      const is = (name: string) => (e: Record<string, unknown>): boolean => e.event === name && e.callId === callId
      recovering = (await either(async n => await n.proc.waitForEvent(is('call-recovering'), EVENT_WAIT_MS, k.eventsBefore.get(n.user))))?.event
      recovered = await either(async n => await n.proc.waitForEvent(is('call-recovered'), EVENT_WAIT_MS, k.eventsBefore.get(n.user)))
    }, 8)
    const recoveryMs = typeof recovered?.event.recoveryMs === 'number' ? recovered.event.recoveryMs : undefined
    const measuredMs = recovered === undefined || kill === undefined ? undefined : Math.round(recovered.at - kill.at)
    const pass = check.problem === undefined && recoveryMs !== undefined && recoveryMs <= WITHIN_MS && measuredMs !== undefined && measuredMs <= WITHIN_MS && check.audioOk && check.everySecondOk
    recordRow({
      scenario: `fault: relaying supernode ${kill?.victim ?? '?'} killed 4 s into syma1 → symb1`,
      expected: `recovered within ${WITHIN_MS} ms, tone after`,
      observed: [
        recovering === undefined ? 'no call-recovering' : `recovering (${String(recovering.reason)})`,
        recovered === undefined ? 'no call-recovered' : `recovered on ${String(recovered.event.path)} in ${String(recoveryMs)} ms (kill → event ${ms(measuredMs)})`,
        check.problem ?? `paths ${check.pathHistory}`,
        `last 8 s: ${check.seconds}`,
        ...(pass ? [] : [`pairs ${relayPairs}`])
      ].join('; '),
      setupMs: check.setupMs,
      audio: check.audio,
      pass
    })
    if (kill !== undefined) await restart(kill.victim)
    expect(check.problem).toBeUndefined()
    expect(recoveryMs, 'call-recovered.recoveryMs').toBeLessThanOrEqual(WITHIN_MS)
    expect(measuredMs, 'kill → call-recovered').toBeLessThanOrEqual(WITHIN_MS)
    expect(check.everySecondOk, check.audioDetail).toBe(true)
  })

  const LOGIN_URL = (): string => voxmesh().net.url
  /** A second device of an existing account, on a fresh data dir, run on the login server's segment: it must log in. */
  const SECOND_DEVICE = 'shared2'
  let secondDevice: NodeProcess | undefined
  let keyBefore = ''

  it('login server stopped: presence, messages and calls go on; a new login fails, saying why', async () => {
    const lab = voxmesh()
    // Stored now, checked after the restart: a pending contact request (prc1 → shared2).
    const request = await lab.node('prc1').cli('contacts', 'add', SECOND_DEVICE, 'pending across the restart')
    expect(request.code, request.stderr).toBe(0)
    keyBefore = loginServerKey(LOGIN_URL())
    await lab.net.stopLogin()
    const problems: string[] = []

    // Presence: coneb1 goes away and comes back; conea1 sees both.
    const from = lab.node('conea1').events().length
    for (const status of ['away', 'online']) {
      const set = await lab.node('coneb1').cli('presence', status)
      if (set.code !== 0) problems.push(`coneb1 presence ${status}: ${set.stderr.trim()}`)
      const seen = await lab.node('conea1').waitForEvent(e => e.event === 'presence' && e.user === 'coneb1' && e.status === status, EVENT_WAIT_MS, from).catch(() => undefined)
      if (seen === undefined) problems.push(`conea1 did not see coneb1 ${status}`)
    }
    // Messages both ways.
    for (const [a, b] of [['conea1', 'coneb1'], ['coneb1', 'conea1']] as const) {
      const problem = await messageGetsThrough(lab, a, b, `${a} to ${b}, login server down`, EVENT_WAIT_MS)
      if (problem !== undefined) problems.push(problem)
    }
    // A call.
    const call = await checkCall(lab, 'conea1', 'coneb1', { countRelayed: false })
    if (call.problem !== undefined || !call.audioOk) problems.push(`call conea1 → coneb1: ${call.problem ?? call.audioDetail}`)
    recordRow({
      scenario: 'fault: login server stopped, logged-in users carry on',
      expected: 'presence, messages, a call',
      observed: problems.length === 0 ? `presence away/online seen, messages delivered both ways, call ${String(call.path)}` : problems.join('; '),
      setupMs: call.setupMs,
      audio: call.audio,
      pass: problems.length === 0
    })

    // New logins: an account made, and a device never logged in before.
    const unreachable = `cannot reach the login server at ${LOGIN_URL()}`
    const created = await runCli(['account', 'create', 'newcomer', '--login-server', LOGIN_URL()], { VOXMESH_PASSWORD: TEST_PASSWORD }, undefined, inNetns(LOGIN.ns))
    secondDevice = lab.net.launchNode(SECOND_DEVICE, ['--role', 'host', '--no-shell'], inNetns(LOGIN.ns), join(lab.net.root, `${SECOND_DEVICE}-second-device`))
    const waiting = await secondDevice.waitForEvent(e => e.event === 'waiting', EVENT_WAIT_MS).catch(() => undefined)
    const said = [created.stderr.trim(), waiting === undefined ? 'no waiting event' : `waiting for the login server: ${String(waiting.reason)}`]
    const clear = created.code !== 0 && created.stderr.includes(unreachable) && String(waiting?.reason).includes(unreachable)
    recordRow({ scenario: 'fault: login server stopped, a new login', expected: `fails: "${unreachable}"`, observed: said.join('; '), pass: clear })
    expect(problems).toEqual([])
    expect(created.code).not.toBe(0)
    expect(created.stderr).toContain(unreachable)
    expect(String(waiting?.reason)).toContain(unreachable)
  })

  it('login server restarted on its data dir: nothing it stored is lost', async () => {
    const lab = voxmesh()
    await lab.net.startLoginAgain()
    const problems: string[] = []
    const key = loginServerKey(LOGIN_URL())
    if (key !== keyBefore) problems.push(`its key changed (${keyBefore} → ${key}): every node's pin refuses it`)
    // The device that waited through the outage logs in now (account and password kept), learns its
    // supernodes from the server's list and its contacts and requests from the server's tables.
    const device = secondDevice ?? lab.net.launchNode(SECOND_DEVICE, ['--role', 'host', '--no-shell'], inNetns(LOGIN.ns), join(lab.net.root, `${SECOND_DEVICE}-second-device`))
    // Its retries back off up to 30 s apart while the server is away.
    const ready = await device.waitForEvent(e => e.event === 'ready', 60_000).then(() => true, () => false)
    if (!ready) problems.push(`${SECOND_DEVICE}'s new device did not log in: ${device.proc.stderr}`)
    else {
      const attached = await device.waitForEvent(e => e.event === 'attached', EVENT_WAIT_MS).then(() => true, () => false)
      if (!attached) problems.push(`${SECOND_DEVICE}'s new device attached to no supernode`)
      const contacts = await contactsOf(device)
      if (!contacts.some(c => c.username === contactOf(SECOND_DEVICE))) problems.push(`contact ${contactOf(SECOND_DEVICE)} missing: ${JSON.stringify(contacts)}`)
      const requests = JSON.parse((await device.cli('requests', '--json')).stdout) as { incoming: Array<{ from: string }> }
      if (!requests.incoming.some(r => r.from === 'prc1')) problems.push(`prc1's pending request missing: ${JSON.stringify(requests)}`)
    }
    // A running node's later logins: the login server's sessions and certificates.
    const renewed = await lab.restart('coneb1').then(() => true, (err: Error) => { problems.push(`coneb1 restarted: ${err.message}`); return false })
    recordRow({
      scenario: 'fault: login server restarted on its data dir',
      expected: 'key, accounts, contacts, requests, supernodes kept',
      observed: problems.length === 0
        ? `same key; ${SECOND_DEVICE}'s new device logged in, attached, has its contact and prc1's request; coneb1 restarted${renewed ? '' : ' (failed)'}`
        : problems.join('; '),
      pass: problems.length === 0
    })
    await device.proc.stop()
    expect(problems).toEqual([])
  })
})
