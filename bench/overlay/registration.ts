// The registration phase of the capacity part: the bench hosts register with C, `concurrency`
// at a time, until all are attached or GIVE_UP_AFTER_FAILURES have failed; and the progress line
// on stderr every 10 s through registration and the steady window.
import { performance } from 'node:perf_hooks'
import type { Sodium } from '../../common/sodium.js'
import type { ControlClient } from '../../node/index.js'
import { createWsTransport } from '../../node/index.js'
import type { SupernodeRef } from '../../node/index.js'
import { cpuMeter, loopDelayMeter, machineCpuMeter, memoryOf, pool } from '../lib/measure.js'
import type { Proc } from '../lib/processes.js'
import { GIVE_UP_AFTER_FAILURES } from './constants.js'
import { benchHosts, startBenchHost, type Identity } from './hosts.js'
import { mib } from './report.js'

/** What the registration phase has seen so far (the progress line reads it). */
export interface RegistrationState {
  attached: number
  notAttached: number
  /** Stopped early: GIVE_UP_AFTER_FAILURES hosts failed to register. */
  gaveUp: boolean
  setupMs: number[]
  /** Why hosts lost their supernode or found none (a clean run has no entries), by phase. */
  trouble: { registration: Map<string, number>, steady: Map<string, number> }
  phase: 'registration' | 'steady'
}

export function newRegistrationState (): RegistrationState {
  return { attached: 0, notAttached: 0, gaveUp: false, setupMs: [], trouble: { registration: new Map(), steady: new Map() }, phase: 'registration' }
}

/** Counts a trouble report under the current phase, digits folded so like reasons add up. */
function note (state: RegistrationState, what: string): void {
  const key = what.replace(/\d+/g, 'N').slice(0, 120)
  state.trouble[state.phase].set(key, (state.trouble[state.phase].get(key) ?? 0) + 1)
}

export interface RegistrationInit {
  sodium: Sodium
  issuerKey: Uint8Array
  target: SupernodeRef
  identities: Identity[]
  concurrency: number
}

/** Registers a host per identity with the target; the attached ones go to benchHosts. */
export async function registerHosts (init: RegistrationInit, state: RegistrationState): Promise<void> {
  const transport = createWsTransport()
  const hostInit = { sodium: init.sodium, transport, issuerKey: init.issuerKey, target: init.target, onTrouble: (what: string) => { note(state, what) } }
  await pool(init.identities.length, init.concurrency, async i => {
    if (state.notAttached >= GIVE_UP_AFTER_FAILURES) { state.gaveUp = true; return }
    const started = await startBenchHost(hostInit, init.identities[i] as Identity)
    if (started === undefined) state.notAttached++
    else {
      state.setupMs.push(started.setupMs)
      state.attached++
      benchHosts.push(started.host)
    }
  })
}

/**
 * Progress on stderr every 10 s, with what tells a struggling run apart: C's CPU and how long it
 * takes to answer its control API, and this process's worst event-loop delay (a late pong here
 * looks like a dead supernode to a bench host). Returns the stop function.
 */
export function reportProgress (c: Proc, others: Proc[], control: ControlClient, state: RegistrationState, startedAt: number): () => void {
  let intervalCpu = cpuMeter(c.pid)
  let othersCpu = others.map(p => cpuMeter(p.pid))
  let intervalMachine = machineCpuMeter()
  let intervalLoop = loopDelayMeter()
  const progress = setInterval(() => {
    const troubles = [...state.trouble[state.phase].values()].reduce((a, b) => a + b, 0)
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
      process.stderr.write(`overlay-bench: ${Math.round((performance.now() - startedAt) / 1000)} s (${state.phase}): ${state.attached} hosts attached, ${state.notAttached} failed, ` +
        `${troubles} detach/retry events; ${cState}, RSS ${mib(memoryOf(c.pid).rssKb)}; CPU: C ${cpu.other}%, ${other}, bench ${cpu.self}%, ` +
        `machine ${machine}% busy; bench loop delay max ${loop.max} ms\n`)
    })
  }, 10_000)
  return () => {
    clearInterval(progress)
    intervalLoop()
  }
}
