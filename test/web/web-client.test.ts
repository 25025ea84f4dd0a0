/// <reference lib="dom" />
// The web client in a real browser: Debian's Chromium, headless, driven by playwright-core, with a
// fake microphone playing a WAV tone. alice's node serves the page (`--web`); bob and carol are
// CLI nodes. The page is signed in with the link `voxmesh open` prints, sees presence change,
// sends and receives messages, and is the phone of calls both ways: the browser's tone must be in
// bob's recording, and carol's tone in what the browser plays (measured in the page with WebAudio).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { encodeWav, readWavFile } from '../../node/media/audio/wav.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { killAll, runCli, startCli } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet, TEST_PASSWORD, type NodeProcess } from '../helpers/voxmesh-net.js'
import { makeContacts } from '../calls/attack-kit.js'

/** What the browser's fake microphone plays, and what carol's node sends. */
const MIC_HZ = 660
const CAROL_HZ = 880
/** A line of the PSTN gateway that answers with a tone. */
const PHONE_NUMBER = '+442079460101'
const PHONE_HZ = 800
const CHROMIUM = process.env.VOXMESH_CHROMIUM ?? '/usr/bin/chromium'
/** Kept after the run: the README's picture of a call. */
const SCREENSHOT = join(process.cwd(), 'test-artifacts', 'web-client-call.png')

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let alice: NodeProcess, bob: NodeProcess, carol: NodeProcess
let browser: Browser | undefined
let page: Page
let recordings: string

/** A mono 48 kHz tone file, as Chromium's fake capture device reads it (it loops the file). */
function toneWav (path: string, hz: number, seconds: number): void {
  const samples = new Float32Array(48_000 * seconds)
  for (let i = 0; i < samples.length; i++) samples[i] = 0.5 * Math.sin(2 * Math.PI * hz * i / 48_000)
  writeFileSync(path, encodeWav([samples], { sampleRate: 48_000, format: 'pcm', bitsPerSample: 16 }))
}

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'alice', 'bob', 'carol', 'dave']) await net.createAccount(user)
  await makeContacts(net.url, TEST_PASSWORD, [['alice', 'bob'], ['alice', 'carol']])
  recordings = join(net.root, 'recordings')
  await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--relay-allow-private'])
  // alice may serve as a supernode when she switches it on in the page: she has an address.
  alice = await net.startNode('alice', ['--role', 'host', '--no-shell', '--web', '--listen', `127.0.0.1:${await freePort()}`, '--relay-allow-private'])
  // bob answers by himself, records what he hears, and sends a tone of his own (a call's figures show real audio).
  bob = await net.startNode('bob', ['--role', 'host', '--no-shell', '--auto-answer', '--record-dir', recordings, '--tone', '440'])
  carol = await net.startNode('carol', ['--role', 'host', '--no-shell'])
  for (const user of ['bob', 'carol']) await alice.waitForEvent(e => e.event === 'presence' && e.user === user && e.status === 'online', 20_000)

  const mic = join(net.root, 'mic.wav')
  toneWav(mic, MIC_HZ, 10)
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${mic}`,
      // The nodes' ICE candidates are on loopback, which Chromium leaves out unless told.
      '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required'
    ]
  })
  page = await browser.newPage()
  page.on('console', message => { if (message.type() === 'error') console.log(`page error: ${message.text()}`) })
  const link = JSON.parse((await alice.cli('open', '--json')).stdout) as { url: string }
  await page.goto(link.url)
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await killAll()
  net?.cleanup()
})

/** In the page: the loudest frequency its <audio> plays over two seconds, through a WebAudio analyser. */
async function peakOfSpeaker (): Promise<{ hz: number, db: number }> {
  const speaker = document.getElementById('speaker') as HTMLAudioElement
  const context = new AudioContext({ sampleRate: 48_000 })
  const analyser = context.createAnalyser()
  analyser.fftSize = 8192
  context.createMediaStreamSource(speaker.srcObject as MediaStream).connect(analyser)
  await new Promise(resolve => setTimeout(resolve, 2000))
  const bins = new Float32Array(analyser.frequencyBinCount)
  analyser.getFloatFrequencyData(bins)
  let peak = 0
  for (let i = 1; i < bins.length; i++) if ((bins[i] as number) > (bins[peak] as number)) peak = i
  await context.close()
  return { hz: peak * 48_000 / analyser.fftSize, db: bins[peak] as number }
}

const contact = (user: string): string => `#contacts li[data-user="${user}"]`

describe('the page signed in with the link of `voxmesh open`', () => {
  it('shows its user, drops the login token from the address, and refuses the same link again', async () => {
    expect(await page.textContent('[data-testid=me]')).toBe('alice')
    expect(page.url()).not.toContain('login=')
    const link = JSON.parse((await alice.cli('open', '--json')).stdout) as { url: string }
    const other = await browser!.newPage()
    await other.goto(link.url)
    await other.waitForSelector('body[data-ready="true"]')
    const again = await browser!.newContext().then(async context => await context.newPage())
    await again.goto(link.url)
    await again.waitForSelector('#notice:not([hidden])')
    expect(await again.textContent('#notice')).toMatch(/used up or expired/)
    await other.close()
    await again.close()
  })

  it('shows a contact going online and away as their node changes status', async () => {
    await page.waitForSelector(`${contact('carol')}[data-status="online"]`)
    expect((await carol.cli('presence', 'away')).code).toBe(0)
    await page.waitForSelector(`${contact('carol')}[data-status="away"]`, { timeout: 15_000 })
    expect((await carol.cli('presence', 'online')).code).toBe(0)
    await page.waitForSelector(`${contact('carol')}[data-status="online"]`, { timeout: 15_000 })
  })

  it('sends a message that arrives at a CLI node, and shows the answer', async () => {
    await page.click(`${contact('bob')} .name`)
    await page.fill('#send input[name=text]', 'hello bob, from the browser')
    await page.click('#send button')
    const got = await bob.waitForEvent(e => e.event === 'message' && e.from === 'alice', 15_000)
    expect(got.text).toBe('hello bob, from the browser')
    await page.waitForSelector('#messages li.out[data-state="delivered"]', { timeout: 15_000 })
    expect((await bob.cli('msg', 'alice', 'hi alice, from the terminal')).code).toBe(0)
    await page.waitForSelector('#messages li.in:has-text("hi alice, from the terminal")', { timeout: 15_000 })
  })
})

describe('the browser is the phone', () => {
  it('calls a CLI node, which records the browser\'s microphone', async () => {
    const from = bob.events().length
    await page.click(`${contact('bob')} button:has-text("call")`)
    await page.waitForSelector('[data-testid=call-state]:has-text("connected")', { timeout: 20_000 }).catch(err => { console.log(`alice's log:\n${alice.proc.stderrLines.join('\n')}\nbob's events: ${JSON.stringify(bob.events())}`); throw err })
    const connected = await bob.waitForEvent(e => e.event === 'call-connected' && e.peer === 'alice', 5000, from)
    expect(['direct', 'relay']).toContain(connected.path)
    // A few seconds of audio, and the graph's first points (one a second).
    await page.waitForSelector('#call-figures dd[data-figure="MOS"]', { timeout: 10_000 })
    await new Promise(resolve => setTimeout(resolve, 3000))
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    const mos = Number(await page.textContent('#call-figures dd[data-figure="MOS"]'))
    expect(mos).toBeGreaterThanOrEqual(1)
    expect(mos).toBeLessThanOrEqual(4.5)
    // The node lists the page's call with the page's figures; the media is the page's, so no setup timeline of ours.
    const listed = await alice.cli('calls', '--json')
    expect(listed.code, listed.stderr).toBe(0)
    const calls = JSON.parse(listed.stdout) as Array<{ peer: string, state: string, stats?: { mos: number }, setup?: unknown }>
    expect(calls.find(c => c.peer === 'bob')).toMatchObject({ state: 'connected', stats: { mos: expect.any(Number) as number } })
    expect(calls.find(c => c.peer === 'bob')?.setup).toBeUndefined()
    await page.click('#hangup')
    const ended = await bob.waitForEvent(e => e.event === 'call-ended' && e.peer === 'alice', 15_000, from)
    expect(ended.reason).toBe('hangup')
    const recording = ended.recording as string
    expect(readdirSync(recordings)).toContain(recording.split('/').pop())
    const wav = readWavFile(recording)
    expect(wav.durationSeconds).toBeGreaterThan(2.5)
    // The last two seconds: past any start-up silence.
    const steady = wav.samples.subarray(wav.samples.length - 2 * wav.sampleRate)
    expect(Math.abs(dominantFrequency(steady, wav.sampleRate) - MIC_HZ)).toBeLessThan(5)
    // Chromium's capture processing and Opus take some level off the -6 dBFS tone; silence is below -60.
    expect(levelDbfs(steady)).toBeGreaterThan(-40)
  })

  it('calls a phone number through the PSTN gateway and plays the line\'s tone', async () => {
    const token = (await runCli(['login-server', 'add-service', 'pstn', '--data-dir', join(net.root, 'login')])).stdout.trim()
    expect((await runCli(['login-server', 'credit', 'alice', '100', '--data-dir', join(net.root, 'login')])).code).toBe(0)
    const numbers = join(net.root, 'numbers.json')
    writeFileSync(numbers, JSON.stringify({ numbers: [{ number: PHONE_NUMBER, behaviour: 'tone', hz: PHONE_HZ }] }))
    const gateway = startCli(['pstn-gateway', '--login-server', net.url, '--data-dir', join(net.root, 'gateway'), '--numbers', numbers, '--json'], { VOXMESH_SERVICE_TOKEN: token })
    await gateway.waitForLine(/PSTN gateway up as pstn/)
    // The gateway is reachable once a call from alice's node to its echo line goes through (as in the gateway's own tests).
    for (let i = 0; i < 40 && (await alice.cli('call', 'echo', '--duration', '0.2')).code !== 0; i++) await new Promise(resolve => setTimeout(resolve, 250))
    await page.fill('#dial input[name=number]', PHONE_NUMBER)
    await page.click('#dial button')
    await page.waitForSelector('[data-testid=call-state]:has-text("connected")', { timeout: 20_000 })
    expect(await page.textContent('#call-title')).toBe(`Call to ${PHONE_NUMBER}`)
    const heard = await page.evaluate(peakOfSpeaker)
    expect(Math.abs(heard.hz - PHONE_HZ)).toBeLessThan(12)
    expect(heard.db).toBeGreaterThan(-50)
    await page.click('#hangup')
    await page.waitForSelector('[data-testid=call-state]:has-text("call ended")', { timeout: 10_000 })
  }, 60_000)

  it('answers a call from a CLI node and plays its tone', async () => {
    const call = startCli(['call', 'alice', '--tone', String(CAROL_HZ), '--data-dir', carol.dataDir])
    await page.waitForSelector('#answer:not([hidden])', { timeout: 15_000 })
    expect(await page.textContent('#call-title')).toBe('Call from carol')
    await page.click('#answer')
    await call.waitForLine(/^connected to alice/)
    await page.waitForSelector('[data-testid=call-state]:has-text("connected")', { timeout: 10_000 })
    const heard = await page.evaluate(peakOfSpeaker)
    expect(Math.abs(heard.hz - CAROL_HZ)).toBeLessThan(12)
    expect(heard.db).toBeGreaterThan(-50)
    await page.click('#hangup')
    // The other side hung up: for carol's `voxmesh call` that is a call that ended well.
    expect(await call.exited).toBe(0)
  })
})

describe('what a user does from the page alone', () => {
  it('signs in to a node started without a password, after a wrong one is refused', async () => {
    const dataDir = join(net.root, 'dave')
    // No password anywhere: the node waits for the page.
    const dave = startCli(['node', '--user', 'dave', '--login-server', net.url, '--data-dir', dataDir, '--json', '--role', 'host', '--no-shell', '--web'], { VOXMESH_PASSWORD: '' })
    await dave.waitForLine(/"for":"sign-in"/)
    const link = JSON.parse((await runCli(['open', '--data-dir', dataDir, '--json'])).stdout) as { url: string }
    const davePage = await browser!.newPage()
    await davePage.goto(link.url)
    await davePage.waitForSelector('#sign-in:not([hidden])')
    expect(await davePage.textContent('#sign-in-title')).toBe('Sign in as dave')
    await davePage.fill('#sign-in-form input[name=password]', 'not the password')
    await davePage.click('#sign-in-form button')
    await davePage.waitForSelector('#notice:not([hidden])')
    expect(await davePage.textContent('#notice')).toMatch(/login refused: wrong username or password/)
    expect(await davePage.isHidden('main')).toBe(true)
    await davePage.fill('#sign-in-form input[name=password]', TEST_PASSWORD)
    await davePage.click('#sign-in-form button')
    await davePage.waitForSelector('body[data-ready="true"]', { timeout: 20_000 })
    expect(await davePage.textContent('[data-testid=me]')).toBe('dave')
    await dave.waitForLine(/"event":"ready"/)
    const status = JSON.parse((await runCli(['status', '--data-dir', dataDir, '--json'])).stdout) as { presence: string, supernode: unknown }
    expect(status.presence).toBe('online')
    expect(status.supernode).not.toBeNull()
    await davePage.close()
  })

  it('switches the node to a supernode in its settings, and back', async () => {
    await page.check('[data-testid=supernode]')
    await page.waitForSelector('[data-testid=role]:has-text("supernode")', { timeout: 20_000 })
    // It serves: the status shows its relay's counters, which only a supernode has.
    const serving = JSON.parse((await alice.cli('status', '--json')).stdout) as { role: string, relay: unknown }
    expect(serving.role).toBe('supernode')
    expect(serving.relay).not.toBeNull()
    await page.uncheck('[data-testid=supernode]')
    await page.waitForSelector('[data-testid=role]:has-text("host")', { timeout: 20_000 })
    const hosting = JSON.parse((await alice.cli('status', '--json')).stdout) as { role: string, relay: unknown }
    expect(hosting).toMatchObject({ role: 'host', relay: null })
    expect(alice.events().filter(e => e.event === 'role').map(e => [e.role, e.reason])).toEqual([
      ['supernode', 'switched on by the user'], ['host', 'switched off by the user']
    ])
  })
})
