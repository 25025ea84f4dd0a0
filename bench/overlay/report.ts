// The overlay bench's figures as a table on stdout (--json prints them whole instead).
import { round, type Series } from '../lib/measure.js'
import type { Capacity } from './capacity.js'
import type { WsFloor } from './ws-floor.js'
import { ATTACH_TIMEOUT_MS, GIVE_UP_AFTER_FAILURES } from './constants.js'
import type { Baselines, MessageFigures, PresenceFigures } from './latency.js'

export interface Figures {
  machine: { cores: number, node: string, totalMemoryMiB: number, loadavg1AtStart: number, loadavg1AtEnd: number }
  setup: {
    rounds: number
    supernodes: { supera: number, superb: number }
    alice: { supernode: string | undefined, address: string }
    bob: { supernode: string | undefined, address: string, startsNeeded: number }
  }
  presence: PresenceFigures
  message: MessageFigures
  baseline: Baselines
  ratios: { presenceP50VsGetStatusP50: number, messageEventP50VsGetStatusP50: number }
  capacity: Capacity | null
  /** A bare ws server with C's connections and keepalive (ws-floor.ts). */
  nodeFloor: WsFloor | null
  /** Warnings and errors the voxmesh processes logged during the run (a clean run has none). */
  warnings: Record<string, Record<string, number>>
}

export const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`

export function print (figures: Figures): void {
  const row = (name: string, s: Series): string =>
    `${name.padEnd(40)}${String(s.n).padStart(5)}${String(s.fail).padStart(6)}` + [s.p50, s.p90, s.p99, s.max].map(v => String(v).padStart(9)).join('')
  const { alice, bob, rounds } = figures.setup
  const { cores, node } = figures.machine
  console.log(`voxmesh overlay bench: ${cores} cores, node ${node}, ${rounds} rounds, load average ${figures.machine.loadavg1AtStart} at start, ${figures.machine.loadavg1AtEnd} at end (shared machine)`)
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
  if (figures.capacity !== null) printCapacity(figures.capacity, cores)
  if (figures.capacity !== null && figures.nodeFloor !== null) printFloor(figures.nodeFloor, figures.capacity)
}

function printCapacity (c: Capacity, cores: number): void {
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
  console.log(`  supernode RSS     ${mib(c.rssKb.before)} → ${mib(c.rssKb.steadyWindow.start)} with every host attached, ${mib(c.rssKb.after)} at the end (+${mib(c.rssKb.growth)}, peak ${mib(c.rssKb.peak)}): ` +
    (c.rssKb.perHostKb === null ? 'no per-host figure (hosts left C during the run)' : `${c.rssKb.perHostAtAttachKb} KiB per host attached, ${c.rssKb.perHostKb} KiB at the end`))
  console.log(`  steady state      ${c.steady.windowS} s keeping ${c.hostsReported - c.hostsBefore} hosts (${c.steady.pingsPerSecond} pings/s, ≤ ${c.steady.beatsPerSecond} beats/s): supernode CPU ${c.steady.supernodeCpuPercent}%, ` +
    `bench client ${c.steady.clientCpuPercent}% of one core`)
  const w = c.rssKb.steadyWindow
  console.log(`                    supernode RSS over the window: start ${mib(w.start)}, min ${mib(w.min)}, max ${mib(w.max)}, end ${mib(w.end)}`)
  console.log(`                    supernode GET /v1/status p50 ${c.steady.supernodeStatusMs.p50} ms, max ${c.steady.supernodeStatusMs.max} ms; ` +
    `bench event-loop delay p99 ${c.steady.clientLoopDelayMs.p99} ms, max ${c.steady.clientLoopDelayMs.max} ms`)
  console.log(`  departures        all bench hosts closed: supernode back to hosts=${c.hostsAfterClose} in ${c.departureSeconds} s`)
  console.log(`  DHT replicas      RSS growth of the other supernodes: ${Object.entries(c.otherSupernodesRssGrowthKb).map(([k, v]) => `${k} +${mib(v)}`).join(', ')}`)
  console.log(`  bench client      RSS +${mib(c.benchClient.rssGrowthKb)} (${c.benchClient.perHostKb} KiB per host, client side)`)
}

function printFloor (f: WsFloor, c: Capacity): void {
  const ratio = (a: number | null, b: number): string => a === null || b <= 0 ? '–' : `${round(a / b, 2)}×`
  console.log(`  Node floor        a bare ws server holding ${f.connections} connections: ${f.perConnectionKb} KiB each; their keepalive (${f.framesPerSecond} frames/s) ${f.cpuPercent}% of one core. ` +
    `C: ${ratio(c.rssKb.perHostAtAttachKb, f.perConnectionKb)} the floor's memory per host attached, ${ratio(c.steady.supernodeCpuPercent, f.cpuPercent)} its CPU`)
}
