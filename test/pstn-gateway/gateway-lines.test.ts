// The gateway's other behaviours, with real processes on a numbers file of the test's own: an
// announcement played then hung up, a line that answers after a ring, one nobody answers, the
// congestion of a full gateway (--max-lines), and two gateways where either one answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createToneSource, createWavFileSink, dominantFrequency, levelDbfs, readWavFile } from '../../node/index.js'
import { freePort } from '../helpers/ports.js'
import { killAll, runCli, startCli, type CliProcess } from '../helpers/processes.js'
import { startVoxmeshNet, type NodeProcess } from '../helpers/voxmesh-net.js'

const ANNOUNCEMENT = '+442079460410'
const ONE_RING = '+442079460301'
const NOBODY = '+442079460481'
const LONG_TONE = '+442079460101'

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let alice: NodeProcess, bob: NodeProcess
let token: string
let numbersFile: string

async function startGateway (name: string, ...args: string[]): Promise<CliProcess> {
  const proc = startCli(['pstn-gateway', '--login-server', net.url, '--data-dir', join(net.root, name), '--numbers', numbersFile, '--json', ...args], { VOXMESH_SERVICE_TOKEN: token })
  await proc.waitForLine(/PSTN gateway up as pstn/)
  return proc
}

/** 1.5 s of a 600 Hz "announcement", written as the node writes recordings. */
async function writeAnnouncement (file: string): Promise<void> {
  const sink = createWavFileSink(file)
  const tone = createToneSource({ frequency: 600, durationSeconds: 1.5 })
  for (let frame = tone.read(); frame !== null; frame = tone.read()) sink.write(frame)
  await sink.close()
}

let gateway: CliProcess
beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'alice', 'bob']) await net.createAccount(user)
  token = (await runCli(['login-server', 'add-service', 'pstn', '--data-dir', join(net.root, 'login')])).stdout.trim()
  for (const user of ['alice', 'bob']) await runCli(['login-server', 'credit', user, '1000', '--data-dir', join(net.root, 'login')])
  await writeAnnouncement(join(net.root, 'announcement.wav'))
  numbersFile = join(net.root, 'numbers.json')
  writeFileSync(numbersFile, JSON.stringify({
    numbers: [
      { number: ANNOUNCEMENT, behaviour: 'announcement', file: 'announcement.wav' },
      { number: ONE_RING, behaviour: 'answer-after', rings: 1 },
      { number: NOBODY, behaviour: 'no-answer', ringSeconds: 2 },
      { number: LONG_TONE, behaviour: 'tone', hz: 800 }
    ]
  }))
  await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`])
  alice = await net.startNode('alice', ['--role', 'host', '--no-shell'])
  bob = await net.startNode('bob', ['--role', 'host', '--no-shell'])
  gateway = await startGateway('gateway1', '--max-lines', '1')
  for (let i = 0; i < 40 && (await alice.cli('call', 'echo', '--duration', '0.2')).code !== 0; i++) await new Promise(resolve => setTimeout(resolve, 250))
}, 90_000)

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

async function call (who: NodeProcess, target: string, ...args: string[]): Promise<{ code: number | null, lines: Array<Record<string, unknown>>, seconds: number }> {
  const started = Date.now()
  const result = await runCli(['call', target, '--json', ...args, '--data-dir', who.dataDir], {}, 60_000)
  return { code: result.code, lines: result.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l) as Record<string, unknown>), seconds: (Date.now() - started) / 1000 }
}
const ended = (lines: Array<Record<string, unknown>>): Record<string, unknown> | undefined => lines.find(l => l.event === 'ended')

describe('the gateway\'s lines', () => {
  it('an announcement is played through the line, and the line hangs up at its end', async () => {
    const recording = join(net.root, 'heard-announcement.wav')
    const result = await call(alice, ANNOUNCEMENT, '--record', recording, '--duration', '10')
    expect(ended(result.lines)).toMatchObject({ reason: 'hangup' })
    expect(result.seconds).toBeLessThan(8)
    const wav = readWavFile(recording)
    const middle = wav.samples.subarray(wav.sampleRate / 2, wav.sampleRate * 1.5)
    expect(Math.abs(dominantFrequency(middle, wav.sampleRate) - 600)).toBeLessThanOrEqual(3)
    expect(levelDbfs(middle)).toBeGreaterThan(-30)
  })

  it('a line that answers after one ring rings about 3 s first', async () => {
    const result = await call(alice, ONE_RING, '--duration', '1')
    expect(result.lines.map(l => l.event)).toEqual(expect.arrayContaining(['ringing', 'connected', 'ended']))
    expect(result.code).toBe(0)
    expect(result.seconds).toBeGreaterThan(3.5)
  })

  it('a line nobody answers ends as no-answer after its ring time', async () => {
    const result = await call(alice, NOBODY)
    expect(ended(result.lines)).toMatchObject({ reason: 'no-answer', message: `${NOBODY} did not answer` })
    expect(result.seconds).toBeGreaterThan(1.5)
  })

  it('a full gateway refuses the next call as congestion and keeps the call it has', async () => {
    const first = call(alice, LONG_TONE, '--duration', '4')
    await new Promise(resolve => setTimeout(resolve, 1500))
    const second = await call(bob, LONG_TONE, '--duration', '1')
    expect(ended(second.lines)).toMatchObject({ reason: 'congestion', message: `all lines are busy; call ${LONG_TONE} again later` })
    const kept = await first
    expect(kept.code).toBe(0)
    expect(ended(kept.lines)).toMatchObject({ reason: 'hangup' })
  })

  it('with two gateways, a call is answered by one that is up, also after the other is killed', async () => {
    const second = await startGateway('gateway2')
    const both = await call(alice, 'echo', '--duration', '1')
    expect(both.code).toBe(0)
    gateway.child.kill('SIGKILL')
    await new Promise(resolve => gateway.child.once('exit', resolve))
    // The killed gateway's locator goes with its supernode's link: the call rings the one left.
    let after: Awaited<ReturnType<typeof call>> | undefined
    for (let i = 0; i < 20; i++) {
      after = await call(bob, 'echo', '--duration', '1')
      if (after.code === 0) break
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    expect(after?.code).toBe(0)
    expect(second.stderrLines.some(line => line.includes('bob dials echo'))).toBe(true)
  })
})
