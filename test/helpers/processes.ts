// Real `voxmesh` processes for tests. Every process started here is killed by
// killAll() (call it in afterEach/afterAll), so a failing test leaves none behind.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

export const VOXMESH_BIN = fileURLToPath(new URL('../../dist/bin/voxmesh.js', import.meta.url))

const running = new Set<ChildProcess>()

export interface CliProcess {
  child: ChildProcess
  stdoutLines: string[]
  stderrLines: string[]
  /** Resolves with the first stdout line matching `pattern` (or rejects on exit / timeout). */
  waitForLine: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
  /** Sends a signal and waits for the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

export function startCli (args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [VOXMESH_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  const exited = new Promise<number | null>(resolve => child.once('exit', code => { running.delete(child); resolve(code) }))
  const stdoutLines: string[] = []
  const stderrLines: string[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', line => {
    stdoutLines.push(line)
    for (const wake of waiters) wake()
  })
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', line => { stderrLines.push(line) })

  return {
    child,
    stdoutLines,
    stderrLines,
    waitForLine: (pattern, timeoutMs = 20_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of stdoutLines) {
          const match = pattern.exec(line)
          if (match !== null) { done(); resolve(match); return }
        }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`no stdout line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderrLines.slice(-5).join('\n')}`)) }, timeoutMs)
      const onExit = (code: number | null): void => { done(); reject(new Error(`process exited (${code}) before printing ${pattern}; stderr: ${stderrLines.slice(-5).join('\n')}`)) }
      const done = (): void => { clearTimeout(timer); waiters.delete(check); child.off('exit', onExit) }
      waiters.add(check)
      child.once('exit', onExit)
      check()
    }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return await exited
    }
  }
}

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs a command to completion. */
export function runCli (args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VOXMESH_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`voxmesh ${args.join(' ')} did not finish in ${timeoutMs} ms`)) }, timeoutMs)
    child.once('exit', code => { clearTimeout(timer); running.delete(child); resolve({ code, stdout, stderr }) })
  })
}

export async function killAll (): Promise<void> {
  await Promise.all([...running].map(child => new Promise<void>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
    child.once('exit', () => { resolve() })
    child.kill('SIGKILL')
  })))
  running.clear()
}
