// A real voxmesh network on loopback for tests: a login server process and
// `voxmesh node` processes with --json, each in its own data dir. Everything
// it starts is killed by killAll() (test/helpers/processes.ts).
import { mkdtempSync, rmSync } from 'node:fs'
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
  /** Runs a client subcommand against this node's data dir. */
  cli: (...args: string[]) => ReturnType<typeof runCli>
}

/** `loginServerArgs`: extra flags for the login server, e.g. the lab flags for many supernodes on one address. */
export async function startVoxmeshNet (options: { loginServerArgs?: string[] } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'voxmesh-net-'))
  const login = startCli(['login-server', '--listen', '127.0.0.1:0', '--data-dir', join(root, 'login'), ...CHEAP_ARGON2, '--log-level', 'warn', ...(options.loginServerArgs ?? [])])
  const url = (await login.waitForLine(/listening on (http:\/\/\S+)/))[1] as string
  const env = { VOXMESH_PASSWORD: TEST_PASSWORD }

  const createAccount = async (user: string): Promise<void> => {
    const result = await runCli(['account', 'create', user, '--login-server', url], env)
    if (result.code !== 0) throw new Error(`account create ${user}: ${result.stderr}`)
  }

  const startNode = async (user: string, args: string[] = []): Promise<NodeProcess> => {
    const dataDir = join(root, user)
    const proc = startCli(['node', '--user', user, '--login-server', url, '--data-dir', dataDir, '--json', ...args], env)
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
      cli: (...cliArgs) => runCli([...cliArgs, '--data-dir', dataDir])
    }
    await node.waitForEvent(e => e.event === 'ready')
    return node
  }

  return {
    root,
    url,
    login,
    createAccount,
    startNode,
    cleanup: () => { rmSync(root, { recursive: true, force: true }) }
  }
}
