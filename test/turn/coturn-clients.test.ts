// Our STUN/TURN server against standard clients: the ones in Debian's coturn package.
// Nothing is skipped: without the binaries every test here fails and says how to get them
// (CI installs coturn in .ci/run).
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { issueTurnCredentials } from '../../node/relay/credentials.js'
import { startTurnServer, type RunningTurnServer } from '../../node/relay/udp/udp-turn-server.js'

const SECRET = 'coturn-interop-secret'
const REALM = 'sn.voxmesh.test'
const children = new Set<ChildProcess>()
const servers: RunningTurnServer[] = []

function binary (name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']
  for (const dir of dirs) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch { /* not here */ }
  }
  throw new Error(`${name} not found on PATH: these tests need the STUN/TURN clients of Debian's coturn package (apt-get install -y coturn; .ci/run installs it)`)
}

interface Run { code: number | null, signal: NodeJS.Signals | null, output: string }

/** Runs a client to completion (SIGKILL after `timeoutMs`); afterEach kills it if the test ends first. */
function run (name: string, args: string[], timeoutMs = 25_000): Promise<Run> {
  const child = spawn(binary(name), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.once('error', error => { clearTimeout(timer); children.delete(child); reject(error) })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, signal, output })
    })
  })
}

async function start (): Promise<RunningTurnServer> {
  const server = await startTurnServer({
    listen: '127.0.0.1:0',
    relayHost: '127.0.0.1',
    realm: REALM,
    secret: SECRET,
    // uclient makes a probe allocation per session and RTP/RTCP pairs: room for all of them.
    quotas: { maxAllocationsPerUser: 64, maxAllocationsPerAddress: 64 },
    // loopback peers: the lab flag.
    allowPrivatePeers: true
  })
  servers.push(server)
  return server
}

/** uclient's closing totals. */
function totals (output: string): { sent: number, received: number, sentBytes: number, receivedBytes: number, lost: number } {
  const messages = [...output.matchAll(/start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/g)].at(-1)
  const bytes = [...output.matchAll(/start_mclient: tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)/g)].at(-1)
  const lost = /Total lost packets (\d+)/.exec(output)
  if (messages === undefined || bytes === undefined || lost === null) throw new Error(`no totals in uclient output:\n${output.slice(-2000)}`)
  return { sent: Number(messages[1]), received: Number(messages[2]), sentBytes: Number(bytes[1]), receivedBytes: Number(bytes[2]), lost: Number(lost[1]) }
}

afterEach(async () => {
  await Promise.all([...children].map(child => new Promise<void>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
    child.once('close', () => { resolve() })
    child.kill('SIGKILL')
  })))
  children.clear()
  await Promise.all(servers.splice(0).map(async server => { await server.close() }))
})

describe('standard STUN/TURN clients (coturn)', () => {
  it('the coturn client binaries are installed', () => {
    expect(binary('turnutils_stunclient')).toMatch(/turnutils_stunclient$/)
    expect(binary('turnutils_uclient')).toMatch(/turnutils_uclient$/)
  })

  it('turnutils_stunclient gets its mapped address', async () => {
    const server = await start()
    const result = await run('turnutils_stunclient', ['-p', String(server.port), '127.0.0.1'])
    expect(result.code, result.output).toBe(0)
    expect(result.output).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/)
    expect(server.stats().bindingRequests).toBeGreaterThanOrEqual(1)
  })

  it('turnutils_uclient relays client-to-client over channels, and our counters count exactly what it sent and received', async () => {
    const server = await start()
    const { username, password } = issueTurnCredentials(SECRET, 'alice', 600, Date.now())
    const result = await run('turnutils_uclient', ['-y', '-c', '-m', '2', '-n', '20', '-l', '170', '-u', username, '-w', password, '-p', String(server.port), '127.0.0.1'])
    expect(result.code, result.output).toBe(0)
    const client = totals(result.output)
    expect(client).toEqual({ sent: 40, received: 40, sentBytes: 6800, receivedBytes: 6800, lost: 0 })

    const stats = server.stats()
    // Every message went client → relay → relay → client through our sockets: counted once leaving
    // one allocation towards its peer (the other relay) and once arriving at the other.
    expect(stats.toPeer).toEqual({ packets: client.sent, bytes: client.sentBytes })
    expect(stats.fromPeer).toEqual({ packets: client.received, bytes: client.receivedBytes })
    // A probe allocation, then one per session (uclient pairs its 2 clients' sessions); it deletes
    // the session allocations at the end (Refresh with LIFETIME 0) and leaves the probe to expire.
    expect(stats.allocationsCreated).toBeGreaterThanOrEqual(3)
    expect(stats.allocationsDeleted).toBeGreaterThanOrEqual(2)
    expect(Object.keys(stats.errorResponses)).toEqual(['401']) // only the challenges before each Allocate
    expect(stats.dropped).toMatchObject({ malformed: 0, 'no-permission': 0, 'no-channel': 0, 'rate-limited': 0 })
  })

  it('turnutils_uclient with Send indications and RTP/RTCP pairs (EVEN-PORT + RESERVATION-TOKEN)', async () => {
    const server = await start()
    const { username, password } = issueTurnCredentials(SECRET, 'bob', 600, Date.now())
    const result = await run('turnutils_uclient', ['-y', '-s', '-m', '2', '-n', '10', '-l', '120', '-u', username, '-w', password, '-p', String(server.port), '127.0.0.1'])
    expect(result.code, result.output).toBe(0)
    const client = totals(result.output)
    expect(client.lost).toBe(0)
    expect(client.sent).toBeGreaterThan(0)
    const stats = server.stats()
    expect(stats.toPeer).toEqual({ packets: client.sent, bytes: client.sentBytes })
    expect(stats.fromPeer).toEqual({ packets: client.received, bytes: client.receivedBytes })
    expect(Object.keys(stats.errorResponses)).toEqual(['401'])
  })

  it('turnutils_uclient with a wrong password fails to allocate, and the server keeps serving', async () => {
    const server = await start()
    const { username } = issueTurnCredentials(SECRET, 'mallory', 600, Date.now())
    const result = await run('turnutils_uclient', ['-y', '-c', '-m', '1', '-n', '5', '-u', username, '-w', 'not-the-password', '-p', String(server.port), '127.0.0.1'])
    expect(result.code).not.toBe(0)
    expect(result.output).toMatch(/Cannot complete Allocation/)
    const stats = server.stats()
    expect(stats.allocationsCreated).toBe(0)
    expect(stats.errorResponses[401]).toBeGreaterThan(1)
    expect(stats.toPeer.packets + stats.fromPeer.packets).toBe(0)

    const probe = await run('turnutils_stunclient', ['-p', String(server.port), '127.0.0.1'])
    expect(probe.output).toMatch(/UDP reflexive addr/)
  })

  it('turnutils_uclient with expired credentials fails to allocate', async () => {
    const server = await start()
    const { username, password } = issueTurnCredentials(SECRET, 'carol', 1, Date.now() - 10_000)
    const result = await run('turnutils_uclient', ['-y', '-c', '-m', '1', '-n', '5', '-u', username, '-w', password, '-p', String(server.port), '127.0.0.1'])
    expect(result.code).not.toBe(0)
    expect(result.output).toMatch(/Cannot complete Allocation/)
    expect(server.stats().allocationsCreated).toBe(0)
  })
})
