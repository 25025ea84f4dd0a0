// Money across failures, with real processes on loopback: a call cut when its credit runs out, and
// a call's charge recorded exactly once when the gateway is killed, or the login server stopped, in
// the middle of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { freePort } from '../helpers/ports.js'
import { killAll, runCli, startCli, type CliProcess } from '../helpers/processes.js'
import { startVoxmeshNet, type NodeProcess } from '../helpers/voxmesh-net.js'

const TONE_NUMBER = '+442079460100' // 2 cents a started minute

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let alice: NodeProcess, dave: NodeProcess
let gateway: CliProcess
let token: string
const loginDir = (): string => join(net.root, 'login')

const startGateway = async (): Promise<CliProcess> => {
  const proc = startCli(['pstn-gateway', '--login-server', net.url, '--data-dir', join(net.root, 'gateway'), '--json'], { VOXMESH_SERVICE_TOKEN: token })
  await proc.waitForLine(/PSTN gateway up as pstn/)
  return proc
}

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'alice', 'dave']) await net.createAccount(user)
  token = (await runCli(['login-server', 'add-service', 'pstn', '--data-dir', loginDir()])).stdout.trim()
  await runCli(['login-server', 'credit', 'alice', '100', '--data-dir', loginDir()])
  await runCli(['login-server', 'credit', 'dave', '3', '--data-dir', loginDir()])
  await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`])
  alice = await net.startNode('alice', ['--role', 'host', '--no-shell'])
  dave = await net.startNode('dave', ['--role', 'host', '--no-shell'])
  gateway = await startGateway()
  for (let i = 0; i < 40 && (await alice.cli('call', 'echo', '--duration', '0.2')).code !== 0; i++) await new Promise(resolve => setTimeout(resolve, 250))
}, 90_000)

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

async function balanceOf (who: NodeProcess): Promise<number> {
  return (JSON.parse((await who.cli('balance', '--json')).stdout) as { balance: number }).balance
}

/** The ledger's charge lines for one user, straight from the login server's file. */
function chargesOf (user: string): Array<{ amount: number, call_id: string }> {
  const db = new Database(join(loginDir(), 'login.sqlite'), { readonly: true })
  try {
    return db.prepare("SELECT amount, call_id FROM credit_entries WHERE username = ? AND kind = 'charge' ORDER BY id").all(user) as Array<{ amount: number, call_id: string }>
  } finally { db.close() }
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

describe('billing', () => {
  it('cuts a connected call when its credit runs out, saying so, and charges what it paid for', async () => {
    // 3 cents at 2 a minute: one minute, then the gateway hangs up.
    const started = Date.now()
    const result = await runCli(['call', TONE_NUMBER, '--duration', '120', '--json', '--data-dir', dave.dataDir], {}, 130_000)
    const seconds = (Date.now() - started) / 1000
    const ended = result.stdout.trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>).find(l => l.event === 'ended')
    expect(ended).toMatchObject({ reason: 'payment-required', message: `not enough credit to call ${TONE_NUMBER} (voxmesh balance shows yours)` })
    expect(seconds).toBeGreaterThan(59)
    expect(seconds).toBeLessThan(100)
    await until('dave charged', async () => await balanceOf(dave) === 1)
    expect(chargesOf('dave').map(c => c.amount)).toEqual([-2])
  }, 150_000)

  it('a gateway killed mid-call charges the call once, when it starts again', async () => {
    const before = await balanceOf(alice)
    const calling = alice.cli('call', TONE_NUMBER, '--duration', '6', '--json')
    await until('the call connected at the gateway', async () => gateway.stderrLines.some(line => line.includes('dials') && line.includes(TONE_NUMBER)), 20_000)
    await new Promise(resolve => setTimeout(resolve, 3000))
    gateway.child.kill('SIGKILL')
    await new Promise(resolve => gateway.child.once('exit', resolve))
    gateway = await startGateway()
    await calling
    await until('alice charged after the restart', async () => await balanceOf(alice) === before - 2)
    // And only once: more calls end, the charge is not repeated.
    await alice.cli('call', 'echo', '--duration', '0.5')
    await new Promise(resolve => setTimeout(resolve, 1000))
    expect(await balanceOf(alice)).toBe(before - 2)
    expect(new Set(chargesOf('alice').map(c => c.call_id)).size).toBe(chargesOf('alice').length)
  }, 120_000)

  it('a login server stopped mid-call: the charge waits, and is recorded once when it is back', async () => {
    const before = await balanceOf(alice)
    const charges = chargesOf('alice').length
    const calling = alice.cli('call', TONE_NUMBER, '--duration', '4', '--json')
    await new Promise(resolve => setTimeout(resolve, 2000))
    await net.stopLogin()
    const result = await calling
    expect(result.code, result.stderr).toBe(0)
    await new Promise(resolve => setTimeout(resolve, 1000))
    await net.startLoginAgain()
    // The next call's end (or the gateway's retry) sends the charge that waited.
    await until('alice charged after the login server came back', async () => {
      await alice.cli('call', 'echo', '--duration', '0.3')
      return await balanceOf(alice) === before - 2
    })
    expect(chargesOf('alice').length).toBe(charges + 1)
  }, 120_000)
})
