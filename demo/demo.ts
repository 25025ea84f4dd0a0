// `npm run demo`: a whole voxmesh network on loopback, run through the real CLI — a login server, two
// supernodes (with their TURN relays) and two users who become contacts — then one direct and one
// relay-only call carrying a 440 Hz tone, each checked from the callee's recording. Everything lives
// in ./voxmesh-demo/<timestamp>/ (data dirs, logs/, recordings/); every process started here is
// stopped on exit, on error and on Ctrl-C. Exits 0 when both calls took their path and passed.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import type { CallLine } from '../node/commands/call-commands.js'
import type { CallStats, ContactView, NodeEvent, NodeStatus } from '../node/runtime/api.js'
import { dominantFrequency, levelDbfs } from '../node/media/audio/analysis.js'
import { readWavFile } from '../node/media/audio/wav.js'
import { freePort } from '../bench/lib/ports.js'
import { waitUntil as poll } from '../bench/lib/wait.js'

const BIN = resolve(import.meta.dirname, '../bin/voxmesh.js')
const ENV = { ...process.env, VOXMESH_PASSWORD: 'correct horse battery' }
const TONE_HZ = 440
const CALL_SECONDS = 4
const ROOT = resolve('voxmesh-demo', new Date().toISOString().replace(/[:.]/g, '-'))
const LOGS = join(ROOT, 'logs')
const RECORDINGS = join(ROOT, 'recordings')
const shown = (path: string): string => relative(process.cwd(), path)
const t0 = performance.now()

// ---- printing ---------------------------------------------------------------

function step (text: string): void {
  console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${text}`)
}
const detail = (text: string): void => { console.log(`          ${text}`) }
const verdict = (ok: boolean): string => ok ? 'PASS' : 'FAIL'

// ---- processes ----------------------------------------------------------------

const children = new Set<ChildProcess>()
const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null

function run (args: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** A long-running voxmesh process: stdout lines kept (and logged), stderr to logs/NAME.log. */
function daemon (name: string, args: string[]): { lines: string[], child: ChildProcess } {
  const child = run(args)
  const log = createWriteStream(join(LOGS, `${name}.log`))
  child.stderr?.pipe(log)
  const lines: string[] = []
  createInterface({ input: child.stdout! }).on('line', line => { lines.push(line); log.write(line + '\n') })
  return { lines, child }
}

/** A client command (`voxmesh contacts ...`) run to its end. */
async function cli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = run(args)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('close', resolve) })
  return { code, stdout, stderr }
}
async function cliOk (args: string[]): Promise<string> {
  const result = await cli(args)
  if (result.code !== 0) throw new Error(`voxmesh ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`)
  return result.stdout
}
const cliJson = async <T>(user: string, ...args: string[]): Promise<T> =>
  JSON.parse(await cliOk([...args, '--json', '--data-dir', join(ROOT, user)])) as T

/** Polls `probe` (a failed probe counts as not yet) every 250 ms; a timeout says what it waited for and shows the logs. */
async function waitUntil<T> (what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return await poll(() => `${what} (logs: ${shown(LOGS)})`, async () => await probe().catch(() => undefined), timeoutMs, 250)
}

/** SIGTERM to every process still running, then SIGKILL for any still there after 5 s. */
let stopping: Promise<number> | undefined
function cleanup (): Promise<number> {
  stopping ??= Promise.all([...children].filter(alive).map(child => new Promise<void>(resolve => {
    child.once('exit', () => { clearTimeout(timer); resolve() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.kill('SIGTERM')
  }))).then(stopped => stopped.length)
  return stopping
}
process.once('SIGINT', () => {
  step('interrupted: stopping everything')
  void cleanup().then(n => { step(`stopped the ${n} processes the demo started`) }).finally(() => process.exit(130))
})
process.once('SIGTERM', () => { void cleanup().finally(() => process.exit(143)) })
process.once('exit', () => { for (const child of children) if (alive(child)) child.kill('SIGKILL') })

// ---- the demo -------------------------------------------------------------------

type Relay = NodeStatus['relay']
const relayPackets = (r: Relay): number => (r?.toPeer.packets ?? 0) + (r?.fromPeer.packets ?? 0)

async function main (): Promise<boolean> {
  mkdirSync(LOGS, { recursive: true })
  step(`demo directory: ${shown(ROOT)} (data dirs, logs/, recordings/)`)

  const port = await freePort('127.0.0.1', 7700).catch(() => 0)
  const login = daemon('login-server', ['login-server', '--listen', `127.0.0.1:${port}`, '--data-dir', join(ROOT, 'login-server')])
  const url = await waitUntil('the login server', async () => login.lines.map(l => /listening on (http:\/\/\S+)/.exec(l)?.[1]).find(Boolean), 20_000)
  step(`login server listening on ${url}${port === 0 ? ' (7700 was taken)' : ''}`)

  const users = ['super1', 'super2', 'alice', 'bob']
  for (const user of users) await cliOk(['account', 'create', user, '--login-server', url])
  step(`accounts created: ${users.join(', ')} (password from $VOXMESH_PASSWORD)`)

  const node = (user: string, ...args: string[]) =>
    daemon(user, ['node', '--user', user, '--login-server', url, '--data-dir', join(ROOT, user), '--no-shell', '--json', ...args])
  const ready = async (user: string, d: { lines: string[] }) => await waitUntil(`${user} to start`, async () => d.lines.find(l => l.includes('"event":"ready"')))

  const supers = ['super1', 'super2']
  const listens: string[] = []
  for (const user of supers) {
    const listen = `127.0.0.2:${await freePort('127.0.0.2').catch(() => {
      throw new Error('cannot bind 127.0.0.2 (on macOS: sudo ifconfig lo0 alias 127.0.0.2 up)')
    })}`
    // loopback peers: the lab flag (the relay refuses loopback and private peers by default).
    await ready(user, node(user, '--role', 'supernode', '--listen', listen, '--relay-allow-private'))
    listens.push(listen)
  }
  await waitUntil('the login server to list both supernodes', async () => {
    const health = await (await fetch(`${url}/healthz`)).json() as { liveSupernodes: number }
    return health.liveSupernodes >= supers.length ? true : undefined
  })
  step(`supernodes super1 on ${listens[0]} and super2 on ${listens[1]}, listed by the login server after its dial-back`)
  detail('(on 127.0.0.2: TURN permissions are per IP, so with everything on 127.0.0.1 a "relay-only" call could bypass the relay)')

  const alice = node('alice', '--role', 'host')
  const bob = node('bob', '--role', 'host', '--auto-answer', '--record-dir', RECORDINGS)
  for (const [user, d] of [['alice', alice], ['bob', bob]] as const) {
    await ready(user, d)
    const at = await waitUntil(`${user} to attach`, async () => (await cliJson<NodeStatus>(user, 'status')).supernode ?? undefined)
    step(`${user} logged in and attached to ${at.user ?? '?'}@${at.address}${user === 'bob' ? ' (auto-answers, records every call)' : ''}`)
  }

  await cliOk(['contacts', 'add', 'bob', "hi, it's alice", '--data-dir', join(ROOT, 'alice')])
  await cliOk(['contacts', 'accept', 'alice', '--data-dir', join(ROOT, 'bob')])
  step('alice asked bob to be contacts; bob accepted')
  for (const [user, peer] of [['alice', 'bob'], ['bob', 'alice']]) {
    await waitUntil(`${user} to see ${peer} online`, async () =>
      (await cliJson<ContactView[]>(user as string, 'contacts')).some(c => c.username === peer && c.status === 'online') ? true : undefined)
  }
  step('alice sees bob online, bob sees alice online')

  const relays = async (): Promise<Relay[]> => await Promise.all(supers.map(async s => (await cliJson<NodeStatus>(s, 'status')).relay))
  const bobEvents = (): NodeEvent[] => bob.lines.flatMap(l => { try { return [JSON.parse(l) as NodeEvent] } catch { return [] } })

  const placeCall = async (relayOnly: boolean): Promise<boolean> => {
    const kind = relayOnly ? 'relay-only' : 'direct'
    const expected = relayOnly ? 'relay' : 'direct'
    const before = await relays()
    step(`call: alice → bob, ${kind}: voxmesh call bob --tone ${TONE_HZ} --duration ${CALL_SECONDS} --json${relayOnly ? ' --relay-only' : ''}`)
    const result = await cli(['call', 'bob', '--tone', String(TONE_HZ), '--duration', String(CALL_SECONDS), '--json',
      ...(relayOnly ? ['--relay-only'] : []), '--data-dir', join(ROOT, 'alice')])
    const lines = result.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l) as CallLine)
    const connected = lines.find(l => l.event === 'connected')
    const ended = lines.find(l => l.event === 'ended')
    const stats = lines.filter(l => l.event === 'stats')
    if (connected === undefined) {
      detail(`did not connect: ${ended?.message ?? result.stderr.trim()}  FAIL`)
      return false
    }
    const pathOk = connected.path === expected
    detail(`connected in ${connected.setupMs} ms, path ${connected.path}` +
      `${connected.relay === null ? '' : ` through ${connected.relay}`} (expected ${expected}: ${verdict(pathOk)})`)
    detail(`ended: ${ended?.message ?? result.stderr.trim()} after ${((ended?.durationMs ?? 0) / 1000).toFixed(1)} s (exit code ${result.code})`)

    const theirs = await waitUntil('bob\'s end of the call', async () =>
      bobEvents().find((e): e is Extract<NodeEvent, { event: 'call-ended' }> => e.event === 'call-ended' && e.callId === connected.callId), 10_000)
    // Each side's last one-second report; bob receives the tone, alice receives bob's silence.
    const bobStats = bobEvents().filter(e => e.event === 'call-stats' && e.callId === connected.callId) as CallStats[]
    for (const [who, list] of [['alice (hears silence)', stats], ['bob (hears the tone)', bobStats]] as const) {
      const s = list.at(-1)
      if (s !== undefined) {
        detail(`stats at ${who.padEnd(21)} rtt ${s.rttMs === null ? '-' : `${s.rttMs.toFixed(1)} ms`}  jitter ${s.jitterMs.toFixed(1)} ms  ` +
          `loss ${s.lossPct.toFixed(1)}%  ${s.bitrateKbps.toFixed(1)} kbit/s  MOS ${s.mos.toFixed(2)}`)
      }
    }
    let audioOk = false
    if (theirs.recording === undefined) detail('bob made no recording  FAIL')
    else {
      const wav = readWavFile(theirs.recording)
      const rate = wav.sampleRate
      const seconds = wav.samples.length / rate
      const callSeconds = theirs.durationMs / 1000
      // Skip the first half second (jitter buffer start-up) and the last quarter second.
      const steady = wav.samples.subarray(rate / 2, Math.max(rate / 2, wav.samples.length - rate / 4))
      const hz = dominantFrequency(steady, rate)
      const dbfs = levelDbfs(steady)
      audioOk = Math.abs(hz - TONE_HZ) < 3 && dbfs > -20 && seconds > callSeconds - 0.6 && seconds < callSeconds + 1.5
      detail(`recording: ${shown(theirs.recording)}`)
      detail(`audio check: ${hz.toFixed(1)} Hz (want ${TONE_HZ} ± 3), level ${dbfs.toFixed(1)} dBFS (want > -20), ` +
        `${seconds.toFixed(2)} s of audio for a ${callSeconds.toFixed(2)} s call: ${verdict(audioOk)}`)
    }

    const after = await relays()
    let carried = 0
    supers.forEach((s, i) => {
      const [b, a] = [before[i] ?? null, after[i] ?? null]
      carried += relayPackets(a) - relayPackets(b)
      detail(`${s} relay: toPeer ${b?.toPeer.packets ?? 0} → ${a?.toPeer.packets ?? 0} packets, ` +
        `fromPeer ${b?.fromPeer.packets ?? 0} → ${a?.fromPeer.packets ?? 0} packets`)
    })
    // ~50 packets a second each way: a relayed call shows hundreds, a direct one (almost) none.
    const relayOk = !relayOnly || carried > CALL_SECONDS * 50
    detail(`the relays carried ${carried} packets during this call${relayOnly ? ` (want > ${CALL_SECONDS * 50}: ${verdict(relayOk)})` : ''}`)
    const ok = pathOk && audioOk && relayOk && result.code === 0
    step(`${kind} call: ${verdict(ok)}`)
    return ok
  }

  const direct = await placeCall(false)
  const relayed = await placeCall(true)
  step(`recordings are in ${shown(RECORDINGS)}, logs in ${shown(LOGS)}`)
  return direct && relayed
}

let ok = false
try {
  ok = await main()
} catch (err) {
  step(`demo failed: ${(err as Error).message}`)
} finally {
  const stopped = await cleanup()
  step(`stopped the ${stopped} processes the demo started`)
}
step(ok ? 'demo passed: a direct and a relayed call, both carried the tone' : 'demo FAILED')
process.exitCode = ok ? 0 : 1
