// How long a client command takes, whole process, against `node -e 0` measured in the same run.
// It starts a network as the README does (a login server, a supernode, alice's node), then runs,
// interleaved so that the machine's load falls on each alike:
//   - `voxmesh status --data-dir ALICE`: a client command against a running node (it reads
//     control.json, asks the node's control API, prints the answer);
//   - `voxmesh --help`: the program's definitions alone;
//   - `node -e 0`: Node's own start, the floor.
// and prints each one's median and p90 with its ratio to `node -e 0`'s. The issue's bar: a client
// command under 2.5× `node -e 0`.
//
//   npm run bench:cli -- [--runs 30] [--json]
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { percentile, round } from './lib/measure.js'
import { stopAll, VOXMESH_BIN } from './lib/processes.js'
import { startNet } from './overlay/network.js'
import { runBench } from './lib/run-bench.js'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, json: { type: 'boolean', default: false } } })
const runs = Number(values.runs)
if (!Number.isSafeInteger(runs) || runs < 3 || runs > 1000) {
  process.stderr.write('cli-start: --runs must be a whole number from 3 to 1000\n')
  process.exit(2)
}

let root: string | undefined
async function cleanup (): Promise<void> {
  await stopAll()
  if (root !== undefined) rmSync(root, { recursive: true, force: true })
  root = undefined
}

/** Milliseconds from spawning `node ARGS` to its exit; it must exit 0. */
function timeProcess (args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.once('error', reject)
    child.once('close', code => {
      const ms = performance.now() - t0
      if (code === 0) resolve(ms)
      else reject(new Error(`node ${args.join(' ')} exited ${String(code)}: ${stderr.trim()}`))
    })
  })
}

interface Row { command: string, p50: number, p90: number, ratioP50: number, ratioP90: number }

async function main (): Promise<void> {
  root = mkdtempSync(join(tmpdir(), 'voxmesh-bench-cli-'))
  const net = await startNet(root)
  await net.startSupernode('super1')
  await net.startNode('alice', [])
  await net.attached('alice')

  /** [label as printed, node's arguments] */
  const commands: Array<[string, string[]]> = [
    ['`node -e 0`', ['-e', '0']],
    ['`voxmesh --help`', [VOXMESH_BIN, '--help']],
    ['`voxmesh status` (alice\'s node running)', [VOXMESH_BIN, 'status', '--data-dir', net.dataDir('alice')]]
  ]
  const samples = commands.map((): number[] => [])
  const loadBefore = loadavg()[0] ?? 0
  // One warm-up round (file cache), then `runs` interleaved rounds.
  for (let pass = -1; pass < runs; pass++) {
    for (const [i, [, args]] of commands.entries()) {
      const ms = await timeProcess(args)
      if (pass >= 0) samples[i]?.push(ms)
    }
  }
  const loadAfter = loadavg()[0] ?? 0
  const stats = samples.map(s => { const sorted = [...s].sort((a, b) => a - b); return { p50: percentile(sorted, 50), p90: percentile(sorted, 90) } })
  const floor = stats[0] as { p50: number, p90: number }
  const rows: Row[] = commands.map(([command], i) => {
    const { p50, p90 } = stats[i] as { p50: number, p90: number }
    return { command, p50: round(p50), p90: round(p90), ratioP50: round(p50 / floor.p50, 2), ratioP90: round(p90 / floor.p90, 2) }
  })
  const machine = { cores: availableParallelism(), loadBefore: round(loadBefore, 2), loadAfter: round(loadAfter, 2), node: process.version }
  if (values.json) {
    process.stdout.write(JSON.stringify({ runs, machine, rows }) + '\n')
    return
  }
  process.stdout.write(`${runs} runs each, interleaved; ${machine.cores} cores, load average ${machine.loadBefore} → ${machine.loadAfter}, Node ${machine.node}\n\n`)
  process.stdout.write('| command | p50 ms | p90 ms | × `node -e 0` (p50) | × `node -e 0` (p90) |\n|---|---|---|---|---|\n')
  for (const row of rows) process.stdout.write(`| ${row.command} | ${row.p50} | ${row.p90} | ${row.ratioP50} | ${row.ratioP90} |\n`)
}

await runBench('cli-start', main, cleanup)
