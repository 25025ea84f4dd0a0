// The login server processes under test: `voxmesh login-server` on loopback, each with its own
// temp data dir, on SQLite (its data dir's file) or on a PostgreSQL database several of them
// share. stopLoginServers() ends every one still running and removes the data dirs, whatever
// happened before.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOOKUP_SECRET_FILE, SIGNING_KEY_FILE } from '../../login-server/constants.js'
import { VOXMESH_BIN } from '../lib/processes.js'
import type { Argon2Cost } from './options.js'

/** How long an instance may take to say it listens (a first start on PostgreSQL runs the migrations). */
const START_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 3000

const running = new Set<ChildProcess>()
const dataDirs = new Set<string>()

/**
 * The instance's environment: the bench's own, less what would override where the bench puts its data
 * (a database URL or server keys from the caller's shell would turn a SQLite series into another
 * PostgreSQL one, or make a second instance's copied keys moot). A PostgreSQL URL goes in through
 * the environment, not --database, so a password in it stays off the process list.
 */
function instanceEnv (database: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const name of ['VOXMESH_DATABASE_URL', 'VOXMESH_SIGNING_KEY', 'VOXMESH_LOOKUP_SECRET']) delete env[name]
  if (database !== undefined) env.VOXMESH_DATABASE_URL = database
  return env
}

/** Starts one instance on `dataDir`; resolves with its base URL once it prints that it listens. */
function startInstance (dataDir: string, cost: Argon2Cost, database: string | undefined): Promise<string> {
  const child = spawn(process.execPath, [VOXMESH_BIN, 'login-server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn',
    '--trust-proxy', '--argon2-ops', String(cost.ops), '--argon2-memory', String(cost.memoryMib)],
  { env: instanceEnv(database), stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  child.once('exit', () => { running.delete(child) })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`login server did not listen within ${START_TIMEOUT_MS} ms:\n${stderr}`)) }, START_TIMEOUT_MS)
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match !== null) { clearTimeout(timer); resolve(match[1] as string) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`login server exited (${code}) before listening:\n${stderr}`)) })
  })
}

function newDataDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'voxmesh-login-bench-'))
  dataDirs.add(dir)
  return dir
}

/**
 * `count` instances on one store: SQLite (database undefined; one instance only, the file is its
 * own) or the PostgreSQL database `database`. The first instance creates the signing key and lookup
 * secret in its data dir; the others get copies of both (mode 0600, as the server wants its key
 * files), since an instance with other keys, or none, is refused by a database that has a pair.
 * Resolves with their base URLs, in start order.
 */
export async function startLoginServers (count: number, cost: Argon2Cost, database: string | undefined): Promise<string[]> {
  if (count > 1 && database === undefined) throw new Error('several login server instances need a shared (PostgreSQL) database')
  const firstDir = newDataDir()
  const first = await startInstance(firstDir, cost, database)
  const others = Array.from({ length: count - 1 }, async () => {
    const dir = newDataDir()
    for (const file of [SIGNING_KEY_FILE, LOOKUP_SECRET_FILE]) writeFileSync(join(dir, file), readFileSync(join(firstDir, file)), { mode: 0o600 })
    return await startInstance(dir, cost, database)
  })
  return [first, ...await Promise.all(others)]
}

/** SIGTERM to every instance still running (SIGKILL after a grace period), then the data dirs removed. */
export async function stopLoginServers (): Promise<void> {
  await Promise.all([...running].map(child => new Promise<void>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
    const timer = setTimeout(() => { child.kill('SIGKILL') }, STOP_GRACE_MS)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })))
  running.clear()
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
  dataDirs.clear()
}
