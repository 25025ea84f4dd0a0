// PSTN gateway capacity: how many concurrent calls to the echo number one gateway process carries
// (each Opus → 8 kHz G.711 μ-law → Opus, both ways) before its audio frames are late.
//
//   npm run bench:pstn -- [--steps 1,4,8,16,24,32,48,64] [--seconds 10] [--json]
//
// The gateway runs in this process (startGateway, as `voxmesh pstn-gateway` runs it), so its event
// loop is measured directly: a 20 ms frame is late when the loop stood still for longer than a frame
// (the meter samples every 10 ms and reports whole intervals: p99 above 30 ms is a frame late).
// The calls come from one caller node (`voxmesh node --call-waiting --tone 700`, a separate process)
// through a supernode, all on loopback; per step, N calls to the echo number are held for --seconds.
// Per step: the gateway's event-loop delay (p99, max), its CPU (% of one core), the caller node's
// CPU, and the caller's received audio (frames concealed of those it played: what came back late or
// not at all). A step passes with loop p99 < 30 ms and ≤ 1 % concealed; the report gives the last
// step that passed. All of it shares this machine's cores, which the output says.
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ControlClient, type NodeEvent } from '../node/index.js'
import { silentLogger } from '../common/logger.js'
import { startGateway, type RunningGateway } from '../pstn-gateway-stub/gateway.js'
import { DEFAULT_NUMBERS_FILE, loadNumbersFile } from '../pstn-gateway-stub/numbers/numbers-file.js'
import { freePort } from './lib/ports.js'
import { Proc, runCliOk, stopAll } from './lib/processes.js'
import { cpuMeter, loopDelayMeter, round, sleep } from './lib/measure.js'
import { runBench } from './lib/run-bench.js'

const { values: flags } = parseArgs({ options: { steps: { type: 'string', default: '1,4,8,16,24,32,48,64' }, seconds: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } } })
const steps = (flags.steps ?? '').split(',').map(Number)
const seconds = Number(flags.seconds)
if (steps.some(n => !Number.isInteger(n) || n < 1 || n > 256) || !(seconds >= 2 && seconds <= 600)) {
  process.stderr.write('pstn-bench: --steps takes whole numbers 1-256 (comma separated), --seconds 2-600\n')
  process.exit(2)
}
const ENV = { VOXMESH_PASSWORD: 'correct horse battery' }
/** The meter's 10 ms sampling interval plus one 20 ms frame. */
const LATE_LOOP_MS = 30
const MAX_CONCEALED_SHARE = 0.01

interface Step { calls: number, connected: number, loopP99Ms: number, loopMaxMs: number, gatewayCpuPct: number, callerCpuPct: number, framesPlayed: number, concealedPct: number, pass: boolean }

const root = mkdtempSync(join(tmpdir(), 'voxmesh-pstn-bench-'))
let gateway: RunningGateway | undefined

async function main (): Promise<void> {
  const login = new Proc('login-server', ['login-server', '--listen', '127.0.0.1:0', '--data-dir', join(root, 'login'), '--log-level', 'warn'])
  const url = (await login.waitForLine(/listening on (http:\/\/\S+)/))[1] as string
  for (const user of ['super1', 'alice']) await runCliOk(['account', 'create', user, '--login-server', url], ENV)
  const token = (await runCliOk(['login-server', 'add-service', 'pstn', '--data-dir', join(root, 'login')])).trim()
  const node = (user: string, ...args: string[]): Proc => new Proc(user, ['node', '--user', user, '--login-server', url, '--data-dir', join(root, user), '--no-shell', '--json', '--log-level', 'warn', ...args], ENV)
  const ready = async (proc: Proc): Promise<void> => { await proc.waitForEvent(e => e.event === 'ready', 30_000) }
  await ready(node('super1', '--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--relay-allow-private'))
  const callerProc = node('alice', '--role', 'host', '--call-waiting', '--tone', '700')
  await ready(callerProc)
  gateway = await startGateway({ loginServer: url, dataDir: join(root, 'gateway'), serviceToken: token, numbers: loadNumbersFile(DEFAULT_NUMBERS_FILE), log: silentLogger, maxLines: 256 })
  const caller = ControlClient.fromDataDir(join(root, 'alice'))
  await untilEchoAnswers(caller)

  const results: Step[] = []
  for (const n of steps) {
    const result = await runStep(caller, callerProc, n)
    results.push(result)
    if (!flags.json) printStep(result)
    if (!result.pass) break
  }
  const passed = results.filter(r => r.pass).at(-1)
  const summary = { machine: { cores: availableParallelism(), loadAverage: loadavg().map(l => round(l, 2)) }, seconds, steps: results, carried: passed?.calls ?? 0 }
  if (flags.json) process.stdout.write(JSON.stringify(summary) + '\n')
  else {
    process.stdout.write(`\none gateway process carried ${summary.carried} concurrent echo calls with its frames on time ` +
      `(loop p99 < ${LATE_LOOP_MS} ms, ≤ ${MAX_CONCEALED_SHARE * 100} % concealed at the caller); ` +
      `${summary.machine.cores} cores shared with the caller node, the supernode and the login server; load average ${summary.machine.loadAverage.join(' ')}\n`)
  }
}

async function untilEchoAnswers (caller: ControlClient): Promise<void> {
  for (let i = 0; i < 60; i++) {
    try {
      const { callId } = await caller.placeCall('echo')
      await sleep(1000)
      const connected = (await caller.calls()).some(c => c.callId === callId && c.state === 'connected')
      await caller.hangup(callId).catch(() => {})
      if (connected) return
    } catch {}
    await sleep(500)
  }
  throw new Error('the echo line never answered')
}

async function runStep (caller: ControlClient, callerProc: Proc, n: number): Promise<Step> {
  const ended = new Map<string, Extract<NodeEvent, { event: 'call-ended' }>>()
  const stream = new AbortController()
  void (async () => { for await (const e of caller.events(stream.signal)) if (e.event === 'call-ended') ended.set(e.callId, e) })().catch(() => {})
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push((await caller.placeCall('echo')).callId)
  // Every call connected (or given up on), then a second for the line's start-up.
  for (let i = 0; i < 100 && (await caller.calls()).filter(c => ids.includes(c.callId) && c.state !== 'connected').length > 0; i++) await sleep(200)
  const connected = (await caller.calls()).filter(c => ids.includes(c.callId) && c.state === 'connected').length
  await sleep(1000)
  const loop = loopDelayMeter()
  const cpu = cpuMeter(callerProc.child.pid as number)
  await sleep(seconds * 1000)
  const delay = loop()
  const load = cpu()
  for (const id of ids) await caller.hangup(id).catch(() => {})
  for (let i = 0; i < 50 && ids.some(id => !ended.has(id)); i++) await sleep(200)
  stream.abort()
  let played = 0
  let concealed = 0
  for (const id of ids) {
    const media = ended.get(id)?.media
    if (media === undefined) continue
    played += media.framesReceived + media.framesConcealed
    concealed += media.framesConcealed
  }
  await sleep(1000)
  const concealedShare = concealed / Math.max(1, played)
  return {
    calls: n,
    connected,
    loopP99Ms: delay.p99,
    loopMaxMs: delay.max,
    gatewayCpuPct: load.self,
    callerCpuPct: load.other,
    framesPlayed: played,
    concealedPct: round(100 * concealedShare, 2),
    pass: connected === n && delay.p99 < LATE_LOOP_MS && concealedShare <= MAX_CONCEALED_SHARE
  }
}

function printStep (s: Step): void {
  process.stdout.write(`${String(s.calls).padStart(3)} calls (${s.connected} connected): gateway loop p99 ${s.loopP99Ms} ms, max ${s.loopMaxMs} ms; ` +
    `gateway CPU ${s.gatewayCpuPct} %, caller node CPU ${s.callerCpuPct} % of a core; caller concealed ${s.concealedPct} % of ${s.framesPlayed} frames: ${s.pass ? 'on time' : 'LATE'}\n`)
}

await runBench('pstn-bench', main, async () => {
  await gateway?.close().catch(() => {})
  await stopAll(3000)
  rmSync(root, { recursive: true, force: true })
})
