// Overlay benchmark on a real multi-process loopback network: a login server,
// two supernodes (A, B) and two user nodes, alice on A and bob on B, who are
// contacts. It reports
//   - presence propagation: alice's control API sets away/online → bob's --json
//     stdout shows {"event":"presence","user":"alice",...};
//   - message delivery alice → bob across the two supernodes: until bob's stdout
//     shows the message, and the receipt time alice's node reports (receiptMs);
//   - baselines from the same run: a bare control-API call (GET /v1/status) and a
//     `voxmesh status` CLI process, so the overlay's share of the latency shows;
//   - capacity: a third supernode process C and, in this process, K lightweight
//     hosts (the real Host of node/overlay/host.ts over the ws transport, each its
//     own account, device key and certificate) registered with C only, `--concurrency`
//     registrations at a time. C's RSS (VmRSS) before and after gives memory per
//     host; also the registration rate, C's CPU and responsiveness while it just
//     keeps K hosts alive (keepalive pings) for `--steady` seconds, and how fast it
//     lets them all go. Progress goes to stderr every 10 s; after 50 hosts fail to
//     register it stops starting new ones and reports what the hosts saw.
//
//   npm run bench:overlay -- [--rounds 50] [--hosts 5000] [--concurrency 50] [--steady 70] [--json]
//
// The login server runs with cheap argon2id (ops 1, 1 MiB) and --trust-proxy: the
// K accounts and logins carry their own X-Forwarded-For addresses, past the
// per-IP rate limits (10 accounts/h, 60 logins/min). Every process and the temp
// dir are removed on exit, error, SIGINT and SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { fromBase64url, toBase64url } from '../common/base64url.js'
import { systemClock } from '../common/clock.js'
import type { CreateSessionResponse, InfoResponse } from '../common/login-api.js'
import { loadSodium, type Sodium } from '../common/sodium.js'
import { ControlClient } from '../node/control/client.js'
import { createWsTransport } from '../node/net/ws-transport.js'
import { createHost, type Host } from '../node/overlay/host.js'
import { createSupernodeCache } from '../node/overlay/supernode-cache.js'
import { silentLogger } from '../common/logger.js'
import type { SupernodeRef } from '../node/overlay/messages.js'
import { PING_INTERVAL_MS } from '../node/overlay/constants.js'
import type { NodeStatus } from '../node/runtime/api.js'
import { freePort } from './lib/ports.js'
import { waitUntil } from './lib/wait.js'
import { Proc, runCli, started, stopAll } from './lib/processes.js'
import { cpuMeter, loopDelayMeter, machineCpuMeter, memoryOf, percentile, pool, round, series, sleep, type LoopDelay, type Series } from './lib/measure.js'

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '50' },
    hosts: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '50' },
    steady: { type: 'string', default: '70' },
    json: { type: 'boolean', default: false }
  }
})
const num = (name: 'rounds' | 'hosts' | 'concurrency' | 'steady', min: number): number => {
  const n = Number(flags[name])
  if (Number.isSafeInteger(n) && n >= min) return n
  process.stderr.write(`overlay-bench: --${name} must be an integer ≥ ${min}, got ${String(flags[name])}\n`)
  process.exit(2)
}
const rounds = num('rounds', 1)
const hostCount = num('hosts', 0)
const concurrency = num('concurrency', 1)
/** Seconds C's CPU and RSS are watched while it only keeps its hosts alive: by default past every host's first republish (REPUBLISH_INTERVAL_MS after it attached). */
const steadyMs = num('steady', 1) * 1000
const cores = availableParallelism()
const PASSWORD = 'correct horse battery staple'
const MAX_HOSTS = 10_000
const HTTP_CONCURRENCY = 16
/** A bench host not registered with C by then counts as failed (and is closed). */
const ATTACH_TIMEOUT_MS = 60_000
/** After this many failed hosts the registration phase stops starting new ones: the supernode (or this box) is past its limit. */
const GIVE_UP_AFTER_FAILURES = 50

// ---- the network -------------------------------------------------------------

let root: string | undefined
const benchHosts: Host[] = []

async function cleanup (): Promise<void> {
  for (const host of benchHosts.splice(0)) host.close()
  await stopAll()
  if (root !== undefined) rmSync(root, { recursive: true, force: true })
  root = undefined
}
/** Set by SIGINT/SIGTERM: the run's own failures (its processes being killed under it) are then not reported. */
let interrupted = false
const onSignal = (code: number) => (): void => {
  interrupted = true
  void cleanup().finally(() => process.exit(code))
}
process.once('SIGINT', onSignal(130))
process.once('SIGTERM', onSignal(143))

interface Net {
  url: string
  login: Proc
  startNode: (user: string, args: string[]) => Promise<Proc>
  startSupernode: (user: string) => Promise<Proc>
  dataDir: (user: string) => string
  status: (user: string) => Promise<NodeStatus>
  /** Waits until the node is attached to a supernode (its 'attached' event may come before --json output starts). */
  attached: (user: string) => Promise<NonNullable<NodeStatus['supernode']>>
}

async function startNet (dir: string): Promise<Net> {
  const login = new Proc('login server', ['login-server', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'login'),
    '--argon2-ops', '1', '--argon2-memory', '1', '--trust-proxy', '--log-level', 'warn',
    // Every supernode of the bench runs on 127.0.0.1: the lab flag.
    '--max-supernodes-per-address', '8'])
  const url = (await login.waitForLine(/listening on (http:\/\/\S+)/))[1] as string
  const env = { VOXMESH_PASSWORD: PASSWORD }
  const dataDir = (user: string): string => join(dir, user)
  const startNode = async (user: string, args: string[]): Promise<Proc> => {
    const node = new Proc(user, ['node', '--user', user, '--login-server', url, '--data-dir', dataDir(user), '--json', '--log-level', 'warn', ...args], env)
    await node.waitForEvent(e => e.event === 'ready', 30_000)
    return node
  }
  return {
    url,
    login,
    startNode: async (user, args) => {
      await runCli(['account', 'create', user, '--login-server', url], env)
      return await startNode(user, args)
    },
    startSupernode: async user => {
      await runCli(['account', 'create', user, '--login-server', url], env)
      // Every host of the bench connects from 127.0.0.1: the lab flag for links per address.
      return await startNode(user, ['--role', 'supernode', '--listen', `127.0.0.1:${await freePort()}`, '--max-hosts', String(MAX_HOSTS),
        '--max-links-per-address', String(2 * MAX_HOSTS)])
    },
    dataDir,
    status: async user => JSON.parse(await runCli(['status', '--json', '--data-dir', dataDir(user)])) as NodeStatus,
    attached: async user => {
      const client = ControlClient.fromDataDir(dataDir(user))
      return await waitUntil(`${user} to attach to a supernode`, async () => (await client.status()).supernode, 30_000, 50)
    }
  }
}

// ---- lightweight hosts -------------------------------------------------------

let ipCounter = 0
/** A fresh client network per request, so the login server's per-network limiters never trip. */
function nextIp (): string {
  const n = ++ipCounter
  // The limiters count a whole /24: each request gets its own, for 65536 requests in a row.
  return `10.${(n >> 8) & 255}.${n & 255}.1`
}

/** POSTs with its own X-Forwarded-For; a request the network lost (not one the server answered) is tried again. */
async function post<T> (url: string, path: string, body: unknown, expected: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let response: Response
    try {
      response = await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': nextIp() },
        body: JSON.stringify(body)
      })
    } catch (err) {
      // undici reuses keep-alive sockets the server may just have closed ("other side closed").
      if (attempt < 3) continue
      throw new Error(`POST ${path}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})`)
    }
    const text = await response.text()
    // A retried account creation whose first attempt did arrive.
    if (response.status === 409 && attempt > 1 && path === '/v1/accounts') return JSON.parse(text) as T
    if (response.status !== expected) throw new Error(`POST ${path}: HTTP ${response.status} ${text}`)
    return JSON.parse(text) as T
  }
}

interface Capacity {
  supernode: string
  pid: number
  hostsRequested: number
  hostsAttached: number
  /** `hosts` from `voxmesh status --json` of C: before, with every bench host attached, and after they all closed. */
  hostsBefore: number
  hostsReported: number
  hostsAfterClose: number
  /** Until C's count was back to hostsBefore once every bench host closed its link. */
  departureSeconds: number
  accounts: { seconds: number, perSecond: number }
  logins: { seconds: number, perSecond: number }
  registration: {
    seconds: number
    perSecond: number
    concurrency: number
    /** Stopped early: GIVE_UP_AFTER_FAILURES hosts failed to register. */
    gaveUp: boolean
    setupMs: Series
    supernodeCpuPercent: number
    clientCpuPercent: number
    machineBusyPercent: number
    clientLoopDelayMs: LoopDelay
  }
  /** perHostKb is null when hosts left C during the run (the growth is then not per registered host). */
  rssKb: {
    before: number
    after: number
    growth: number
    peak: number
    perHostKb: number | null
    /** RSS over the steady window (sampled every 250 ms): a leak shows as a rising min. */
    steadyWindow: { start: number, min: number, max: number, end: number }
  }
  steady: {
    windowS: number
    supernodeCpuPercent: number
    clientCpuPercent: number
    pingsPerSecond: number
    /** GET /v1/status round trips to C's control API during the window: how responsive C's event loop stays. */
    supernodeStatusMs: Series
    clientLoopDelayMs: LoopDelay
  }
  otherSupernodesRssGrowthKb: Record<string, number>
  benchClient: { rssGrowthKb: number, perHostKb: number }
  /** Bench hosts not registered within ATTACH_TIMEOUT_MS (closed, not counted). */
  hostsNotAttached: number
  /** Detaches, re-attaches and no-supernode reasons the bench hosts reported, by phase and reason (a clean run has none). */
  trouble: { registration: Record<string, number>, steady: Record<string, number> }
}

async function measureCapacity (net: Net, sodium: Sodium, others: Proc[]): Promise<Capacity> {
  const users = Array.from({ length: hostCount }, (_, i) => `bench${String(i + 1).padStart(5, '0')}`)
  const info = await (await fetch(`${net.url}/v1/info`)).json() as InfoResponse
  const issuerKey = fromBase64url(info.publicKey) as Uint8Array

  let t = performance.now()
  await pool(users.length, HTTP_CONCURRENCY, async i => { await post(net.url, '/v1/accounts', { username: users[i], password: PASSWORD }, 201) })
  const accountsS = (performance.now() - t) / 1000

  const c = await net.startSupernode('superc')
  await net.attached('superc')
  const control = ControlClient.fromDataDir(net.dataDir('superc'))
  const cStatus = await control.status()
  const target: SupernodeRef = { user: cStatus.user, deviceKey: cStatus.deviceKey, address: cStatus.advertise as string }

  t = performance.now()
  const identities = new Array<{ user: string, deviceKey: string, secretKey: Uint8Array, certificate: CreateSessionResponse['certificate'], lookup: CreateSessionResponse['lookup'] }>(users.length)
  await pool(users.length, HTTP_CONCURRENCY, async i => {
    const keys = sodium.crypto_sign_keypair()
    const deviceKey = toBase64url(keys.publicKey)
    const session = await post<CreateSessionResponse>(net.url, '/v1/sessions', { username: users[i], password: PASSWORD, deviceKey }, 201)
    identities[i] = { user: users[i] as string, deviceKey, secretKey: keys.privateKey, certificate: session.certificate, lookup: session.lookup }
  })
  const loginsS = (performance.now() - t) / 1000

  // C has been up through the logins: it has settled (mesh joined, heartbeats done).
  await sleep(2000)
  const hostsBefore = (await control.status()).hosts
  const before = memoryOf(c.pid)
  const othersBefore = others.map(p => memoryOf(p.pid).rssKb)
  const clientBefore = process.memoryUsage().rss

  const transport = createWsTransport()
  const setupMs: number[] = []
  let attached = 0
  let notAttached = 0
  /** Why hosts lost their supernode or found none (a clean run has no entries), by phase. */
  const trouble = { registration: new Map<string, number>(), steady: new Map<string, number>() }
  let phase: keyof typeof trouble = 'registration'
  const note = (what: string): void => {
    const key = what.replace(/\d+/g, 'N').slice(0, 120)
    trouble[phase].set(key, (trouble[phase].get(key) ?? 0) + 1)
  }
  t = performance.now()
  const registrationCpu = cpuMeter(c.pid)
  const registrationMachine = machineCpuMeter()
  const registrationLoop = loopDelayMeter()
  let gaveUp = false
  // Progress on stderr every 10 s through registration and the steady window, with what tells a
  // struggling run apart: C's CPU and how long it takes to answer its control API, and this
  // process's worst event-loop delay (a late pong here looks like a dead supernode to a bench host).
  let intervalCpu = cpuMeter(c.pid)
  let othersCpu = others.map(p => cpuMeter(p.pid))
  let intervalMachine = machineCpuMeter()
  let intervalLoop = loopDelayMeter()
  const progress = setInterval(() => {
    const troubles = [...trouble[phase].values()].reduce((a, b) => a + b, 0)
    const cpu = intervalCpu()
    const other = othersCpu.map((meter, i) => `${others[i]?.name ?? '?'} ${meter().other}%`).join(', ')
    const machine = intervalMachine()
    const loop = intervalLoop()
    intervalCpu = cpuMeter(c.pid)
    othersCpu = others.map(p => cpuMeter(p.pid))
    intervalMachine = machineCpuMeter()
    intervalLoop = loopDelayMeter()
    const t0 = performance.now()
    void control.status().then(status => `C hosts=${status.hosts}, C status ${Math.round(performance.now() - t0)} ms`, () => 'C status failed').then(cState => {
      process.stderr.write(`overlay-bench: ${Math.round((performance.now() - t) / 1000)} s (${phase}): ${attached} hosts attached, ${notAttached} failed, ` +
        `${troubles} detach/retry events; ${cState}, RSS ${mib(memoryOf(c.pid).rssKb)}; CPU: C ${cpu.other}%, ${other}, bench ${cpu.self}%, ` +
        `machine ${machine}% busy; bench loop delay max ${loop.max} ms\n`)
    })
  }, 10_000)
  await pool(identities.length, concurrency, async i => {
    if (notAttached >= GIVE_UP_AFTER_FAILURES) { gaveUp = true; return }
    const id = identities[i] as NonNullable<typeof identities[number]>
    const cache = createSupernodeCache()
    cache.add([target], Date.now())
    const host = await new Promise<Host | undefined>(resolve => {
      let settled = false
      const timer = setTimeout(() => {
        settled = true
        host.close()
        resolve(undefined)
      }, ATTACH_TIMEOUT_MS)
      const host: Host = createHost(
        { sodium, clock: systemClock, transport, identity: { certificate: id.certificate, secretKey: id.secretKey }, issuerKey, log: silentLogger, cache },
        {
          user: id.user,
          deviceKey: id.deviceKey,
          lookup: id.lookup,
          onEvent: event => {
            if (event.event === 'attached' && !settled) {
              settled = true
              setupMs.push(event.setupMs)
              clearTimeout(timer)
              resolve(host)
            } else if (event.event === 'attached') note(`re-attached to ${event.supernode.user === target.user ? 'C' : 'another supernode'}`)
            else if (event.event === 'detached') note(`detached: ${event.reason}`)
            else if (event.event === 'no-supernode') note(`no supernode: ${event.reason}`)
          }
        })
      host.start()
    })
    if (host === undefined) notAttached++
    else {
      attached++
      benchHosts.push(host)
    }
  })
  phase = 'steady'
  const registrationS = (performance.now() - t) / 1000
  const registrationCpuPercent = registrationCpu()
  const registrationMachineBusy = registrationMachine()
  const registrationLoopDelay = registrationLoop()

  // Every registration counted by C itself, then C just keeps them alive.
  for (const deadline = Date.now() + 30_000; (await control.status()).hosts < hostsBefore + attached && Date.now() < deadline;) await sleep(250)
  await sleep(3000)
  const windowStart = memoryOf(c.pid)
  const steadyCpu = cpuMeter(c.pid)
  const steadyLoop = loopDelayMeter()
  // C's responsiveness while it keeps its hosts: a control-API round trip every 250 ms.
  const cStatusMs: number[] = []
  const rssSamples: number[] = [windowStart.rssKb]
  for (const end = performance.now() + steadyMs; performance.now() < end; await sleep(250)) {
    const t0 = performance.now()
    await control.status()
    cStatusMs.push(performance.now() - t0)
    rssSamples.push(memoryOf(c.pid).rssKb)
  }
  const steadyCpuPercent = steadyCpu()
  const steadyLoopDelay = steadyLoop()
  clearInterval(progress)
  intervalLoop()
  const after = memoryOf(c.pid)
  const othersAfter = others.map(p => memoryOf(p.pid).rssKb)
  const clientAfter = process.memoryUsage().rss
  const hostsReported = (await net.status('superc')).hosts

  // Departures: every bench host closes its link; C must drop them all.
  t = performance.now()
  for (const host of benchHosts.splice(0)) host.close()
  let hostsAfterClose = hostsReported
  for (const deadline = Date.now() + 30_000; hostsAfterClose > hostsBefore && Date.now() < deadline; await sleep(100)) hostsAfterClose = (await control.status()).hosts
  const departureS = (performance.now() - t) / 1000
  hostsAfterClose = (await net.status('superc')).hosts

  return {
    supernode: 'superc',
    pid: c.pid,
    hostsRequested: hostCount,
    hostsAttached: attached,
    hostsBefore,
    hostsReported,
    hostsAfterClose,
    departureSeconds: round(departureS),
    accounts: { seconds: round(accountsS), perSecond: round(hostCount / accountsS) },
    logins: { seconds: round(loginsS), perSecond: round(hostCount / loginsS) },
    registration: {
      seconds: round(registrationS),
      perSecond: round(attached / registrationS),
      concurrency,
      gaveUp,
      setupMs: series(setupMs),
      supernodeCpuPercent: registrationCpuPercent.other,
      clientCpuPercent: registrationCpuPercent.self,
      machineBusyPercent: registrationMachineBusy,
      clientLoopDelayMs: registrationLoopDelay
    },
    rssKb: {
      before: before.rssKb,
      after: after.rssKb,
      growth: after.rssKb - before.rssKb,
      peak: after.peakKb,
      perHostKb: hostsReported - hostsBefore >= Math.max(1, attached * 0.99) ? round((after.rssKb - before.rssKb) / (hostsReported - hostsBefore), 2) : null,
      steadyWindow: { start: windowStart.rssKb, min: Math.min(...rssSamples), max: Math.max(...rssSamples), end: after.rssKb }
    },
    steady: {
      windowS: steadyMs / 1000,
      supernodeCpuPercent: steadyCpuPercent.other,
      clientCpuPercent: steadyCpuPercent.self,
      pingsPerSecond: Math.round((hostsReported - hostsBefore) * 1000 / PING_INTERVAL_MS),
      supernodeStatusMs: series(cStatusMs),
      clientLoopDelayMs: steadyLoopDelay
    },
    otherSupernodesRssGrowthKb: Object.fromEntries(others.map((p, i) => [p.name, (othersAfter[i] ?? 0) - (othersBefore[i] ?? 0)])),
    benchClient: { rssGrowthKb: Math.round((clientAfter - clientBefore) / 1024), perHostKb: round((clientAfter - clientBefore) / 1024 / Math.max(1, attached), 2) },
    hostsNotAttached: notAttached,
    trouble: { registration: Object.fromEntries(trouble.registration), steady: Object.fromEntries(trouble.steady) }
  }
}

// ---- the run -----------------------------------------------------------------

async function run () {
  const loadAtStart = loadavg()[0] ?? 0
  const sodium = await loadSodium()
  root = mkdtempSync(join(tmpdir(), 'voxmesh-overlay-bench-'))
  const net = await startNet(root)

  // alice joins while A is the only supernode; bob is restarted until it lands on B.
  const superA = await net.startSupernode('supera')
  await net.attached('supera')
  const alice = await net.startNode('alice', ['--role', 'host'])
  await net.attached('alice')
  const superB = await net.startSupernode('superb')
  await net.attached('superb')
  await runCli(['account', 'create', 'bob', '--login-server', net.url], { VOXMESH_PASSWORD: PASSWORD })
  let bob: Proc | undefined
  let bobAttempts = 0
  for (; bobAttempts < 10 && bob === undefined; bobAttempts++) {
    rmSync(join(net.dataDir('bob'), 'host-cache.json'), { force: true })
    const candidate = new Proc('bob', ['node', '--user', 'bob', '--login-server', net.url, '--data-dir', net.dataDir('bob'), '--json', '--log-level', 'warn', '--role', 'host'], { VOXMESH_PASSWORD: PASSWORD })
    await candidate.waitForEvent(e => e.event === 'ready', 30_000)
    if ((await net.attached('bob')).user === 'superb') bob = candidate
    else await candidate.stop()
  }
  if (bob === undefined) throw new Error('bob did not attach to supernode B in 10 attempts')

  // Contacts: alice asks, bob accepts; both then see each other online.
  await runCli(['contacts', 'add', 'bob', '--data-dir', net.dataDir('alice')])
  await bob.waitForEvent(e => e.event === 'contact-request' && e.from === 'alice')
  await runCli(['contacts', 'accept', 'alice', '--data-dir', net.dataDir('bob')])
  await bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === 'online')
  await alice.waitForEvent(e => e.event === 'presence' && e.user === 'bob' && e.status === 'online')
  const [aliceStatus, bobStatus] = [await net.status('alice'), await net.status('bob')]
  if (aliceStatus.supernode?.user !== 'supera' || bobStatus.supernode?.user !== 'superb') {
    throw new Error(`alice is on ${String(aliceStatus.supernode?.user)}, bob on ${String(bobStatus.supernode?.user)}: not on A and B`)
  }
  const aliceApi = ControlClient.fromDataDir(net.dataDir('alice'))

  // Baselines: a bare control-API call, and a whole `voxmesh status` CLI process.
  const getStatus: number[] = []
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now()
    await aliceApi.status()
    getStatus.push(performance.now() - t0)
  }
  const cliStatus: number[] = []
  for (let i = 0; i < Math.min(rounds, 10); i++) {
    const t0 = performance.now()
    await net.status('alice')
    cliStatus.push(performance.now() - t0)
  }

  // Presence: alternate away / online; latency until bob prints the change.
  const presence: number[] = []
  const presenceCall: number[] = []
  let presenceFail = 0
  for (let i = 0; i < rounds; i++) {
    const status = i % 2 === 0 ? 'away' : 'online'
    const from = bob.events.length
    const t0 = performance.now()
    const seen = bob.waitForEvent(e => e.event === 'presence' && e.user === 'alice' && e.status === status, 10_000, from)
    await aliceApi.setPresence(status)
    presenceCall.push(performance.now() - t0)
    try {
      presence.push((await seen).at - t0)
    } catch {
      presenceFail++
      await aliceApi.setPresence('online')
      await sleep(1000)
    }
    await sleep(20)
  }
  if (presenceFail > 0) await aliceApi.setPresence('online')

  // Messages: until bob prints it; the receipt time alice's node reports; the whole API call.
  const delivered: number[] = []
  const nodeToEvent: number[] = []
  const receipt: number[] = []
  const messageCall: number[] = []
  let messageFail = 0
  for (let i = 0; i < rounds; i++) {
    const text = `bench message ${i}`
    const from = bob.events.length
    const t0 = performance.now()
    const seen = bob.waitForEvent(e => e.event === 'message' && e.from === 'alice' && e.text === text, 10_000, from)
    try {
      const [event, result] = await Promise.all([seen, aliceApi.sendMessage('bob', text)])
      messageCall.push(performance.now() - t0)
      delivered.push(event.at - t0)
      nodeToEvent.push(event.wallAt - (event.event.sentAt as number))
      if (result.status === 'delivered') receipt.push(result.receiptMs)
      else messageFail++
    } catch {
      messageFail++
    }
    await sleep(20)
  }

  const capacity = hostCount > 0 ? await measureCapacity(net, sodium, [superA, superB]) : undefined

  const figures = {
    machine: { cores, node: process.version, totalMemoryMiB: Math.round(totalmem() / 2 ** 20), loadavg1AtStart: round(loadAtStart, 2), loadavg1AtEnd: round(loadavg()[0] ?? 0, 2) },
    setup: {
      rounds,
      supernodes: { supera: superA.pid, superb: superB.pid },
      alice: { supernode: aliceStatus.supernode.user, address: aliceStatus.supernode.address },
      bob: { supernode: bobStatus.supernode.user, address: bobStatus.supernode.address, startsNeeded: bobAttempts }
    },
    presence: { event: series(presence, presenceFail), apiCall: series(presenceCall) },
    message: { event: series(delivered, messageFail), nodeToEvent: series(nodeToEvent), receipt: series(receipt), apiCall: series(messageCall) },
    baseline: { controlGetStatus: series(getStatus), cliStatus: series(cliStatus) },
    ratios: {
      presenceP50VsGetStatusP50: round(percentile([...presence].sort((a, b) => a - b), 50) / percentile([...getStatus].sort((a, b) => a - b), 50), 1),
      messageEventP50VsGetStatusP50: round(percentile([...delivered].sort((a, b) => a - b), 50) / percentile([...getStatus].sort((a, b) => a - b), 50), 1)
    },
    capacity: capacity ?? null,
    /** Warnings and errors the voxmesh processes logged during the run (a clean run has none). */
    warnings: Object.fromEntries(started.filter(p => p.warnings.size > 0).map(p => [p.name, Object.fromEntries(p.warnings)]))
  }
  return figures
}

type Figures = Awaited<ReturnType<typeof run>>

function print (figures: Figures): void {
  const row = (name: string, s: Series): string =>
    `${name.padEnd(40)}${String(s.n).padStart(5)}${String(s.fail).padStart(6)}` + [s.p50, s.p90, s.p99, s.max].map(v => String(v).padStart(9)).join('')
  const { alice, bob } = figures.setup
  console.log(`voxmesh overlay bench: ${cores} cores, node ${process.version}, ${rounds} rounds, load average ${figures.machine.loadavg1AtStart} at start, ${figures.machine.loadavg1AtEnd} at end (shared machine)`)
  console.log(`alice → ${String(alice.supernode)} (${alice.address}), bob → ${String(bob.supernode)} (${bob.address}); bob started ${bob.startsNeeded}× to land on B`)
  console.log(`${'series'.padEnd(40)}${'n'.padStart(5)}${'fail'.padStart(6)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}`)
  console.log(row('presence: API call → bob\'s event', figures.presence.event))
  console.log(row('  PUT /v1/presence alone', figures.presence.apiCall))
  console.log(row('message: API call → bob\'s event', figures.message.event))
  console.log(row('  alice node sentAt → bob\'s event', figures.message.nodeToEvent))
  console.log(row('  receipt (receiptMs)', figures.message.receipt))
  console.log(row('  POST /v1/messages (waits receipt)', figures.message.apiCall))
  console.log(row('baseline: GET /v1/status', figures.baseline.controlGetStatus))
  console.log(row('baseline: `voxmesh status` process', figures.baseline.cliStatus))
  console.log(`presence p50 / GET status p50: ${figures.ratios.presenceP50VsGetStatusP50}×; message p50 / GET status p50: ${figures.ratios.messageEventP50VsGetStatusP50}×`)
  const warned = Object.entries(figures.warnings)
  console.log(warned.length === 0 ? 'warnings logged by the voxmesh processes: none'
    : `warnings logged by the voxmesh processes: ${warned.map(([name, msgs]) => `${name}: ${Object.entries(msgs).map(([m, n]) => `${n}× "${m}"`).join('; ')}`).join(' | ')}`)
  const c = figures.capacity
  if (c === null) return
  console.log(`capacity: supernode ${c.supernode} (pid ${c.pid}), ${c.hostsRequested} lightweight hosts in this process, registration concurrency ${c.registration.concurrency}`)
  console.log(`  accounts created  ${c.hostsRequested} in ${c.accounts.seconds} s (${c.accounts.perSecond}/s); logins ${c.hostsRequested} in ${c.logins.seconds} s (${c.logins.perSecond}/s)`)
  console.log(`  registered        ${c.hostsAttached} attached, ${c.hostsNotAttached} not within ${ATTACH_TIMEOUT_MS / 1000} s; ` +
    `supernode reports hosts=${c.hostsReported} (${c.hostsBefore} before)`)
  const troubles = (reasons: Record<string, number>): string => {
    const list = Object.entries(reasons).sort((a, b) => b[1] - a[1])
    return list.length === 0 ? 'none' : list.slice(0, 6).map(([m, n]) => `${n}× ${m}`).join('; ')
  }
  console.log(`  host trouble      while registering: ${troubles(c.trouble.registration)}; afterwards: ${troubles(c.trouble.steady)}`)
  console.log(`  registration      ${c.registration.seconds} s, ${c.registration.perSecond} hosts/s${c.registration.gaveUp ? ` (gave up after ${GIVE_UP_AFTER_FAILURES} failures)` : ''}; ` +
    `setup p50 ${c.registration.setupMs.p50} ms, p99 ${c.registration.setupMs.p99} ms, max ${c.registration.setupMs.max} ms`)
  console.log(`                    CPU: supernode ${c.registration.supernodeCpuPercent}%, bench client ${c.registration.clientCpuPercent}% of one core; ` +
    `machine ${c.registration.machineBusyPercent}% busy (all ${cores} cores, other tenants included); bench event-loop delay p99 ${c.registration.clientLoopDelayMs.p99} ms, max ${c.registration.clientLoopDelayMs.max} ms`)
  console.log(`  supernode RSS     ${mib(c.rssKb.before)} → ${mib(c.rssKb.after)} (+${mib(c.rssKb.growth)}, peak ${mib(c.rssKb.peak)}): ` +
    (c.rssKb.perHostKb === null ? 'no per-host figure (hosts left C during the run)' : `${c.rssKb.perHostKb} KiB per host`))
  console.log(`  steady state      ${c.steady.windowS} s keeping ${c.hostsReported - c.hostsBefore} hosts (${c.steady.pingsPerSecond} pings/s): supernode CPU ${c.steady.supernodeCpuPercent}%, ` +
    `bench client ${c.steady.clientCpuPercent}% of one core`)
  const w = c.rssKb.steadyWindow
  console.log(`                    supernode RSS over the window: start ${mib(w.start)}, min ${mib(w.min)}, max ${mib(w.max)}, end ${mib(w.end)}`)
  console.log(`                    supernode GET /v1/status p50 ${c.steady.supernodeStatusMs.p50} ms, max ${c.steady.supernodeStatusMs.max} ms; ` +
    `bench event-loop delay p99 ${c.steady.clientLoopDelayMs.p99} ms, max ${c.steady.clientLoopDelayMs.max} ms`)
  console.log(`  departures        all bench hosts closed: supernode back to hosts=${c.hostsAfterClose} in ${c.departureSeconds} s`)
  console.log(`  DHT replicas      RSS growth of the other supernodes: ${Object.entries(c.otherSupernodesRssGrowthKb).map(([k, v]) => `${k} +${mib(v)}`).join(', ')}`)
  console.log(`  bench client      RSS +${mib(c.benchClient.rssGrowthKb)} (${c.benchClient.perHostKb} KiB per host, client side)`)
}
const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`

try {
  const figures = await run()
  if (flags.json) process.stdout.write(JSON.stringify(figures) + '\n')
  else print(figures)
} catch (err) {
  if (!interrupted) process.stderr.write(`overlay-bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
// Sockets the bench hosts left half-closed must not keep the process alive; an interrupted run exits from its signal handler.
if (!interrupted) process.exit()
