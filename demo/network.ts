// The demo's network, started through the real CLI: a login server, two supernodes
// on 127.0.0.2 (with their TURN relays), and alice and bob, who become contacts.
import { join } from 'node:path'
import type { ContactView, NodeStatus } from '../node/index.js'
import { freePort } from '../bench/lib/ports.js'
import { Proc, runCli, runCliOk, type CliResult } from '../bench/lib/processes.js'
import { waitUntil as poll } from '../bench/lib/wait.js'
import { detail, shown, step } from './print.js'

export const SUPERNODES = ['super1', 'super2']
const ENV = { VOXMESH_PASSWORD: 'correct horse battery' }

/** Where the demo keeps everything: a data dir per user, logs/ and recordings/. */
export interface DemoDirs { root: string, logs: string, recordings: string }

export interface DemoNetwork {
  url: string
  alice: Proc
  bob: Proc
  /** A client command run to its end for `user` (against that user's node). */
  cli: (user: string, args: string[], timeoutMs?: number) => Promise<CliResult>
  /** A client command with --json for `user`, its output parsed; throws unless it exits 0. */
  cliJson: <T>(user: string, ...args: string[]) => Promise<T>
}

/** Polls `probe` (a failed probe counts as not yet) every 250 ms; a timeout says what it waited for and shows the logs. */
export async function waitFor<T> (dirs: DemoDirs, what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return await poll(() => `${what} (logs: ${shown(dirs.logs)})`, async () => await probe().catch(() => undefined), timeoutMs, 250)
}

/** A long-running voxmesh process: stdout lines kept (and logged), stderr to logs/NAME.log. */
const daemon = (dirs: DemoDirs, name: string, args: string[]): Proc => new Proc(name, args, ENV, { logFile: join(dirs.logs, `${name}.log`) })

export async function startDemoNetwork (dirs: DemoDirs): Promise<DemoNetwork> {
  const dataDir = (user: string): string => join(dirs.root, user)
  const cli = async (user: string, args: string[], timeoutMs?: number): Promise<CliResult> => await runCli([...args, '--data-dir', dataDir(user)], ENV, timeoutMs)
  const cliJson = async <T>(user: string, ...args: string[]): Promise<T> => JSON.parse(await runCliOk([...args, '--json', '--data-dir', dataDir(user)], ENV)) as T

  const url = await startLoginServer(dirs)
  const users = [...SUPERNODES, 'alice', 'bob']
  for (const user of users) await runCliOk(['account', 'create', user, '--login-server', url], ENV)
  step(`accounts created: ${users.join(', ')} (password from $VOXMESH_PASSWORD)`)

  const node = (user: string, ...args: string[]): Proc =>
    daemon(dirs, user, ['node', '--user', user, '--login-server', url, '--data-dir', dataDir(user), '--no-shell', '--json', ...args])
  const ready = async (user: string, proc: Proc): Promise<void> => {
    await waitFor(dirs, `${user} to start`, async () => proc.stdoutLines.find(l => l.includes('"event":"ready"')))
  }

  await startSupernodes(dirs, url, node, ready)
  const alice = node('alice', '--role', 'host')
  const bob = node('bob', '--role', 'host', '--auto-answer', '--record-dir', dirs.recordings)
  for (const [user, proc] of [['alice', alice], ['bob', bob]] as const) {
    await ready(user, proc)
    const at = await waitFor(dirs, `${user} to attach`, async () => (await cliJson<NodeStatus>(user, 'status')).supernode ?? undefined)
    step(`${user} logged in and attached to ${at.user ?? '?'}@${at.address}${user === 'bob' ? ' (auto-answers, records every call)' : ''}`)
  }

  await runCliOk(['contacts', 'add', 'bob', "hi, it's alice", '--data-dir', dataDir('alice')], ENV)
  await runCliOk(['contacts', 'accept', 'alice', '--data-dir', dataDir('bob')], ENV)
  step('alice asked bob to be contacts; bob accepted')
  for (const [user, peer] of [['alice', 'bob'], ['bob', 'alice']] as const) {
    await waitFor(dirs, `${user} to see ${peer} online`, async () =>
      (await cliJson<ContactView[]>(user, 'contacts')).some(c => c.username === peer && c.status === 'online') ? true : undefined)
  }
  step('alice sees bob online, bob sees alice online')
  return { url, alice, bob, cli, cliJson }
}

/** The login server, on port 7700 when it is free; resolves with its URL. */
async function startLoginServer (dirs: DemoDirs): Promise<string> {
  const port = await freePort('127.0.0.1', 7700).catch(() => 0)
  const login = daemon(dirs, 'login-server', ['login-server', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dirs.root, 'login-server')])
  const url = await waitFor(dirs, 'the login server', async () => login.stdoutLines.map(l => /listening on (http:\/\/\S+)/.exec(l)?.[1]).find(Boolean), 20_000)
  step(`login server listening on ${url}${port === 0 ? ' (7700 was taken)' : ''}`)
  return url
}

async function startSupernodes (dirs: DemoDirs, url: string, node: (user: string, ...args: string[]) => Proc, ready: (user: string, proc: Proc) => Promise<void>): Promise<void> {
  const listens: string[] = []
  for (const user of SUPERNODES) {
    const listen = `127.0.0.2:${await freePort('127.0.0.2').catch(() => {
      throw new Error('cannot bind 127.0.0.2 (on macOS: sudo ifconfig lo0 alias 127.0.0.2 up)')
    })}`
    // loopback peers: the lab flag (the relay refuses loopback and private peers by default).
    await ready(user, node(user, '--role', 'supernode', '--listen', listen, '--relay-allow-private'))
    listens.push(listen)
  }
  await waitFor(dirs, 'the login server to list both supernodes', async () => {
    const health = await (await fetch(`${url}/healthz`)).json() as { liveSupernodes: number }
    return health.liveSupernodes >= SUPERNODES.length ? true : undefined
  })
  step(`supernodes super1 on ${listens[0]} and super2 on ${listens[1]}, listed by the login server after its dial-back`)
  detail('(on 127.0.0.2: TURN permissions are per IP, so with everything on 127.0.0.1 a "relay-only" call could bypass the relay)')
}
