// The capacity part: a third supernode process C and, in this process, K lightweight hosts
// (hosts.ts) registered with C only, `concurrency` registrations at a time (registration.ts).
// C's RSS (VmRSS) before and after gives memory per host; also the registration rate, C's CPU
// and responsiveness while it just keeps K hosts alive (keepalive pings) for the steady window,
// and how fast it lets them all go.
import { performance } from 'node:perf_hooks'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import type { CreateSessionResponse, InfoResponse } from '../../common/login-api.js'
import type { Sodium } from '../../common/sodium.js'
import { ControlClient } from '../../node/index.js'
import type { SupernodeRef } from '../../node/index.js'
import { BEAT_INTERVAL_MS, PING_INTERVAL_MS } from '../../node/index.js'
import { cpuMeter, loopDelayMeter, machineCpuMeter, memoryOf, pool, round, series, sleep, type LoopDelay, type Series } from '../lib/measure.js'
import type { Proc } from '../lib/processes.js'
import { HTTP_CONCURRENCY, PASSWORD } from './constants.js'
import { closeBenchHosts, type Identity } from './hosts.js'
import { post } from './http.js'
import type { Net } from './network.js'
import { newRegistrationState, registerHosts, reportProgress } from './registration.js'

export interface Capacity {
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
    /** The same at the steady window's start, every host just attached (before republish garbage piles up). */
    perHostAtAttachKb: number | null
    /** RSS over the steady window (sampled every 250 ms): a leak shows as a rising min. */
    steadyWindow: { start: number, min: number, max: number, end: number }
  }
  steady: {
    windowS: number
    supernodeCpuPercent: number
    clientCpuPercent: number
    pingsPerSecond: number
    /** Beats a host sends when it sent nothing else for BEAT_INTERVAL_MS: at most this many per second. */
    beatsPerSecond: number
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

export interface CapacityOptions { hostCount: number, concurrency: number, steadyMs: number }

/** The bench users' accounts, then C, then their logins (each its own device key): C is up and settling meanwhile. */
async function signUpHosts (net: Net, sodium: Sodium, hostCount: number) {
  const users = Array.from({ length: hostCount }, (_, i) => `bench${String(i + 1).padStart(5, '0')}`)
  let t = performance.now()
  await pool(users.length, HTTP_CONCURRENCY, async i => { await post(net.url, '/v1/accounts', { username: users[i], password: PASSWORD }, 201) })
  const accountsS = (performance.now() - t) / 1000

  const c = await net.startSupernode('superc')
  await net.attached('superc')
  const control = ControlClient.fromDataDir(net.dataDir('superc'))
  const cStatus = await control.status()
  const target: SupernodeRef = { user: cStatus.user, deviceKey: cStatus.deviceKey, address: cStatus.advertise as string }

  t = performance.now()
  const identities = new Array<Identity>(users.length)
  await pool(users.length, HTTP_CONCURRENCY, async i => {
    const keys = sodium.crypto_sign_keypair()
    const deviceKey = toBase64url(keys.publicKey)
    const session = await post<CreateSessionResponse>(net.url, '/v1/sessions', { username: users[i], password: PASSWORD, deviceKey }, 201)
    identities[i] = { user: users[i] as string, deviceKey, secretKey: keys.privateKey, certificate: session.certificate, lookup: session.lookup }
  })
  const loginsS = (performance.now() - t) / 1000
  return { c, control, target, identities, accountsS, loginsS }
}

/** C's responsiveness and memory while it only keeps its hosts: a control-API round trip every 250 ms. */
async function watchSteadyWindow (c: Proc, control: ControlClient, steadyMs: number) {
  const windowStart = memoryOf(c.pid)
  const steadyCpu = cpuMeter(c.pid)
  const steadyLoop = loopDelayMeter()
  const cStatusMs: number[] = []
  const rssSamples: number[] = [windowStart.rssKb]
  for (const end = performance.now() + steadyMs; performance.now() < end; await sleep(250)) {
    const t0 = performance.now()
    await control.status()
    cStatusMs.push(performance.now() - t0)
    rssSamples.push(memoryOf(c.pid).rssKb)
  }
  return { windowStart, cStatusMs, rssSamples, cpuPercent: steadyCpu(), loopDelay: steadyLoop() }
}

/** Every bench host closes its link; C must drop them all. */
async function measureDepartures (net: Net, control: ControlClient, hostsReported: number, hostsBefore: number) {
  const t = performance.now()
  closeBenchHosts()
  let hostsAfterClose = hostsReported
  for (const deadline = Date.now() + 30_000; hostsAfterClose > hostsBefore && Date.now() < deadline; await sleep(100)) hostsAfterClose = (await control.status()).hosts
  const departureS = (performance.now() - t) / 1000
  hostsAfterClose = (await net.status('superc')).hosts
  return { departureS, hostsAfterClose }
}

export async function measureCapacity (net: Net, sodium: Sodium, others: Proc[], options: CapacityOptions): Promise<Capacity> {
  const { hostCount, concurrency, steadyMs } = options
  const info = await (await fetch(`${net.url}/v1/info`)).json() as InfoResponse
  const issuerKey = fromBase64url(info.publicKey) as Uint8Array
  const { c, control, target, identities, accountsS, loginsS } = await signUpHosts(net, sodium, hostCount)

  // C has been up through the logins: it has settled (mesh joined, heartbeats done).
  await sleep(2000)
  const hostsBefore = (await control.status()).hosts
  const before = memoryOf(c.pid)
  const othersBefore = others.map(p => memoryOf(p.pid).rssKb)
  const clientBefore = process.memoryUsage().rss

  const state = newRegistrationState()
  const t = performance.now()
  const registrationCpu = cpuMeter(c.pid)
  const registrationMachine = machineCpuMeter()
  const registrationLoop = loopDelayMeter()
  const stopProgress = reportProgress(c, others, control, state, t)
  await registerHosts({ sodium, issuerKey, target, identities, concurrency }, state)
  state.phase = 'steady'
  const registrationS = (performance.now() - t) / 1000
  const registrationCpuPercent = registrationCpu()
  const registrationMachineBusy = registrationMachine()
  const registrationLoopDelay = registrationLoop()
  const { attached } = state

  // Every registration counted by C itself, then C just keeps them alive.
  for (const deadline = Date.now() + 30_000; (await control.status()).hosts < hostsBefore + attached && Date.now() < deadline;) await sleep(250)
  await sleep(3000)
  const steady = await watchSteadyWindow(c, control, steadyMs)
  stopProgress()
  const after = memoryOf(c.pid)
  const othersAfter = others.map(p => memoryOf(p.pid).rssKb)
  const clientAfter = process.memoryUsage().rss
  const hostsReported = (await net.status('superc')).hosts
  const { departureS, hostsAfterClose } = await measureDepartures(net, control, hostsReported, hostsBefore)
  const allStayed = hostsReported - hostsBefore >= Math.max(1, attached * 0.99)

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
      gaveUp: state.gaveUp,
      setupMs: series(state.setupMs),
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
      perHostKb: allStayed ? round((after.rssKb - before.rssKb) / (hostsReported - hostsBefore), 2) : null,
      perHostAtAttachKb: allStayed ? round((steady.windowStart.rssKb - before.rssKb) / (hostsReported - hostsBefore), 2) : null,
      steadyWindow: { start: steady.windowStart.rssKb, min: Math.min(...steady.rssSamples), max: Math.max(...steady.rssSamples), end: after.rssKb }
    },
    steady: {
      windowS: steadyMs / 1000,
      supernodeCpuPercent: steady.cpuPercent.other,
      clientCpuPercent: steady.cpuPercent.self,
      pingsPerSecond: Math.round((hostsReported - hostsBefore) * 1000 / PING_INTERVAL_MS),
      beatsPerSecond: Math.round((hostsReported - hostsBefore) * 1000 / BEAT_INTERVAL_MS),
      supernodeStatusMs: series(steady.cStatusMs),
      clientLoopDelayMs: steady.loopDelay
    },
    otherSupernodesRssGrowthKb: Object.fromEntries(others.map((p, i) => [p.name, (othersAfter[i] ?? 0) - (othersBefore[i] ?? 0)])),
    benchClient: { rssGrowthKb: Math.round((clientAfter - clientBefore) / 1024), perHostKb: round((clientAfter - clientBefore) / 1024 / Math.max(1, attached), 2) },
    hostsNotAttached: state.notAttached,
    trouble: { registration: Object.fromEntries(state.trouble.registration), steady: Object.fromEntries(state.trouble.steady) }
  }
}
