// The two relays bench:relay compares, each its own process on 127.0.0.1, and the echoing peer:
// coturn's `turnserver` (one relay thread, REST-API secret, loopback peers allowed, no TLS, no
// database, no CLI), the voxmesh relay (voxmesh-relay-child.ts), and coturn's `turnutils_peer`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { freePort } from '../lib/ports.js'
import { REALM, SECRET_ENV } from './constants.js'

export const COTURN_TOOLS = ['turnserver', 'turnutils_uclient', 'turnutils_peer'] as const

/** The coturn tools missing on PATH, by name. */
export function missingTools (): string[] {
  return COTURN_TOOLS.filter(tool => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
}

export interface RelayProcess {
  name: string
  pid: number
  port: number
  stop: () => Promise<void>
}

const children = new Set<ChildProcess>()

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 3000)
    child.once('close', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
  children.delete(child)
}

/** Ends every process this file started. */
export async function stopAllRelays (): Promise<void> {
  await Promise.all([...children].map(stopChild))
}

function track (command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.add(child)
  child.once('close', () => { children.delete(child) })
  return child
}

/** Resolves once the UDP port answers a STUN Binding request (a process that binds late). */
async function waitForStun (port: number, what: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = spawnSync('turnutils_stunclient', ['-p', String(port), '127.0.0.1'], { encoding: 'utf8', timeout: 2000 })
    if (probe.status === 0 && /reflexive addr/.test(probe.stdout + probe.stderr)) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`${what} did not answer STUN on 127.0.0.1:${port}`)
}

/** coturn 4.6 with one relay thread (`relayThreads`), checking REST-API credentials made with `secret`. */
export async function startCoturn (secret: string, relayThreads = 1): Promise<RelayProcess> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'voxmesh-relay-bench-'))
  const child = track('turnserver', [
    '-n', '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log',
    '-L', '127.0.0.1', '-E', '127.0.0.1', '-p', String(port), '--relay-threads', String(relayThreads),
    '--use-auth-secret', '--static-auth-secret', secret, '-r', REALM,
    '--allow-loopback-peers', '--cli-password', 'unused', '--userdb', join(dir, 'turndb'),
    '--pidfile', join(dir, 'turnserver.pid'), '--no-stun-backward-compatibility', '--total-quota', '0', '--user-quota', '0'
  ])
  child.stdout?.resume()
  child.stderr?.resume()
  await waitForStun(port, 'coturn')
  return {
    name: relayThreads === 1 ? 'coturn' : `coturn ×${relayThreads}`,
    pid: child.pid as number,
    port,
    stop: async () => { await stopChild(child); rmSync(dir, { recursive: true, force: true }) }
  }
}

/** The voxmesh relay (the supernode's TURN server) in a child process. */
export async function startVoxmeshRelay (secret: string): Promise<RelayProcess> {
  const child = track(process.execPath, [join(import.meta.dirname, 'voxmesh-relay-child.js')], { [SECRET_ENV]: secret })
  child.stderr?.resume()
  const port = await portOf(child, 'the voxmesh relay child')
  return { name: 'voxmesh', pid: child.pid as number, port, stop: async () => { await stopChild(child) } }
}

/** A child that prints its port on its first stdout line. */
async function portOf (child: ChildProcess, what: string): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    lines.once('line', line => { resolve(Number(line)) })
    child.once('close', code => { reject(new Error(`${what} exited (${String(code)}) before listening`)) })
  })
}

/** The Node floor (node-echo-child.ts): a bare UDP echo, measured as a peer. */
export async function startNodeEcho (): Promise<RelayProcess> {
  const child = track(process.execPath, [join(import.meta.dirname, 'node-echo-child.js')])
  child.stderr?.resume()
  const port = await portOf(child, 'the Node echo child')
  return { name: 'Node UDP echo', pid: child.pid as number, port, stop: async () => { await stopChild(child) } }
}

/** coturn's echoing peer on 127.0.0.1:`port`. */
export async function startEchoPeer (): Promise<{ port: number, stop: () => Promise<void> }> {
  const port = await freePort()
  const child = track('turnutils_peer', ['-L', '127.0.0.1', '-p', String(port)])
  child.stdout?.resume()
  child.stderr?.resume()
  await new Promise(resolve => setTimeout(resolve, 300))
  if (child.exitCode !== null) throw new Error(`turnutils_peer exited (${child.exitCode}) on port ${port}`)
  return { port, stop: async () => { await stopChild(child) } }
}
