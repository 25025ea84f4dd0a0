// A node process's life, with real `voxmesh` processes: one node per data dir
// (a second one stops at once, naming the first; a dead node's lock is taken
// over), everything local checked before the login server is contacted, and a
// node that waits for a login server that is down says so, in `status` too.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, runCli, startCli, VOXMESH_BIN, type CliProcess } from '../helpers/processes.js'
import { freePort } from '../helpers/ports.js'
import { waitUntil } from '../helpers/wait.js'
import { startVoxmeshNet, TEST_PASSWORD } from '../helpers/voxmesh-net.js'

const env = { VOXMESH_PASSWORD: TEST_PASSWORD }
let net: Awaited<ReturnType<typeof startVoxmeshNet>>
const servers: Server[] = []

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['alice', 'bob', 'carol']) await net.createAccount(user)
}, 60_000)

afterEach(async () => {
  for (const server of servers.splice(0)) server.close()
})

afterAll(async () => {
  await killAll()
  net?.cleanup()
})

/** A loopback port something else already listens on. */
async function takenPort (): Promise<number> {
  const server = createServer()
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

/** The pid of a process that has exited. */
async function deadPid (): Promise<number> {
  const proc = startCli(['--version'])
  await proc.exited
  return proc.pid
}

const nodeArgs = (user: string, dataDir: string, loginServer: string, ...extra: string[]): string[] =>
  ['node', '--user', user, '--login-server', loginServer, '--data-dir', dataDir, '--json', ...extra]

/** A login server URL nothing answers at. */
const downLoginServer = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`

describe('one node per data dir', () => {
  it('a second node on a data dir in use exits at once, naming the first (pid, control API), and the first keeps working', async () => {
    const alice = await net.startNode('alice')
    const control = JSON.parse(readFileSync(join(alice.dataDir, 'control.json'), 'utf8')) as { url: string, pid: number }
    expect(control.pid).toBe(alice.proc.pid)

    const second = await runCli(nodeArgs('alice', alice.dataDir, net.url), env, 15_000)
    expect(second.code).toBe(1)
    expect(second.stderr).toBe(`voxmesh: another node is running on data dir ${alice.dataDir} (pid ${alice.proc.pid}, control API at ${control.url}); ` +
      `stop it first, or give this one another --data-dir. If no node runs there, delete ${join(alice.dataDir, 'node.lock')}.\n`)
    expect(second.stdout).toBe('')

    // The first one's control.json is untouched, and it answers.
    expect(JSON.parse(readFileSync(join(alice.dataDir, 'control.json'), 'utf8'))).toEqual(expect.objectContaining({ pid: alice.proc.pid, url: control.url }))
    const status = await alice.cli('status', '--json')
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ user: 'alice', presence: 'online' })
    expect(readFileSync(join(alice.dataDir, 'node.lock'), 'utf8')).toBe(`${alice.proc.pid}\n`)

    // Stopped, it leaves neither its lock nor its control.json.
    expect(await alice.proc.stop()).toBe(0)
    expect(existsSync(join(alice.dataDir, 'node.lock'))).toBe(false)
    expect(existsSync(join(alice.dataDir, 'control.json'))).toBe(false)
  }, 60_000)

  it('the lock of a node killed with SIGKILL is taken over by the next node, which says so', async () => {
    const first = await net.startNode('bob')
    await first.proc.stop('SIGKILL')
    expect(readFileSync(join(first.dataDir, 'node.lock'), 'utf8')).toBe(`${first.proc.pid}\n`)
    const next = await net.startNode('bob')
    expect(readFileSync(join(next.dataDir, 'node.lock'), 'utf8')).toBe(`${next.proc.pid}\n`)
    expect(next.proc.stderrLines.join('\n')).toContain(`took over ${join(next.dataDir, 'node.lock')} from pid ${first.proc.pid}, which is no longer running`)
    const status = await next.cli('status', '--json')
    expect(JSON.parse(status.stdout)).toMatchObject({ user: 'bob' })
    await next.proc.stop()
  }, 60_000)

  it.each([
    ['an empty data dir', undefined],
    ['a data dir whose lock names a dead node', 'stale']
  ])('of four nodes started at once on %s, one runs and three exit naming it', async (_case, lock) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'voxmesh-race-'))
    try {
      if (lock === 'stale') writeFileSync(join(dataDir, 'node.lock'), `${await deadPid()}\n`)
      const loginServer = await downLoginServer()
      const procs = Array.from({ length: 4 }, () => startCli(nodeArgs('carol', dataDir, loginServer), env))
      // Three exit; the one left waits for the login server.
      const exits = await waitUntil('three of four nodes to exit', () => {
        const done = procs.filter(p => !p.alive)
        return done.length >= 3 && done
      }, 20_000, 50)
      const [survivor] = procs.filter(p => !exits.includes(p)) as [CliProcess]
      for (const loser of exits) {
        expect(await loser.exited).toBe(1)
        expect(loser.stderr).toContain(`another node is running on data dir ${dataDir} (pid ${survivor.pid}`)
      }
      await survivor.waitForEvent(e => e.event === 'waiting')
      expect(survivor.alive).toBe(true)
      expect(readFileSync(join(dataDir, 'node.lock'), 'utf8')).toBe(`${survivor.pid}\n`)
      expect(await survivor.stop()).toBe(0)
      expect(existsSync(join(dataDir, 'node.lock'))).toBe(false)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 60_000)
})

describe('startup checks, before going online', () => {
  it('a node whose --control port is taken exits non-zero and never goes online', async () => {
    const port = await takenPort()
    const dataDir = join(net.root, 'control-taken')
    const result = await runCli(nodeArgs('alice', dataDir, net.url, '--control', `127.0.0.1:${port}`), env, 15_000)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`voxmesh: cannot listen for the control API on 127.0.0.1:${port}: the port is in use (EADDRINUSE)`)
    expect(result.stderr).not.toContain('logged in')
    expect(result.stdout).toBe('')
    expect(existsSync(join(dataDir, 'control.json'))).toBe(false)
    expect(existsSync(join(dataDir, 'node.lock'))).toBe(false)
  })

  it('a node whose --listen port is taken exits with one sentence saying so', async () => {
    const port = await takenPort()
    const result = await runCli(nodeArgs('alice', join(net.root, 'listen-taken'), net.url, '--listen', `127.0.0.1:${port}`), env, 15_000)
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`voxmesh: cannot listen on 127.0.0.1:${port}: address in use\n`)
    expect(existsSync(join(net.root, 'listen-taken', 'control.json'))).toBe(false)
  })

  it('an uncreatable --record-dir stops the node at startup with the reason', async () => {
    const file = join(net.root, 'a-file')
    writeFileSync(file, '')
    const result = await runCli(nodeArgs('alice', join(net.root, 'record-dir'), net.url, '--record-dir', join(file, 'calls')), env, 15_000)
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`voxmesh: --record-dir ${join(file, 'calls')} cannot be used: a part of the path is a file, not a folder\n`)
  })

  it('all three are checked before the login server is contacted (it is down here)', async () => {
    const loginServer = await downLoginServer()
    const file = join(net.root, 'another-file')
    writeFileSync(file, '')
    for (const extra of [['--control', `127.0.0.1:${await takenPort()}`], ['--listen', `127.0.0.1:${await takenPort()}`], ['--record-dir', join(file, 'x')]]) {
      const result = await runCli(nodeArgs('alice', join(net.root, 'checks'), loginServer, ...extra), env, 15_000)
      expect(result.code, extra.join(' ')).toBe(1)
      expect(result.stdout, extra.join(' ')).not.toContain('waiting')
    }
  }, 60_000)
})

describe('a login server that is down', () => {
  it('the node says it is waiting, status answers meanwhile, and the node comes up once the server does', async () => {
    // The login server's port stays taken (by a socket that drops every connection) until the server starts,
    // so no other process grabs it meanwhile.
    const holder = createServer(socket => { socket.destroy() })
    await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as { port: number }).port
    const url = `http://127.0.0.1:${port}`
    const dataDir = join(net.root, 'waiting')
    const node = startCli(nodeArgs('dave', dataDir, url), env)
    const waiting = await node.waitForEvent(e => e.event === 'waiting')
    expect(waiting.event).toMatchObject({ event: 'waiting', for: 'login-server', url, attempt: 1, reason: expect.stringContaining(`cannot reach the login server at ${url}`) })
    // Its log line says it in words too (a JSON line here: stderr is not a terminal).
    const sentence = new RegExp(`^waiting for the login server at ${url} \\(retrying in [\\d.]+ s\\): cannot reach the login server`)
    await waitUntil('the waiting log line', () => node.stderrLines.some(line => sentence.test((JSON.parse(line) as { msg: string }).msg)), 10_000)

    const status = await runCli(['status', '--data-dir', dataDir])
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toMatch(new RegExp(`^state +waiting for the login server at ${url} \\(retrying in [\\d.]+ s\\)$`, 'm'))
    expect(status.stdout).toMatch(/^presence +offline$/m)
    const contacts = await runCli(['contacts', '--data-dir', dataDir])
    expect(contacts.code).toBe(1)
    expect(contacts.stderr).toContain(`the node is not up yet: waiting for the login server at ${url}`)

    // The login server comes up, with dave's account (made beforehand on another port, so that no retry meets a
    // server without it): the next retry logs in.
    const loginDir = join(net.root, 'login-later')
    const loginArgs = ['--data-dir', loginDir, '--argon2-ops', '1', '--argon2-memory', '1', '--log-level', 'warn']
    const before = startCli(['login-server', '--listen', '127.0.0.1:0', ...loginArgs])
    const beforeUrl = (await before.waitForLine(/listening on (http:\/\/\S+)/))[1] as string
    expect((await runCli(['account', 'create', 'dave', '--login-server', beforeUrl], env)).code).toBe(0)
    await before.stop()
    await new Promise(resolve => holder.close(resolve))
    const login = startCli(['login-server', '--listen', `127.0.0.1:${port}`, ...loginArgs])
    await node.waitForEvent(e => e.event === 'ready', 45_000)
    const up = JSON.parse((await runCli(['status', '--json', '--data-dir', dataDir])).stdout) as Record<string, unknown>
    expect(up).toMatchObject({ user: 'dave' })
    expect(up.state).toBeUndefined()
    await node.stop()
    await login.stop()
  }, 90_000)

  it('stopping a node that waits for the login server exits 0 and leaves no lock or control.json', async () => {
    const dataDir = join(net.root, 'waiting-stopped')
    mkdirSync(dataDir, { recursive: true })
    const node = startCli(nodeArgs('erin', dataDir, await downLoginServer()), env)
    await node.waitForEvent(e => e.event === 'waiting')
    expect(existsSync(join(dataDir, 'control.json'))).toBe(true)
    expect(await node.stop('SIGINT')).toBe(0)
    expect(existsSync(join(dataDir, 'control.json'))).toBe(false)
    expect(existsSync(join(dataDir, 'node.lock'))).toBe(false)
  })
})

/** util-linux `script` runs a command on a pseudo-terminal (stdin, stdout and stderr all terminals). */
const hasScript = spawnSync('script', ['--version']).status === 0

describe('logs on a terminal', () => {
  it.runIf(hasScript)('are sentences, not JSON, in an interactive node', async () => {
    const dataDir = join(net.root, 'terminal')
    const command = [process.execPath, VOXMESH_BIN, ...nodeArgs('frank', dataDir, await downLoginServer()).filter(a => a !== '--json')]
      .map(arg => `'${arg}'`).join(' ')
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString() })
    try {
      const lines = (): string[] => text.split(/\r?\n/).filter(line => line.trim() !== '')
      await waitUntil(() => `a waiting line; got:\n${text}`, () => lines().some(line => line.includes('waiting for the login server')), 15_000, 50)
      for (const line of lines()) {
        expect(line).toMatch(/^\d\d:\d\d:\d\d warn {2}waiting for the login server at http:\/\/127\.0\.0\.1:\d+ \(retrying in [\d.]+ s\): /)
      }
    } finally {
      process.kill(-(child.pid as number), 'SIGKILL')
    }
  })
})
