// Calls without surprises, with real `voxmesh` processes on loopback: every file a call names is
// checked before the callee rings (and the reason said), a call to someone who is not a contact
// says so, and a node stopped with Ctrl-C or quit in the middle of a call hangs up first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { killAll, startCli, VOXMESH_BIN } from '../helpers/processes.js'
import { waitUntil } from '../helpers/wait.js'
import { freePort } from '../helpers/ports.js'
import { startVoxmeshNet, TEST_PASSWORD, type NodeProcess } from '../helpers/voxmesh-net.js'
import { makeContacts } from './attack-kit.js'

let net: Awaited<ReturnType<typeof startVoxmeshNet>>
let super1: NodeProcess, alice: NodeProcess, bob: NodeProcess, carol: NodeProcess
/** super2's node in a shell on a terminal (`script`), started by its test. */
let shell: ChildProcess | undefined
let files: string
let recordings: string

const incomingCalls = (node: NodeProcess): unknown[] => node.events().filter(e => e.event === 'call-incoming')

beforeAll(async () => {
  net = await startVoxmeshNet()
  for (const user of ['super1', 'super2', 'alice', 'bob', 'carol']) await net.createAccount(user)
  await makeContacts(net.url, TEST_PASSWORD, [['alice', 'bob'], ['alice', 'carol'], ['super1', 'bob'], ['super2', 'bob']])
  files = join(net.root, 'files')
  recordings = join(net.root, 'recordings')
  mkdirSync(files)
  super1 = await net.startNode('super1', ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`])
  alice = await net.startNode('alice', ['--role', 'host', '--no-shell'])
  // Bob answers by himself and records every call: a call that rang him would leave a trace.
  bob = await net.startNode('bob', ['--role', 'host', '--no-shell', '--auto-answer', '--record-dir', recordings])
  carol = await net.startNode('carol', ['--role', 'host', '--no-shell'])
  for (const user of ['bob', 'carol']) await alice.waitForEvent(e => e.event === 'presence' && e.user === user && e.status === 'online', 20_000)
}, 60_000)

afterAll(async () => {
  shell?.kill('SIGKILL')
  await killAll()
  net?.cleanup()
})

describe('files a call names are checked before the callee rings', () => {
  it('refuses --play of a missing file, of a file that is not WAV, and --record into a missing folder, with the reason', async () => {
    const notes = join(files, 'notes.txt')
    writeFileSync(notes, 'hello, this is not audio\n')
    const cases: Array<[string[], string]> = [
      [['--play', join(files, 'missing.wav')], `no such file: ${join(files, 'missing.wav')}`],
      [['--play', notes], `not a WAV file: ${notes}`],
      [['--tone', '440', '--record', join(files, 'nope', 'out.wav')], `no such folder: ${join(files, 'nope')}`]
    ]
    for (const [args, reason] of cases) {
      const result = await alice.cli('call', 'bob', ...args)
      expect(result.stderr, args.join(' ')).toBe(`voxmesh: ${reason}\n`)
      expect(result.code, args.join(' ')).toBe(1)
      expect(result.stdout, args.join(' ')).toBe('')
    }
    // Nothing reached bob: no ring, and so no recording either (empty or not).
    expect(incomingCalls(bob)).toEqual([])
    expect(existsSync(recordings) ? readdirSync(recordings) : []).toEqual([])
  })

  it('--record refuses an existing file unless --overwrite', async () => {
    const existing = join(files, 'existing.wav')
    writeFileSync(existing, 'keep me')
    const refused = await alice.cli('call', 'bob', '--tone', '440', '--record', existing)
    expect(refused.stderr).toBe(`voxmesh: file exists: ${existing} (--overwrite replaces it)\n`)
    expect(refused.code).toBe(1)
    expect(incomingCalls(bob)).toEqual([])
    const replaced = await alice.cli('call', 'bob', '--tone', '440', '--record', existing, '--overwrite', '--duration', '1')
    expect(replaced.stderr).toBe('')
    expect(replaced.code).toBe(0)
    expect(incomingCalls(bob)).toHaveLength(1)
  })

  it('answer checks its --play and --record the same way, and the call keeps ringing', async () => {
    const ringing = startCli(['call', 'carol', '--tone', '440', '--data-dir', alice.dataDir])
    await ringing.waitForLine(/^ringing carol\.\.\.$/)
    const missing = join(files, 'missing-too.wav')
    const refused = await carol.cli('answer', '--play', missing)
    expect(refused.stderr).toBe(`voxmesh: no such file: ${missing}\n`)
    expect(refused.code).toBe(1)
    const noFolder = await carol.cli('answer', '--record', join(files, 'gone', 'x.wav'))
    expect(noFolder.stderr).toBe(`voxmesh: no such folder: ${join(files, 'gone')}\n`)
    const calls = JSON.parse((await carol.cli('calls', '--json')).stdout) as Array<{ state: string, peer: string }>
    expect(calls).toEqual([expect.objectContaining({ peer: 'alice', state: 'ringing' })])
    expect((await carol.cli('decline')).code).toBe(0)
    expect(await ringing.exited).toBe(1)
    expect(ringing.stderrLines).toEqual(['voxmesh: carol declined the call'])
  })
})

describe('words', () => {
  it('a call to a name that is not among the contacts says so at once, and a bad name gets a sentence', async () => {
    const nobody = await alice.cli('call', 'nobody')
    expect(nobody.stderr).toBe('voxmesh: no user named nobody among your contacts (only contacts can be called; send a contact request first)\n')
    expect(nobody.code).toBe(1)
    const bad = await alice.cli('call', 'x')
    expect(bad.stderr).toBe('voxmesh: "x" is not a valid username: usernames are 3–32 characters of a-z, 0-9, ".", "_" or "-"\n')
  })
})

describe('stopping a node in a call hangs up first: the other side ends with a hangup, not a media timeout', () => {
  /**
   * `voxmesh call bob` from `caller`'s node, then Ctrl-C on that node, twice as npx delivers it (the
   * terminal's and npx's forward): the node must still exit 0 and bob's side end with a hangup.
   */
  const ctrlCInCall = async (caller: NodeProcess): Promise<void> => {
    const from = bob.events().length
    const call = startCli(['call', 'bob', '--tone', '440', '--data-dir', caller.dataDir])
    await call.waitForLine(/^connected to bob/)
    caller.proc.child.kill('SIGINT')
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(await caller.proc.stop('SIGINT')).toBe(0)
    const ended = await bob.waitForEvent(e => e.event === 'call-ended', 20_000, from)
    expect(ended).toMatchObject({ peer: caller.user, reason: 'hangup', message: 'call ended' })
    expect(await call.exited).toBe(1)
  }

  it('Ctrl-C on a --no-shell host', async () => { await ctrlCInCall(alice) })

  it('quit in the shell of a supernode\'s user (the node closes its supernode right after)', async () => {
    // The shell needs a terminal: `script` gives the node one.
    const command = [process.execPath, VOXMESH_BIN, 'node', '--user', 'super2', '--login-server', net.url, '--data-dir', join(net.root, 'super2'),
      '--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--tone', '440'].map(word => `'${word}'`).join(' ')
    shell = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, VOXMESH_PASSWORD: TEST_PASSWORD }, stdio: ['pipe', 'pipe', 'ignore'] })
    let screen = ''
    shell.stdout?.on('data', (chunk: Buffer) => { screen += chunk.toString() })
    let exitCode: number | null | undefined
    shell.once('exit', code => { exitCode = code })
    // Every step is bounded below the test's timeout, so a failure names the step and shows the screen.
    const lastScreen = (): string => screen.slice(-3000)
    await waitUntil(() => `super2's shell to show bob online; screen: ${lastScreen()}`, () => /bob is (now )?online/.test(screen), 20_000)
    const from = bob.events().length
    shell.stdin?.write('call bob\r')
    await bob.waitForEvent(e => e.event === 'call-connected' && e.peer === 'super2', 15_000, from)
    shell.stdin?.write('quit\r')
    const ended = await bob.waitForEvent(e => e.event === 'call-ended', 15_000, from)
    expect(ended).toMatchObject({ peer: 'super2', reason: 'hangup', message: 'call ended' })
    await waitUntil(() => `super2's node to exit after quit; screen: ${lastScreen()}`, () => exitCode !== undefined, 15_000)
    expect(exitCode).toBe(0)
  }, 90_000)

  it('Ctrl-C on the node of bob\'s own supernode, whose user is in a call with bob', async () => { await ctrlCInCall(super1) })
})
