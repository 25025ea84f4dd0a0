// Overlay benchmark on a real multi-process loopback network (network.ts): a login server,
// two supernodes (A, B) and two user nodes, alice on A and bob on B, who are contacts (pair.ts).
// It reports (latency.ts)
//   - presence propagation: alice's control API sets away/online → bob's --json
//     stdout shows {"event":"presence","user":"alice",...};
//   - message delivery alice → bob across the two supernodes: until bob's stdout
//     shows the message, and the receipt time alice's node reports (receiptMs);
//   - baselines from the same run: a bare control-API call (GET /v1/status) and a
//     `voxmesh status` CLI process, so the overlay's share of the latency shows;
//   - capacity (capacity.ts): a third supernode process C and, in this process, K lightweight
//     hosts (the real Host of node/overlay/host.ts over the ws transport, each its
//     own account, device key and certificate) registered with C only, `--concurrency`
//     registrations at a time. C's RSS (VmRSS) before and after gives memory per
//     host; also the registration rate, C's CPU and responsiveness while it just
//     keeps K hosts alive (keepalive pings) for `--steady` seconds, and how fast it
//     lets them all go. Progress goes to stderr every 10 s; after 50 hosts fail to
//     register it stops starting new ones and reports what the hosts saw;
//   - the Node floor of those figures (ws-floor.ts): a bare WebSocket server holding as many
//     connections, receiving the same keepalive frames.
//
//   npm run bench:overlay -- [--rounds 50] [--hosts 5000] [--concurrency 50] [--steady 120] [--json]
//
// The login server runs with cheap argon2id (ops 1, 1 MiB) and --trust-proxy: the
// K accounts and logins carry their own X-Forwarded-For addresses, past the
// per-IP rate limits (10 accounts/h, 60 logins/min). Every process and the temp
// dir are removed on exit, error, SIGINT and SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { loadSodium } from '../../common/sodium.js'
import { percentile, round } from '../lib/measure.js'
import { started, stopAll } from '../lib/processes.js'
import { measureCapacity } from './capacity.js'
import { measureWsFloor, stopWsFloor } from './ws-floor.js'
import { closeBenchHosts } from './hosts.js'
import { measureBaselines, measureMessages, measurePresence } from './latency.js'
import { startNet } from './network.js'
import { parseOptions, type OverlayBenchOptions } from './options.js'
import { startPair } from './pair.js'
import { print, type Figures } from './report.js'

const options = parseOptions()
let root: string | undefined

async function cleanup (): Promise<void> {
  closeBenchHosts()
  stopWsFloor()
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

const p50 = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50)

async function run ({ rounds, hostCount, concurrency, steadyMs }: OverlayBenchOptions): Promise<Figures> {
  const loadAtStart = loadavg()[0] ?? 0
  const sodium = await loadSodium()
  root = mkdtempSync(join(tmpdir(), 'voxmesh-overlay-bench-'))
  const net = await startNet(root)
  const pair = await startPair(net)

  const baselines = await measureBaselines(net, rounds)
  const presence = await measurePresence(net, pair, rounds)
  const messages = await measureMessages(net, pair, rounds)
  const capacity = hostCount > 0 ? await measureCapacity(net, sodium, [pair.superA, pair.superB], { hostCount, concurrency, steadyMs }) : undefined
  const held = capacity === undefined ? 0 : capacity.hostsReported - capacity.hostsBefore
  const nodeFloor = held > 0 ? await measureWsFloor(held) : undefined

  return {
    machine: { cores: availableParallelism(), node: process.version, totalMemoryMiB: Math.round(totalmem() / 2 ** 20), loadavg1AtStart: round(loadAtStart, 2), loadavg1AtEnd: round(loadavg()[0] ?? 0, 2) },
    setup: {
      rounds,
      supernodes: { supera: pair.superA.pid, superb: pair.superB.pid },
      alice: { supernode: pair.aliceStatus.supernode.user, address: pair.aliceStatus.supernode.address },
      bob: { supernode: pair.bobStatus.supernode.user, address: pair.bobStatus.supernode.address, startsNeeded: pair.bobAttempts }
    },
    presence: presence.figures,
    message: messages.figures,
    baseline: baselines.figures,
    ratios: {
      presenceP50VsGetStatusP50: round(p50(presence.presence) / p50(baselines.getStatus), 1),
      messageEventP50VsGetStatusP50: round(p50(messages.delivered) / p50(baselines.getStatus), 1)
    },
    capacity: capacity ?? null,
    nodeFloor: nodeFloor ?? null,
    warnings: Object.fromEntries(started.filter(p => p.warnings.size > 0).map(p => [p.name, Object.fromEntries(p.warnings)]))
  }
}

try {
  const figures = await run(options)
  if (options.json) process.stdout.write(JSON.stringify(figures) + '\n')
  else print(figures)
} catch (err) {
  if (!interrupted) process.stderr.write(`overlay-bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}
// Sockets the bench hosts left half-closed must not keep the process alive; an interrupted run exits from its signal handler.
if (!interrupted) process.exit()
