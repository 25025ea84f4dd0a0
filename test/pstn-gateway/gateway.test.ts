// The PSTN gateway end to end with real processes on loopback: a login server, a supernode, users'
// nodes and `voxmesh pstn-gateway` logged in as the service pstn. Each user sends its own tone; what
// comes back is checked in the recordings (frequency and level), and the money on the login server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { dominantFrequency, levelDbfs, readWavFile } from '../../node/index.js'
import { freePort } from '../helpers/ports.js'
import { killAll, runCli, startCli, type CliProcess } from '../helpers/processes.js'
import { startVoxmeshNet, type NodeProcess } from '../helpers/voxmesh-net.js'

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let alice: NodeProcess, bob: NodeProcess
let gateway: CliProcess
let token: string

const ECHO_NUMBER = '+442079460123'
const TONE_NUMBER = '+442079460100' // 1 kHz
const BUSY_NUMBER = '+442079460486'
const NOT_IN_SERVICE = '+442079460404'

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'alice', 'bob', 'carol']) await net.createAccount(user)
  const added = await runCli(['login-server', 'add-service', 'pstn', '--data-dir', join(net.root, 'login')])
  expect(added.code, added.stderr).toBe(0)
  token = added.stdout.trim()
  expect((await runCli(['login-server', 'credit', 'alice', '500', '--data-dir', join(net.root, 'login')])).code).toBe(0)
  await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`])
  alice = await net.startNode('alice', ['--role', 'host', '--no-shell'])
  bob = await net.startNode('bob', ['--role', 'host', '--no-shell'])
  gateway = startCli(['pstn-gateway', '--login-server', net.url, '--data-dir', join(net.root, 'gateway'), '--json'], { VOXMESH_SERVICE_TOKEN: token })
  await gateway.waitForLine(/PSTN gateway up as pstn/)
  // The gateway's node publishes where it is: the first call may come before that.
  for (let i = 0; i < 40; i++) {
    const probe = await alice.cli('call', 'echo', '--duration', '0.2', '--json')
    if (probe.code === 0) break
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}, 90_000)

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

interface Called { code: number | null, lines: Array<Record<string, unknown>>, stderr: string }
async function call (who: NodeProcess, target: string, ...args: string[]): Promise<Called> {
  const result = await who.cli('call', target, '--json', ...args)
  return { code: result.code, lines: result.stdout.trim().split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>), stderr: result.stderr }
}
const endedOf = (c: Called): Record<string, unknown> | undefined => c.lines.find(l => l.event === 'ended')

/** The middle of a recording (past the jitter buffer's start and the line's): its tone and level. */
function heard (file: string): { hz: number, dbfs: number } {
  const wav = readWavFile(file)
  const middle = wav.samples.subarray(wav.sampleRate, wav.samples.length - wav.sampleRate / 2)
  return { hz: dominantFrequency(middle, wav.sampleRate), dbfs: levelDbfs(middle) }
}

async function balanceOf (who: NodeProcess): Promise<number> {
  const result = await who.cli('balance', '--json')
  expect(result.code, result.stderr).toBe(0)
  return (JSON.parse(result.stdout) as { balance: number }).balance
}

describe('calls to phone numbers', () => {
  it('the echo line returns the caller\'s own tone through a narrowband line, and is free', async () => {
    const before = await balanceOf(alice)
    const recording = join(net.root, 'echo-700.wav')
    const result = await call(alice, 'echo', '--tone', '700', '--record', recording, '--duration', '4')
    expect(result.code, result.stderr).toBe(0)
    const got = heard(recording)
    expect(Math.abs(got.hz - 700)).toBeLessThanOrEqual(3)
    expect(got.dbfs).toBeGreaterThan(-30)
    expect(await balanceOf(alice)).toBe(before)
  })

  it('is narrowband: a 3.4 kHz tone comes back, a 6 kHz one does not', async () => {
    const low = join(net.root, 'echo-3400.wav')
    const high = join(net.root, 'echo-6000.wav')
    expect((await call(alice, ECHO_NUMBER, '--tone', '3400', '--record', low, '--duration', '3')).code).toBe(0)
    expect((await call(alice, ECHO_NUMBER, '--tone', '6000', '--record', high, '--duration', '3')).code).toBe(0)
    const kept = heard(low)
    expect(Math.abs(kept.hz - 3400)).toBeLessThanOrEqual(3)
    expect(kept.dbfs).toBeGreaterThan(-30)
    expect(heard(high).dbfs).toBeLessThan(-45)
  })

  it('a tone line plays its tone and is charged per started minute, to the cent', async () => {
    const before = await balanceOf(alice)
    const recording = join(net.root, 'tone-1000.wav')
    const result = await call(alice, TONE_NUMBER, '--tone', '500', '--record', recording, '--duration', '3')
    expect(result.code, result.stderr).toBe(0)
    expect(Math.abs(heard(recording).hz - 1000)).toBeLessThanOrEqual(3)
    // +44 costs 2 cents a minute: one started minute.
    await waitForBalance(alice, before - 2)
  })

  it('a busy number ends the call as busy, naming the number; nothing is charged', async () => {
    const before = await balanceOf(alice)
    const result = await call(alice, BUSY_NUMBER)
    expect(result.code).toBe(1)
    expect(endedOf(result)).toMatchObject({ reason: 'busy', message: `${BUSY_NUMBER} is busy` })
    expect(await balanceOf(alice)).toBe(before)
  })

  it('a number not in service plays the SIT and ends as not-in-service', async () => {
    const result = await call(alice, NOT_IN_SERVICE, '--tone', '500')
    expect(endedOf(result)).toMatchObject({ reason: 'not-in-service', message: `the number ${NOT_IN_SERVICE} is not in service` })
  })

  it('the shipped announcement line plays its recording (speech, narrowband) and hangs up at its end', async () => {
    const recording = join(net.root, 'announcement.wav')
    const started = Date.now()
    const result = await call(alice, '+442079460410', '--record', recording, '--duration', '30')
    expect(endedOf(result)).toMatchObject({ reason: 'hangup' })
    // The recording is 5.5 s long: the line ends well before the caller would.
    expect((Date.now() - started) / 1000).toBeLessThan(15)
    const wav = readWavFile(recording)
    const speech = wav.samples.subarray(wav.sampleRate, 4 * wav.sampleRate)
    expect(levelDbfs(speech)).toBeGreaterThan(-40)
  })

  it('a user without credit is refused with payment-required, saying so', async () => {
    const result = await call(bob, TONE_NUMBER)
    expect(result.code).toBe(1)
    expect(endedOf(result)).toMatchObject({ reason: 'payment-required', message: `not enough credit to call ${TONE_NUMBER} (voxmesh balance shows yours)` })
  })

  it.each(['+', '+12', '+44abc2079460', '+4420794601234567'])('refuses %j with a clear error before anything is dialed', async number => {
    const seenBefore = gateway.stderrLines.join('\n').split(' dials ').length
    const result = await alice.cli('call', number)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`is not a valid phone number: phone numbers are "+" and 8 to 15 digits`)
    expect(gateway.stderrLines.join('\n').split(' dials ').length).toBe(seenBefore)
  })

  it('keeps a record of every attempt, with its disposition', async () => {
    const db = new Database(join(net.root, 'gateway', 'calls.sqlite'), { readonly: true })
    try {
      const rows = db.prepare('SELECT username, number, disposition, cost, charge_state AS charge FROM call_records WHERE ended_at IS NOT NULL ORDER BY started_at').all() as Array<Record<string, unknown>>
      expect(rows).toEqual(expect.arrayContaining([
        expect.objectContaining({ username: 'alice', number: 'echo', disposition: 'ANSWERED', charge: 'none' }),
        expect.objectContaining({ username: 'alice', number: TONE_NUMBER, disposition: 'ANSWERED', cost: 2, charge: 'charged' }),
        expect.objectContaining({ username: 'alice', number: BUSY_NUMBER, disposition: 'BUSY' }),
        expect.objectContaining({ username: 'alice', number: NOT_IN_SERVICE, disposition: 'FAILED' }),
        expect.objectContaining({ username: 'bob', number: TONE_NUMBER, disposition: 'FAILED', charge: 'none' })
      ]))
    } finally { db.close() }
    // Each user sees theirs, from the login server, with what each cost.
    const history = await alice.cli('calls', '--history', '--json', '--limit', '50')
    expect(history.code, history.stderr).toBe(0)
    const calls = (JSON.parse(history.stdout) as { calls: Array<Record<string, unknown>> }).calls
    expect(calls).toEqual(expect.arrayContaining([
      expect.objectContaining({ number: TONE_NUMBER, disposition: 'ANSWERED', cost: 2 }),
      expect.objectContaining({ number: BUSY_NUMBER, disposition: 'BUSY', cost: 0, reason: 'busy' })
    ]))
    expect(calls.every(c => c.direction === 'outbound')).toBe(true)
    const text = await alice.cli('calls', '--history')
    expect(text.stdout).toMatch(new RegExp(`to \\${TONE_NUMBER}\\s+ANSWERED\\s+\\d+ s\\s+0\\.02 EUR`))
    const bobs = JSON.parse((await bob.cli('calls', '--history', '--json')).stdout) as { calls: Array<Record<string, unknown>> }
    expect(bobs.calls).toEqual([expect.objectContaining({ number: TONE_NUMBER, disposition: 'FAILED', reason: 'payment-required', cost: 0 })])
  })
})

describe('a phone calls a user', () => {
  it('a number assigned to a user rings their devices showing the caller\'s number; audio flows both ways, narrowband', async () => {
    const recordings = join(net.root, 'carol-calls')
    const carol = await net.startNode('carol', ['--role', 'host', '--no-shell', '--auto-answer', '--tone', '600', '--record-dir', recordings])
    const gatewayDir = join(net.root, 'gateway')
    const assigned = await runCli(['pstn-gateway', 'assign', '+447700900123', 'Carol', '--data-dir', gatewayDir])
    expect({ code: assigned.code, stdout: assigned.stdout }).toEqual({ code: 0, stdout: '+447700900123 now rings carol\n' })
    const phoneHears = join(net.root, 'phone-hears.wav')
    const rang = await runCli(['pstn-gateway', 'ring', '--from', '+442079460999', '--to', '+447700900123', '--tone', '900', '--record', phoneHears,
      '--duration', '3', '--login-server', net.url, '--data-dir', gatewayDir], { VOXMESH_SERVICE_TOKEN: token })
    expect(rang.code, rang.stderr).toBe(0)
    expect(rang.stdout).toContain('+442079460999 rings +447700900123 (carol)')
    const incoming = await carol.waitForEvent(e => e.event === 'call-incoming')
    expect(incoming).toMatchObject({ from: 'pstn', callerNumber: '+442079460999' })
    const ended = await carol.waitForEvent(e => e.event === 'call-ended' && e.callId === incoming.callId)
    const carolHeard = heard(String(ended.recording))
    expect(Math.abs(carolHeard.hz - 900)).toBeLessThanOrEqual(3)
    expect(carolHeard.dbfs).toBeGreaterThan(-30)
    const phoneHeard = heard(phoneHears)
    expect(Math.abs(phoneHeard.hz - 600)).toBeLessThanOrEqual(3)
    expect(phoneHeard.dbfs).toBeGreaterThan(-30)

    const unassigned = await runCli(['pstn-gateway', 'ring', '--from', '+442079460999', '--to', '+447700900999', '--data-dir', gatewayDir, '--login-server', net.url], { VOXMESH_SERVICE_TOKEN: token })
    expect({ code: unassigned.code, stderr: unassigned.stderr }).toEqual({ code: 1, stderr: 'voxmesh: +447700900999 is not assigned to anyone: voxmesh pstn-gateway assign +447700900999 USER\n' })
  })
})

async function waitForBalance (who: NodeProcess, want: number): Promise<void> {
  let last = NaN
  for (let i = 0; i < 40; i++) {
    last = await balanceOf(who)
    if (last === want) return
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  expect(last).toBe(want)
}
