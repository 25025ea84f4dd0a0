// `npm run demo`: a whole voxmesh network on loopback, run through the real CLI — a login server, two
// supernodes (with their TURN relays) and two users who become contacts (network.ts) — then one direct
// and one relay-only call carrying a 440 Hz tone, each checked from the callee's recording (calls.ts),
// then calls to phone numbers through the PSTN gateway, with alice's balance before and after (pstn.ts).
// Everything lives in ./voxmesh-demo/<timestamp>/ (data dirs, logs/, recordings/); every process started
// here is stopped on exit, on error and on Ctrl-C. Exits 0 when both calls took their path and passed.
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { killAll, stopAll } from '../bench/lib/processes.js'
import { placeCall } from './calls.js'
import { phoneCalls } from './pstn.js'
import { startDemoNetwork, type DemoDirs } from './network.js'
import { shown, step } from './print.js'

const root = resolve('voxmesh-demo', new Date().toISOString().replace(/[:.]/g, '-'))
const dirs: DemoDirs = { root, logs: join(root, 'logs'), recordings: join(root, 'recordings') }

/** SIGTERM to every process still running, then SIGKILL for any still there after 5 s. */
let stopping: Promise<number> | undefined
const cleanup = (): Promise<number> => (stopping ??= stopAll(5000))
process.once('SIGINT', () => {
  step('interrupted: stopping everything')
  void cleanup().then(n => { step(`stopped the ${n} processes the demo started`) }).finally(() => process.exit(130))
})
process.once('SIGTERM', () => { void cleanup().finally(() => process.exit(143)) })
process.once('exit', () => { void killAll() })

async function main (): Promise<boolean> {
  mkdirSync(dirs.logs, { recursive: true })
  step(`demo directory: ${shown(dirs.root)} (data dirs, logs/, recordings/)`)
  const net = await startDemoNetwork(dirs)
  const direct = await placeCall(net, dirs, false)
  const relayed = await placeCall(net, dirs, true)
  const phones = await phoneCalls(net, dirs)
  step(`recordings are in ${shown(dirs.recordings)}, logs in ${shown(dirs.logs)}`)
  return direct && relayed && phones
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
step(ok ? 'demo passed: a direct and a relayed call carried the tone; the echo line and a phone number answered, and the call was billed' : 'demo FAILED')
process.exitCode = ok ? 0 : 1
