// `npm run lab`: the network lab (test/netlab/, root only). Runs the vitest project `lab`, then the
// fuzz suite at 100,000 inputs per parser (lab-fuzz.mjs; only on a whole run: a run narrowed by
// vitest arguments, `--no-fuzz` or VOXMESH_LAB_NO_FUZZ=1 skips it), then prints the report table from the rows both recorded: scenario, expected path,
// observed path, setup ms, audio check both ways, verdict. Exits non-zero when vitest failed or
// any row failed. Other arguments go to vitest (e.g. `npm run lab -- -t presence`).
//
// Where the lab cannot run (not root, no `ip netns`) its tests skip and the reason is printed; the
// run exits 0, except under CI (CI set, and not "false" or "0"): CI must never pass a lab that did
// not run.
//
// `npm run lab -- --clean` removes what an interrupted run left behind: every network namespace
// whose name starts with the lab's prefix (LAB_PREFIX in test/netlab/topology.ts), after killing
// the processes still inside it.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runLabFuzz } from './lab-fuzz.mjs'

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
  const setupCell = r => r.setup !== undefined ? `${r.setup.p50} p50` : r.setupMs === undefined ? '-' : String(r.setupMs)
  return columns(header, rows.map(r => [r.scenario, r.expected, r.observed, setupCell(r), r.audio ?? '-', r.pass ? 'PASS' : 'FAIL']))
}

/** The setup-time rows (test/netlab/setup-times.test.ts) against their goals: answer → first audio, ms. */
function setupTable (rows) {
  const header = ['pair', 'calls', 'p50', 'p90', 'worst', 'goal (p50 / worst)', 'goal']
  return columns(header, rows.map(r => {
    const s = r.setup
    const met = s.calls > 0 && s.p50 <= s.goalP50 && s.worst <= s.goalWorst
    return [r.scenario.replace(/^setup: /, ''), String(s.calls), String(s.p50), String(s.p90), String(s.worst), `≤ ${s.goalP50} / ≤ ${s.goalWorst}`, met ? 'met' : 'MISSED']
  }))
}

function columns (header, cells) {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i].length)))
  const line = c => c.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

if (process.argv.includes('--clean')) {
  clean()
  process.exit(0)
}

const flag = value => value !== undefined && value !== '' && value !== '0' && value !== 'false'
const inCi = flag(process.env.CI)
const vitestArgs = process.argv.slice(2).filter(arg => arg !== '--no-fuzz')
// Someone iterating on one lab file or test does not want ten minutes of fuzzing after it.
const fuzz = vitestArgs.length === 0 && !process.argv.includes('--no-fuzz') && !flag(process.env.VOXMESH_LAB_NO_FUZZ)

const dir = mkdtempSync(join(tmpdir(), 'voxmesh-lab-'))
const results = join(dir, 'rows.jsonl')
// test/netlab/global-setup.ts writes why the lab cannot run here, if it cannot.
const skipFile = join(dir, 'skipped.txt')
let current
// A SIGTERM (or a SIGINT sent to this process alone) reaches vitest, whose teardown removes the lab.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { current?.kill(signal) })
const started = Date.now()
const code = await new Promise(resolve => {
  // vitest itself, not through npx: a signal forwarded to npx would leave vitest running.
  current = spawn(process.execPath, [VITEST, 'run', '--project', 'lab', ...vitestArgs], { stdio: 'inherit', env: { ...process.env, VOXMESH_LAB_RESULTS: results, VOXMESH_LAB_SKIP_FILE: skipFile } })
  current.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)))
})
const skipped = existsSync(skipFile) ? readFileSync(skipFile, 'utf8').trim() : undefined
const labSeconds = Math.round((Date.now() - started) / 1000)
// The NAT self-check first: the scenarios mean something only on routers that behave as named.
const selfCheckFirst = row => row.scenario.startsWith('NAT self-check') ? 0 : 1
const rows = (existsSync(results) ? readFileSync(results, 'utf8').split('\n').filter(Boolean).map(line => JSON.parse(line)) : [])
  .sort((a, b) => selfCheckFirst(a) - selfCheckFirst(b))

if (skipped !== undefined) {
  rmSync(dir, { recursive: true, force: true })
  console.log(`\nnetwork lab: SKIPPED (${skipped}); the fuzz part is not run either, ${labSeconds} s`)
  if (inCi) console.log('network lab: FAILED: CI is set, and CI must never pass a lab that did not run')
  process.exit(inCi ? 1 : code)
}
if (rows.length === 0) {
  rmSync(dir, { recursive: true, force: true })
  console.log(`\nnetwork lab: FAILED before any scenario recorded a row (vitest exit ${code}), ${labSeconds} s`)
  process.exit(code === 0 ? 1 : code)
}

const fuzzStarted = Date.now()
const fuzzed = fuzz ? await runLabFuzz(VITEST, dir, child => { current = child }) : { code: 0, rows: [] }
const fuzzSeconds = Math.round((Date.now() - fuzzStarted) / 1000)
rmSync(dir, { recursive: true, force: true })
const all = [...rows, ...fuzzed.rows]
const failed = all.filter(r => !r.pass).length
console.log(`\nnetwork lab report\n\n${table(all)}\n`)
const setupRows = all.filter(r => r.setup !== undefined)
// The goals are figures to read, not verdicts: a shared machine's wall times fail no run.
if (setupRows.length > 0) console.log(`call setup behind NATs, answer → first audio (ms)\n\n${setupTable(setupRows)}\n`)
console.log(`lab: vitest exit ${code}, ${labSeconds} s; ` +
  (fuzz ? `fuzz: vitest exit ${fuzzed.code}, ${fuzzSeconds} s; ` : 'fuzz: not run (a narrowed run, or --no-fuzz); ') +
  `total ${Math.round((Date.now() - started) / 1000)} s`)
const exitCode = code !== 0 ? code : fuzzed.code
// A test can fail (or the run be interrupted) without a failed row: then no all-clear count.
if (exitCode !== 0 && failed === 0) console.log(`lab: vitest failed (exit ${exitCode}) though every recorded row passed: see its output above`)
else console.log(`lab: ${all.length - failed} passed, ${failed} failed`)
// Once more, last, whole and one per line: a long table's failed row is easy to miss, and a CI log
// often keeps only its tail.
for (const r of all.filter(r => !r.pass)) console.log(`FAILED: ${r.scenario}: expected ${r.expected}; observed ${r.observed}`)
process.exit(failed > 0 ? 1 : exitCode)
