// A real voxmesh network on loopback for tests: a login server process and
// `voxmesh node` processes with --json, each in its own data dir. Everything
// it starts is killed by killAll() (test/helpers/processes.ts). Each process can run
// under a command prefix, e.g. inside a network namespace of the lab (test/netlab/).
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, startCli, type CliProcess } from './processes.js'
import { waitUntil } from './wait.js'

export const TEST_PASSWORD = 'correct horse battery'
const CHEAP_ARGON2 = ['--argon2-ops', '1', '--argon2-memory', '1']

export interface NodeProcess {
  user: string
  dataDir: string
  proc: CliProcess
  /** Parsed --json events so far. */
  events: () => Array<Record<string, unknown>>
  /** Resolves with the first event matching, among those from index `from` on (past or future). */
  waitForEvent: (match: (event: Record<string, unknown>) => boolean, timeoutMs?: number, from?: number) => Promise<Record<string, unknown>>
  /** Runs a client subcommand against this node's data dir (where the node runs). */
  cli: (...args: string[]) => ReturnType<typeof runCli>
}

export interface VoxmeshNetOptions {
  /** Extra flags for the login server, e.g. the lab flags for many supernodes on one address. */
  loginServerArgs?: string[]
  /** The login server's --listen (default: a free port on 127.0.0.1). */
  listen?: string
  /** Where the login server, `account create` and (unless startNode says otherwise) the nodes run: a command prefix such as inNetns(NS). Default: here. */
  where?: string[]
  /** The login server's PostgreSQL database (default: SQLite in its data dir). */
  database?: string
  /** Login server instances on that database (default 1), each on a port of its own: `urls` lists them. */
  instances?: number
}

export async function startVoxmeshNet (options: VoxmeshNetOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), 'voxmesh-net-'))
  const here = options.where ?? []
  const database = options.database === undefined ? [] : ['--database', options.database]
  const startLogin = async (listen: string, dataDir = join(root, 'login')): Promise<{ proc: CliProcess, url: string }> => {
    const proc = startCli(['login-server', '--listen', listen, '--data-dir', dataDir, ...database, ...CHEAP_ARGON2, '--log-level', 'warn', ...(options.loginServerArgs ?? [])], {}, here)
    return { proc, url: (await proc.waitForLine(/listening on (http:\/\/\S+)/))[1] as string }
  }
  const first = await startLogin(options.listen ?? '127.0.0.1:0')
  let login = first.proc
  const url = first.url
  const urls = [url]
  // The other instances share the first one's keys, as an operator copies them.
  for (let instance = 2; instance <= (options.instances ?? 1); instance++) {
    const dataDir = join(root, `login-${instance}`)
    mkdirSync(dataDir, { mode: 0o700 })
    for (const file of ['signing-key', 'lookup-secret']) copyFileSync(join(root, 'login', file), join(dataDir, file))
    urls.push((await startLogin('127.0.0.1:0', dataDir)).url)
  }
  const env = { VOXMESH_PASSWORD: TEST_PASSWORD }

  /** `where`: the command prefix it runs under (the login server limits new accounts per address). */
  const createAccount = async (user: string, where = here): Promise<void> => {
    const result = await runCli(['account', 'create', user, '--login-server', url], env, undefined, where)
    if (result.code !== 0) throw new Error(`account create ${user}: ${result.stderr}`)
  }

  /**
   * Starts a node without waiting for it to be ready (e.g. one that cannot log in). `where`: the
   * command prefix this node (and its client commands) run under; `dataDir`: default ROOT/USER.
   */
  const launchNode = (user: string, args: string[] = [], where = here, dataDir = join(root, user)): NodeProcess => {
    const proc = startCli(['node', '--user', user, '--login-server', url, '--data-dir', dataDir, '--json', ...args], env, where)
    const events = (): Array<Record<string, unknown>> => proc.stdoutLines.flatMap(line => {
      try { return [JSON.parse(line) as Record<string, unknown>] } catch { return [] }
    })
    const node: NodeProcess = {
      user,
      dataDir,
      proc,
      events,
      waitForEvent: async (match, timeoutMs = 15_000, from = 0) => await waitUntil(
        () => `a matching event from ${user}; events: ${JSON.stringify(events())}`,
        () => {
          const found = events().slice(from).find(match)
          if (found === undefined && proc.child.exitCode !== null) throw new Error(`${user} exited (${proc.child.exitCode}): ${proc.stderrLines.slice(-5).join('\n')}`)
          return found
        },
        timeoutMs, 50),
      cli: async (...cliArgs) => await runCli([...cliArgs, '--data-dir', dataDir], {}, undefined, where)
    }
    return node
  }

  /** Starts a node and resolves once it is ready (logged in, listening). */
  const startNode = async (user: string, args: string[] = [], where = here, dataDir?: string): Promise<NodeProcess> => {
    const node = launchNode(user, args, where, dataDir)
    await node.waitForEvent(e => e.event === 'ready')
    return node
  }

  return {
    root,
    url,
    /** Every login server instance's URL, the first one's (`url`) first. */
    urls,
    /** The login server's process (a new one after startLoginAgain). */
    get login (): CliProcess { return login },
    /** Stops the login server (SIGTERM: as an operator would), resolving once it has exited. */
    stopLogin: async (): Promise<void> => { await login.stop('SIGTERM', 5000) },
    /** Starts the login server again on the same data dir and address (the URL nodes know). */
    startLoginAgain: async (): Promise<void> => {
      if (login.alive) throw new Error('the login server still runs: stopLogin() first')
      login = (await startLogin(new URL(url).host)).proc
    },
    createAccount,
    launchNode,
    startNode,
    cleanup: () => { rmSync(root, { recursive: true, force: true }) }
  }
}
