// `npm run lab`: the network lab (test/netlab/, root only). Runs the vitest project `lab`, then
// prints the report table from the rows its tests recorded: scenario, expected path, observed
// path, setup ms, audio check both ways, verdict. Exits non-zero when vitest failed or any row
// failed. Arguments go to vitest (e.g. `npm run lab -- -t presence`).
//
// `npm run lab -- --clean` removes what an interrupted run left behind: every network namespace
// whose name starts with the lab's prefix (LAB_PREFIX in test/netlab/topology.ts), after killing
// the processes still inside it.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const LAB_PREFIX = 'vxlab-'
const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url))

function clean () {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map(line => line.split(' ')[0]).filter(name => name.startsWith(LAB_PREFIX))
  for (const ns of names) {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)
    for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch {} }
    execFileSync('ip', ['netns', 'del', ns])
  }
  console.log(names.length === 0 ? 'no lab namespaces to remove' : `removed ${names.length} lab namespaces: ${names.join(', ')}`)
}

function table (rows) {
  const header = ['scenario', 'expected', 'observed', 'setup ms', 'audio (caller hears / callee hears)', 'verdict']
  const cells = rows.map(r => [r.scenario, r.expected, r.observed, r.setupMs === undefined ? '-' : String(r.setupMs), r.audio ?? '-', r.pass ? 'PASS' : 'FAIL'])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)))
  const line = c => c.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

if (process.argv.includes('--clean')) {
  clean()
  process.exit(0)
}

const dir = mkdtempSync(join(tmpdir(), 'voxmesh-lab-'))
const results = join(dir, 'rows.jsonl')
const started = Date.now()
const code = await new Promise(resolve => {
  // vitest itself, not through npx: a signal forwarded to npx would leave vitest running.
  const child = spawn(process.execPath, [VITEST, 'run', '--project', 'lab', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, VOXMESH_LAB_RESULTS: results } })
  // A SIGTERM (or a SIGINT sent to this process alone) reaches vitest, whose teardown removes the lab.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { child.kill(signal) })
  child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)))
})
// The NAT self-check first: the scenarios mean something only on routers that behave as named.
const selfCheckFirst = row => row.scenario.startsWith('NAT self-check') ? 0 : 1
const rows = (existsSync(results) ? readFileSync(results, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line)) : [])
  .sort((a, b) => selfCheckFirst(a) - selfCheckFirst(b))
rmSync(dir, { recursive: true, force: true })
const seconds = Math.round((Date.now() - started) / 1000)

if (rows.length === 0) {
  console.log(code === 0
    ? `\nnetwork lab: no scenario ran (SKIPPED: the reason is printed above), ${seconds} s`
    : `\nnetwork lab: FAILED before any scenario recorded a row (vitest exit ${code}), ${seconds} s`)
  process.exit(code)
}
const failed = rows.filter(r => !r.pass).length
console.log(`\nnetwork lab report\n\n${table(rows)}\n`)
console.log(`vitest exit ${code}; ${seconds} s`)
// A test can fail (or the run be interrupted) without a failed row: then no all-clear count.
if (code !== 0 && failed === 0) console.log(`lab: vitest failed (exit ${code}) though every recorded row passed: see its output above`)
else console.log(`lab: ${rows.length - failed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : code)
