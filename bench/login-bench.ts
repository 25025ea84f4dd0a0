// Login throughput benchmark: a real `voxmesh login-server` process, N accounts,
// logins at concurrency C for D seconds (or M logins), set against two baselines
// measured in the same run: GET /v1/info (HTTP + fastify, no argon2) and the raw argon2id rate
// (the server's worker count of threads verifying at once, before and after the server runs;
// also the older ceiling, parallel workers / one verify's time).
//
//   npm run bench:login -- --concurrency 8 --duration 10 --argon2-ops 2 --argon2-memory 64 [--logins M] [--json]
//
// The server's rate limits (10 accounts/h, 60 logins/min per IP) would cap the
// figures, so it runs with --trust-proxy and every request carries its own
// X-Forwarded-For address. The per-username failure limit (10 per 5 min) still
// applies: the wrong-password series spreads its attempts over the accounts.
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { loadSodium } from '../common/sodium.js'
import { runBench } from './lib/run-bench.js'

const { values: flags } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '8' },
    duration: { type: 'string', default: '10' },
    logins: { type: 'string' },
    accounts: { type: 'string', default: '20' },
    'argon2-ops': { type: 'string', default: '2' },
    'argon2-memory': { type: 'string', default: '64' },
    json: { type: 'boolean', default: false }
  }
})
const num = (name: keyof typeof flags): number => {
  const n = Number(flags[name])
  if (Number.isSafeInteger(n) && n >= 1) return n
  process.stderr.write(`login-bench: --${name} must be a positive integer, got ${String(flags[name])}\n`)
  process.exit(2)
}
const concurrency = num('concurrency')
const durationS = num('duration')
const maxLogins = flags.logins === undefined ? Infinity : num('logins')
const accountCount = num('accounts')
const ops = num('argon2-ops')
const memoryMib = num('argon2-memory')
const cores = availableParallelism()
const workers = Math.min(4, cores) // createPasswordHasher's default pool size (login-server/password-hasher.ts)
const PASSWORD = 'correct horse battery staple'
const WRONG_PER_ACCOUNT = 4 // well under the 10-failures-per-username limit

// ---- helpers ---------------------------------------------------------------

/** Nearest-rank percentile of an ascending array, p in 0..100. */
function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}
const round = (n: number, digits = 1): number => Number(n.toFixed(digits))
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50)

let ipCounter = 0
/** A fresh client network per request, so the per-network limiters never trip. */
function nextIp (): string {
  const n = ++ipCounter
  // The limiters count a whole /24: each request gets its own, for 65536 requests in a row.
  return `10.${(n >> 8) & 255}.${n & 255}.1`
}

function deviceKey (): string {
  return generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string // raw key, base64url
}

async function call (baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number, ms: number }> {
  const headers: Record<string, string> = { 'x-forwarded-for': nextIp() }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const start = performance.now()
  const response = await fetch(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  await response.arrayBuffer()
  return { status: response.status, ms: performance.now() - start }
}

/** failures: answers other than the expected status; perSecond: expected answers per second. */
interface Series { count: number, failures: number, statuses: Record<string, number>, perSecond: number, p50: number, p90: number, p99: number, max: number }

/** Runs `op` from `concurrency` loops until the deadline or `max` operations; `ok` decides success. */
async function load (concurrency: number, durationMs: number, max: number, op: (i: number) => Promise<{ status: number, ms: number }>, ok: number): Promise<Series> {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let started = 0
  let failures = 0
  let done = 0
  const start = performance.now()
  const deadline = start + durationMs
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < max && performance.now() < deadline) {
      const { status, ms } = await op(started++).catch(() => ({ status: 0, ms: NaN }))
      statuses[status] = (statuses[status] ?? 0) + 1
      done++
      if (status !== ok) failures++
      if (!Number.isNaN(ms)) latencies.push(ms)
    }
  }))
  const elapsedS = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  return {
    count: done, failures, statuses, perSecond: round((done - failures) / elapsedS),
    p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? NaN)
  }
}

// ---- the raw argon2id rate ---------------------------------------------------

// libsodium in plain worker threads, verifying one hash in a loop until told to stop.
const RAW_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const sodium = require(workerData.sodiumPath)
sodium.ready.then(() => {
  parentPort.once('message', ({ until }) => {
    let done = 0
    while (Date.now() < until) { sodium.crypto_pwhash_str_verify(workerData.hash, workerData.password); done++ }
    parentPort.postMessage(done)
  })
  parentPort.postMessage('ready')
})
`

/** Verifies per second of `threads` threads at once for `durationMs`, once all of them are ready. */
async function rawVerifyRate (hash: string, threads: number, durationMs: number): Promise<number> {
  const sodiumPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo')
  const all = Array.from({ length: threads }, () => new Worker(RAW_WORKER_SOURCE, { eval: true, workerData: { sodiumPath, hash, password: PASSWORD } }))
  try {
    await Promise.all(all.map(w => new Promise(resolve => w.once('message', resolve))))
    const start = Date.now()
    const until = start + durationMs
    const counts = await Promise.all(all.map(w => new Promise<number>(resolve => { w.once('message', resolve); w.postMessage({ until }) })))
    return counts.reduce((a, b) => a + b, 0) * 1000 / (Date.now() - start)
  } finally {
    await Promise.all(all.map(w => w.terminate()))
  }
}

// ---- the server process ----------------------------------------------------

let server: ChildProcess | undefined
let dataDir: string | undefined

function startServer (): Promise<string> {
  dataDir = mkdtempSync(join(tmpdir(), 'voxmesh-login-bench-'))
  const bin = resolve(import.meta.dirname, '../bin/voxmesh.js')
  const child = spawn(process.execPath, [bin, 'login-server', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn',
    '--trust-proxy', '--argon2-ops', String(ops), '--argon2-memory', String(memoryMib)], { stdio: ['ignore', 'pipe', 'pipe'] })
  server = child
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match !== null) resolve(match[1] as string)
    })
    child.once('exit', code => { reject(new Error(`login server exited (${code}) before listening:\n${stderr}`)) })
  })
}

async function cleanup (): Promise<void> {
  const child = server
  server = undefined
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
  dataDir = undefined
}

// ---- the run ---------------------------------------------------------------

async function main (): Promise<void> {
  // (b) Raw argon2id: one verify's time in this process, then the rate of `parallel` threads
  // verifying at once (the cores share memory bandwidth: the fair ceiling), before the server runs
  // and again after it stopped, so a change in the machine's load between shows.
  const sodium = await loadSodium()
  const hash = sodium.crypto_pwhash_str(PASSWORD, ops, memoryMib * 1024 * 1024)
  const verifyMs: number[] = []
  for (let i = 0; i < 20; i++) {
    const t = performance.now()
    if (!sodium.crypto_pwhash_str_verify(hash, PASSWORD)) throw new Error('argon2id self-check failed')
    verifyMs.push(performance.now() - t)
  }
  const verifyMedianMs = median(verifyMs)
  const parallel = Math.min(cores, workers)
  const theoreticalPerSecond = parallel * 1000 / verifyMedianMs
  const rawBefore = await rawVerifyRate(hash, parallel, durationS * 1000)

  const url = await startServer()
  const users = Array.from({ length: accountCount }, (_, i) => `bench-${process.pid}-${i}`)
  const created = await load(concurrency, 600_000, users.length, i => call(url, 'POST', '/v1/accounts', { username: users[i], password: PASSWORD }), 201)
  if (created.failures > 0) throw new Error(`account creation failed: ${JSON.stringify(created.statuses)}`)

  const login = (password: string) => (i: number) =>
    call(url, 'POST', '/v1/sessions', { username: users[i % users.length], password, deviceKey: deviceKey() })
  const info = await load(concurrency, durationS * 1000, Infinity, () => call(url, 'GET', '/v1/info'), 200)
  const logins = await load(concurrency, durationS * 1000, maxLogins, login(PASSWORD), 201)
  const wrong = await load(concurrency, 600_000, users.length * WRONG_PER_ACCOUNT, login('wrong password!'), 401)
  await cleanup()
  const rawAfter = await rawVerifyRate(hash, parallel, durationS * 1000)
  const rawPerSecond = (rawBefore + rawAfter) / 2

  const figures = {
    machine: { cores, node: process.version },
    argon2id: { ops, memoryMiB: memoryMib, serverWorkers: workers, serverWorkersSource: 'min(4, cores), password-hasher.ts default' },
    setup: { accounts: users.length, concurrency, durationS, maxLogins: Number.isFinite(maxLogins) ? maxLogins : null },
    logins,
    info,
    wrongPassword: wrong,
    argon2Verify: { medianMs: round(verifyMedianMs), samples: verifyMs.length, parallel, theoreticalMaxPerSecond: round(theoreticalPerSecond) },
    argon2Raw: { threads: parallel, perSecondBefore: round(rawBefore), perSecondAfter: round(rawAfter), perSecond: round(rawPerSecond) },
    ratios: {
      loginVsRaw: round(logins.perSecond / rawPerSecond, 2),
      loginVsTheoretical: round(logins.perSecond / theoreticalPerSecond, 2),
      loginP50VsInfoP50: round(logins.p50 / info.p50, 0),
      wrongP50VsRightP50: round(wrong.p50 / logins.p50, 2)
    }
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify(figures) + '\n')
    return
  }
  const row = (name: string, s: Series): string =>
    `${name.padEnd(16)}${String(s.count).padStart(7)}${String(s.failures).padStart(7)}${String(s.perSecond).padStart(9)}` +
    [s.p50, s.p90, s.p99, s.max].map(v => String(v).padStart(9)).join('')
  console.log(`voxmesh login bench: ${cores} cores, node ${process.version}, argon2id ops=${ops} memory=${memoryMib} MiB, ` +
    `server workers=${workers} (min(4, cores)), ${users.length} accounts, concurrency ${concurrency}, ${durationS} s` +
    (Number.isFinite(maxLogins) ? ` or ${maxLogins} logins` : ''))
  console.log(`${'series'.padEnd(16)}${'n'.padStart(7)}${'fail'.padStart(7)}${'ok/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`)
  console.log(row('login', logins))
  console.log(row('login (wrong pw)', wrong))
  console.log(row('GET /v1/info', info))
  console.log(`argon2id verify in-process: median ${figures.argon2Verify.medianMs} ms of ${verifyMs.length} → ` +
    `theoretical max ${figures.argon2Verify.theoreticalMaxPerSecond} logins/s (${parallel} parallel / verify time)`)
  console.log(`raw argon2id, ${parallel} threads verifying at once: ${figures.argon2Raw.perSecondBefore}/s before the server, ` +
    `${figures.argon2Raw.perSecondAfter}/s after it (mean ${figures.argon2Raw.perSecond}/s)`)
  console.log(`login throughput / raw argon2id rate: ${figures.ratios.loginVsRaw}`)
  console.log(`login throughput / theoretical argon2 max: ${figures.ratios.loginVsTheoretical}`)
  console.log(`login p50 / info p50: ${figures.ratios.loginP50VsInfoP50}×`)
  console.log(`wrong-password p50 / right-password p50: ${figures.ratios.wrongP50VsRightP50}` +
    ` (wrong-pw statuses ${JSON.stringify(wrong.statuses)}; 401 expected)`)
}

await runBench('login-bench', main, cleanup)
