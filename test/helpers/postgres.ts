// A PostgreSQL server of the test's own: a temporary cluster (initdb) started with pg_ctl on
// a free loopback port and a Unix socket in its own folder, trust authentication on loopback,
// removed again by stop() (also when the test process exits without it). initdb refuses to
// run as root, so as root the cluster is the `postgres` user's (Debian's package makes it).
// Where PostgreSQL is not installed, `postgresMissing()` says why, and the tests skip with
// that sentence; in CI (CI set) the tests fail instead, as a skipped suite would hide it.
import { execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'

const SUPERUSER = 'postgres'

/** The folder with initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/VERSION/bin (the newest). */
function postgresBin (): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter(v => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  for (const version of versions) if (existsSync(join(root, version, 'bin', 'initdb'))) return join(root, version, 'bin')
  return undefined
}

/** Why these tests cannot run here (undefined: they can). */
export function postgresMissing (): string | undefined {
  if (postgresBin() === undefined) return 'PostgreSQL is not installed (no initdb and pg_ctl on PATH or under /usr/lib/postgresql; Debian: apt-get install postgresql)'
  if (process.getuid?.() === 0 && !userExists(SUPERUSER)) return 'running as root, and there is no "postgres" user to run initdb as'
  return undefined
}

function userExists (name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Skips with the reason printed, or (in CI) fails: a green CI must not have skipped these. */
export function postgresSkipReason (): string | undefined {
  const missing = postgresMissing()
  if (missing === undefined) return undefined
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(`the PostgreSQL tests cannot run in CI: ${missing}`)
  process.stdout.write(`PostgreSQL tests skipped: ${missing}\n`)
  return missing
}

export interface TestPostgres {
  /** A new, empty database on the server; its connection URL. */
  createDatabase: () => Promise<string>
  port: number
  stop: () => Promise<void>
}

export async function startTestPostgres (): Promise<TestPostgres> {
  const bin = postgresBin()
  if (bin === undefined) throw new Error(postgresMissing())
  const asRoot = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'voxmesh-pg-'))
  const data = join(dir, 'data')
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const run = (program: string, args: string[]): string => {
    const [file, argv] = asRoot ? ['runuser', ['-u', SUPERUSER, '--', join(bin, program), ...args]] : [join(bin, program), args]
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: dir })
  }
  const port = await freePort()
  let stopped = false
  const stopNow = (): void => {
    if (stopped) return
    stopped = true
    try { run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']) } catch {}
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', stopNow)
  try {
    run('initdb', ['-D', data, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'])
    // fsync off: the tests kill login servers, never this cluster, and it would only slow them down.
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start'])
  } catch (err) {
    stopNow()
    throw err
  }
  let databases = 0
  const pg = await import('pg')
  return {
    port,
    async createDatabase () {
      const name = `voxmesh_${++databases}`
      const client = new pg.default.Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres' })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return `postgres://${SUPERUSER}@127.0.0.1:${port}/${name}`
    },
    async stop () {
      process.removeListener('exit', stopNow)
      stopNow()
    }
  }
}
