// Runs the `integration` vitest project with a guard against one known hang.
//
// libdatachannel 0.24.5 (inside node-datachannel 0.33, the newest release) can
// deadlock a whole process while a relayed connection sets up (libdatachannel
// #1630, fixed upstream after that release). When it happens inside a test
// worker, that worker never exits and vitest waits for it forever. So: if the
// run produces no output for IDLE_LIMIT_MS, its whole process group is killed,
// the hang is reported, and the project runs again, up to ATTEMPTS runs in all
// (a hang showed in one of the fresh-clone CI runs of 2026-12-07; two in a row
// are rarer, but would fail a good change). A run that fails its tests is never
// retried, and a hang in the last run fails. Arguments go to vitest.
import { spawn } from 'node:child_process'

const IDLE_LIMIT_MS = 5 * 60_000
const ATTEMPTS = 3

/** Resolves with vitest's exit code, or 'hung'. */
function runOnce () {
  return new Promise(resolve => {
    const child = spawn('npx', ['vitest', 'run', '--project', 'integration', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let timer
    const idle = () => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        process.stderr.write(`\nintegration tests: no output for ${IDLE_LIMIT_MS / 1000} s: a test worker hung (libdatachannel #1630); killing the run\n`)
        try { process.kill(-child.pid, 'SIGKILL') } catch {}
        resolve('hung')
      }, IDLE_LIMIT_MS)
    }
    child.stdout.on('data', chunk => { process.stdout.write(chunk); idle() })
    child.stderr.on('data', chunk => { process.stderr.write(chunk); idle() })
    child.on('exit', code => { clearTimeout(timer); resolve(code ?? 1) })
    idle()
  })
}

for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
  const result = await runOnce()
  if (result !== 'hung') process.exit(result)
  if (attempt < ATTEMPTS) process.stderr.write('integration tests: running the integration project once more\n')
}
process.stderr.write(`integration tests: hung ${ATTEMPTS} times\n`)
process.exit(1)
