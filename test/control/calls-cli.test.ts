// `voxmesh call|answer|decline|hangup|mute|unmute|calls` as real processes
// (dist/, so `npm run build` first) against a control server in this process
// with the fake node behind it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { killAll, runCli, startCli, type CliProcess } from '../helpers/processes.js'
import { writeControlFile } from '../../node/control/control-file.js'
import { FakeNodeApi } from './fake-node-api.js'
import { TOKEN, closeAll, startFakeNode } from './helpers.js'
import { waitUntil } from '../helpers/wait.js'

let dataDir: string
let api: FakeNodeApi

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'voxmesh-cli-calls-'))
  const running = await startFakeNode()
  api = running.api
  writeControlFile(dataDir, { url: running.server.url, token: TOKEN, pid: process.pid })
})
afterEach(async () => {
  await killAll()
  await closeAll()
  rmSync(dataDir, { recursive: true, force: true })
})

const cli = async (...args: string[]) => await runCli([...args, '--data-dir', dataDir])
const jsonLines = (stdout: string): Array<Record<string, unknown>> => stdout.trimEnd().split('\n').map(line => JSON.parse(line))
/** The exit code of a process that exits by itself. */
const exitCode = async (proc: CliProcess): Promise<number | null> => {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.child.exitCode
  return await new Promise(resolve => proc.child.once('exit', code => { resolve(code) }))
}
const placed = (): string[] => api.invocations.filter(c => c.startsWith('placeCall'))

describe('voxmesh call', () => {
  it('--json --duration 1 prints ringing, connected, stats each tick and ended, hangs up after 1 s and exits 0', async () => {
    api.statsEveryMs = 250
    const result = await cli('call', 'bob', '--json', '--duration', '1')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lines = jsonLines(result.stdout)
    const callId = lines[0]?.callId as string
    expect(api.call(callId)?.peer).toBe('bob')
    expect(lines[0]).toEqual({ event: 'ringing', callId, peer: 'bob' })
    expect(lines[1]).toEqual({ event: 'connected', callId, peer: 'bob', path: 'direct', relay: null, setupMs: 85 })
    const stats = lines.slice(2, -1)
    expect(stats.length).toBeGreaterThanOrEqual(2)
    for (const line of stats) {
      expect(line).toEqual({
        event: 'stats', callId, path: 'direct', rttMs: 42, jitterMs: 3.1, lossPct: 0.5, bitrateKbps: 24, mos: 4.38, packetsSent: 50, packetsReceived: 49
      })
    }
    const ended = lines.at(-1) as { event: string, reason: string, durationMs: number }
    expect(ended).toMatchObject({ event: 'ended', callId, peer: 'bob', reason: 'hangup', message: 'call ended' })
    expect(ended.durationMs).toBeGreaterThanOrEqual(950)
    expect(ended.durationMs).toBeLessThan(5000)
    // The CLI hung up, by id.
    expect(api.invocations).toEqual(['placeCall bob', `hangup ${callId}`])
  })

  it('prints people\'s lines: ringing, connected via the relay, a stats line, call ended', async () => {
    api.statsEveryMs = 200
    const result = await cli('call', 'Bob', '--relay-only', '--duration', '0.5')
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines[0]).toBe('ringing bob...')
    expect(lines[1]).toBe('connected to bob via relay super1@127.0.0.1:7701 in 85 ms')
    expect(lines.slice(2, -1).length).toBeGreaterThanOrEqual(1)
    for (const line of lines.slice(2, -1)) expect(line).toBe('rtt 42 ms  jitter 3.1 ms  loss 0.5%  24 kbit/s  MOS 4.38')
    expect(lines.at(-1)).toBe('call ended after 0s')
    expect([...api.callOptions.values()]).toEqual([{ relayOnly: true }])
  })

  it('a declined call exits 1 with the message on stderr (and the ended line with --json)', async () => {
    api.callOutcomes.set('carol', 'declined')
    const human = await cli('call', 'carol')
    expect(human.code).toBe(1)
    expect(human.stdout).toBe('ringing carol...\n')
    expect(human.stderr).toBe('voxmesh: carol declined the call\n')
    const json = await cli('call', 'carol', '--json')
    expect(json.code).toBe(1)
    expect(json.stderr).toBe('voxmesh: carol declined the call\n')
    const lines = jsonLines(json.stdout)
    expect(lines.map(line => line.event)).toEqual(['ringing', 'ended'])
    expect(lines[1]).toMatchObject({ reason: 'declined', message: 'carol declined the call', durationMs: 0 })
    expect(lines[1]).not.toHaveProperty('cause')
  })

  it('catches an end that comes before the node answered POST /v1/calls (unreachable)', async () => {
    api.callOutcomes.set('dave', 'unreachable')
    const result = await cli('call', 'dave', '--json')
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('voxmesh: dave is offline or unreachable\n')
    expect(jsonLines(result.stdout)).toEqual([expect.objectContaining({ event: 'ended', reason: 'unreachable', peer: 'dave' })])
  })

  it('maps the node\'s other reasons onto the issue\'s, keeping the original as cause', async () => {
    api.callOutcomes.set('erin', 'not-allowed')
    const result = await cli('call', 'erin', '--json')
    expect(result.code).toBe(1)
    expect(jsonLines(result.stdout).at(-1)).toMatchObject({ event: 'ended', reason: 'declined', cause: 'not-allowed', message: 'erin only takes calls from contacts' })
    expect(result.stderr).toBe('voxmesh: erin only takes calls from contacts\n')
  })

  it('ignores events of other calls', async () => {
    api.callDelayMs = 300
    const proc = startCli(['call', 'bob', '--json', '--duration', '0.2', '--data-dir', dataDir])
    await waitUntil('the call to be placed', () => placed().length === 1, 15_000)
    const other = api.addIncomingCall('mallory')
    api.emitStats(other)
    expect(await exitCode(proc)).toBe(0)
    expect(proc.stdoutLines.map(line => JSON.parse(line).event)).toEqual(['ringing', 'connected', 'ended'])
    expect(proc.stdoutLines.join('\n')).not.toContain('mallory')
  })

  it('Ctrl-C hangs up a connected call and exits 0', async () => {
    const proc = startCli(['call', 'bob', '--json', '--data-dir', dataDir])
    await proc.waitForLine(/"event":"connected"/)
    expect(await proc.stop('SIGINT')).toBe(0)
    const lines = proc.stdoutLines.map(line => JSON.parse(line))
    expect(lines.at(-1)).toMatchObject({ event: 'ended', reason: 'hangup' })
    expect(api.invocations.at(-1)).toBe(`hangup ${lines[0].callId}`)
  })

  it('Ctrl-C while it rings cancels the call and exits 1', async () => {
    api.callOutcomes.set('bob', 'ring')
    const proc = startCli(['call', 'bob', '--data-dir', dataDir])
    await proc.waitForLine(/^ringing bob\.\.\.$/)
    expect(await proc.stop('SIGINT')).toBe(1)
    expect(proc.stderrLines).toEqual(['voxmesh: the call was cancelled before it was answered'])
    expect([...api.callOptions.keys()].map(id => api.call(id)?.state)).toEqual(['ended'])
  })

  it('sends absolute paths: --play and --record resolved against the CLI\'s working directory', async () => {
    const result = await cli('call', 'bob', '--play', 'sounds/hello.wav', '--record', '../out.wav', '--duration', '0.1')
    expect(result.code).toBe(0)
    expect([...api.callOptions.values()]).toEqual([{ play: resolve('sounds/hello.wav'), record: resolve('../out.wav') }])
    const toned = await cli('call', 'bob', '--tone', '440', '--duration', '0.1')
    expect(toned.code).toBe(0)
    expect([...api.callOptions.values()][1]).toEqual({ tone: 440 })
  })

  it('refuses --play with --tone, a tone out of range and a bad duration, without calling', async () => {
    const both = await cli('call', 'bob', '--play', 'a.wav', '--tone', '440')
    expect(both.code).not.toBe(0)
    expect(both.stderr).toMatch(/--tone.*cannot be used with.*--play|--play.*cannot be used with.*--tone/)
    const low = await cli('call', 'bob', '--tone', '10')
    expect(low.code).not.toBe(0)
    expect(low.stderr).toContain('expected a frequency from 20 to 20000 Hz')
    for (const duration of ['0', '-1', 'soon', '86401']) {
      const bad = await cli('call', 'bob', '--duration', duration)
      expect(bad.code, duration).not.toBe(0)
      expect(bad.stderr, duration).toContain('expected seconds')
    }
    expect(placed()).toEqual([])
  })

  it('exits 1 and says so when the node goes away in the middle of the call', async () => {
    const proc = startCli(['call', 'bob', '--data-dir', dataDir])
    await proc.waitForLine(/^connected to bob/)
    await closeAll()
    expect(await exitCode(proc)).toBe(1)
    expect(proc.stderrLines.join('\n')).toMatch(/^voxmesh: the node at http:\/\/127\.0\.0\.1:\d+ (closed|dropped) the event stream/)
  })

  it('prints the node\'s refusal and exits 1', async () => {
    const result = await cli('call', 'alice')
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('voxmesh: you cannot call yourself\n')
    expect(result.stdout).toBe('')
  })
})

describe('voxmesh answer, decline, hangup, mute, unmute, calls', () => {
  it('answers, mutes, lists and hangs up an incoming call', async () => {
    const callId = api.addIncomingCall('carol')
    const answered = await cli('answer', '--tone', '600')
    expect(answered.stderr).toBe('')
    expect(answered.stdout).toBe(`answered carol (id ${callId.slice(0, 8)})\n`)
    expect(api.callOptions.get(callId)).toEqual({ tone: 600 })
    await waitUntil('the call to connect', () => api.call(callId)?.state === 'connected', 5000)
    expect((await cli('mute')).stdout).toBe('muted\n')
    expect(api.call(callId)?.muted).toBe(true)
    api.emitStats(callId, { rttMs: 61.4, jitterMs: 2.25, lossPct: 1, mos: 4.1 })

    const listed = await cli('calls', '--json')
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ callId, direction: 'incoming', peer: 'carol', state: 'connected', muted: true })])
    const table = (await cli('calls')).stdout.trimEnd().split('\n')
    expect(table[0]).toMatch(/^ID\s+DIR\s+PEER\s+STATE\s+PATH\s+DURATION\s+SETUP\s+RTT\s+JITTER\s+LOSS\s+MOS$/)
    // This fake node reports no setup for its call: "-".
    expect(table[1]).toMatch(new RegExp(`^${callId.slice(0, 8)}\\s+incoming\\s+carol\\s+connected \\(muted\\)\\s+direct\\s+\\d+s\\s+-\\s+61 ms\\s+2\\.3 ms\\s+1\\.0%\\s+4\\.10$`))

    expect(JSON.parse((await cli('unmute', callId.slice(0, 8), '--json')).stdout)).toEqual({ muted: false })
    expect(api.call(callId)?.muted).toBe(false)
    expect((await cli('hangup', callId)).stdout).toBe('hung up\n')
    expect(api.call(callId)?.state).toBe('ended')
    expect(api.invocations.filter(c => c !== 'calls')).toEqual([
      'answerCall', 'setMuted true', `setMuted false ${callId.slice(0, 8)}`, `hangup ${callId}`
    ])
  })

  it('answer resolves --record against its working directory', async () => {
    const callId = api.addIncomingCall('carol')
    expect((await cli('answer', callId, '--record', 'carol.wav')).code).toBe(0)
    expect(api.callOptions.get(callId)).toEqual({ record: resolve('carol.wav') })
  })

  it('declines a ringing call by id prefix', async () => {
    const first = api.addIncomingCall('carol')
    const second = api.addIncomingCall('dave')
    const result = await cli('decline', second.slice(0, 8), '--json')
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({ status: 'declined' })
    expect(api.call(second)?.state).toBe('ended')
    expect(api.call(first)?.state).toBe('ringing')
  })

  it('exits 1 with the node\'s words when there is no call, and says "no calls" when there are none', async () => {
    for (const command of ['answer', 'decline', 'hangup', 'mute', 'unmute']) {
      const result = await cli(command)
      expect(result.code, command).toBe(1)
      expect(result.stderr, command).toBe('voxmesh: no call to act on\n')
    }
    expect((await cli('calls')).stdout).toBe('no calls\n')
    expect(JSON.parse((await cli('calls', '--json')).stdout)).toEqual([])
  })
})
