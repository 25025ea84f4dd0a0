// Real `voxmesh` processes, for the benchmarks, the demo and (through
// test/helpers/processes.ts) the tests: this folder is compiled, test/ is not.
// Each long-running process keeps its stdout lines (and, with --json, its events,
// stamped on arrival), its stderr lines, and the warnings of its JSON logs counted.
// stopAll() and killAll() end whatever is still running, so a failing run leaves
// none behind.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { basename, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'

/**
 * The compiled CLI. Compiled, this file is dist/bench/lib/processes.js, next to dist/bin/; the tests
 * load it from source (bench/lib/processes.ts) and run the compiled CLI all the same.
 */
export const VOXMESH_BIN = basename(resolve(import.meta.dirname, '../..')) === 'dist'
  ? resolve(import.meta.dirname, '../../bin/voxmesh.js')
  : resolve(import.meta.dirname, '../../dist/bin/voxmesh.js')

/** Every child still running, whichever helper started it. */
const running = new Set<ChildProcess>()

/** `prefix`: a command the CLI runs under, e.g. `ip netns exec NS` (it must exec the rest, so signals reach the CLI). */
function spawnVoxmesh (args: string[], env: Record<string, string>, prefix: string[] = []): ChildProcess {
  const [command, ...rest] = [...prefix, process.execPath, VOXMESH_BIN, ...args] as [string, ...string[]]
  const child = spawn(command, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  // 'close', not 'exit': by then stdout is drained, so every line is in.
  child.once('close', () => { running.delete(child) })
  return child
}

export interface Stamped { event: Record<string, unknown>, at: number, wallAt: number }

export interface ProcOptions {
  /** Its stdout and stderr are also written to this file (the demo's logs/NAME.log). */
  logFile?: string
  /** Runs it under this command, e.g. `ip netns exec NS` (the network lab). */
  prefix?: string[]
}

/** A long-running `voxmesh` process; with --json its stdout lines are events, each stamped on arrival. */
export class Proc {
  readonly child: ChildProcess
  readonly events: Stamped[] = []
  readonly stdoutLines: string[] = []
  readonly stderrLines: string[] = []
  /** Log lines at warn or above (pino level ≥ 40), counted by message. */
  readonly warnings = new Map<string, number>()
  private readonly waiters = new Set<() => void>()
  /** The exit code (null when a signal ended it), once stdout and stderr are drained. */
  readonly exited: Promise<number | null>

  constructor (readonly name: string, args: string[], env: Record<string, string> = {}, options: ProcOptions = {}) {
    this.child = spawnVoxmesh(args, env, options.prefix)
    started.push(this)
    this.exited = new Promise(resolve => this.child.once('close', code => { this.wake(); resolve(code) }))
    const log = options.logFile === undefined ? undefined : createWriteStream(options.logFile)
    if (log !== undefined) this.child.stderr?.pipe(log)
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', line => {
      const at = performance.now()
      const wallAt = Date.now()
      this.stdoutLines.push(line)
      log?.write(line + '\n')
      try { this.events.push({ event: JSON.parse(line) as Record<string, unknown>, at, wallAt }) } catch {}
      this.wake()
    })
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', line => {
      this.stderrLines.push(line)
      this.countWarning(line)
    })
  }

  get pid (): number { return this.child.pid as number }
  get alive (): boolean { return this.child.exitCode === null && this.child.signalCode === null }
  /** The last lines it wrote to stderr. */
  get stderr (): string { return this.stderrLines.slice(-10).join('\n') }

  private wake (): void { for (const wake of [...this.waiters]) wake() }
  private describe (): string { return `${this.name} (exit ${String(this.child.exitCode ?? this.child.signalCode)}); stderr:\n${this.stderr}` }

  private countWarning (line: string): void {
    try {
      const entry = JSON.parse(line) as { level?: number, msg?: string }
      if ((entry.level ?? 0) >= 40) {
        const msg = String(entry.msg ?? line).replace(/\d+/g, 'N').slice(0, 160)
        this.warnings.set(msg, (this.warnings.get(msg) ?? 0) + 1)
      }
    } catch {}
  }

  /** The first stdout item (from index `from` of `list`) that `match` returns a value for, past or future. */
  private waitFor<T, R> (list: () => T[], match: (item: T) => R | undefined, timeoutMs: number, from: number, what: string): Promise<R> {
    return new Promise((resolve, reject) => {
      let next = from
      const check = (): void => {
        const items = list()
        for (; next < items.length; next++) {
          const found = match(items[next] as T)
          if (found !== undefined) { done(); resolve(found); return }
        }
        if (!this.alive) { done(); reject(new Error(`${this.describe()}\nexited before ${what}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; stderr:\n${this.stderr}`)) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.waiters.delete(check) }
      this.waiters.add(check)
      check()
    })
  }

  /** Resolves with the first stdout line matching `pattern` (or rejects on exit / timeout). */
  waitForLine (pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
    return this.waitFor(() => this.stdoutLines, line => pattern.exec(line) ?? undefined, timeoutMs, 0, `stdout line matching ${pattern}`)
  }

  /** Resolves with the first --json event matching, among those from index `from` on (past or future). */
  waitForEvent (match: (event: Record<string, unknown>) => boolean, timeoutMs = 15_000, from = 0): Promise<Stamped> {
    return this.waitFor(() => this.events, s => match(s.event) ? s : undefined, timeoutMs, from, 'matching event')
  }

  /** Sends `signal` (unless it has exited) and resolves with the exit code; with `killAfterMs`, SIGKILL if it is still running then. */
  async stop (signal: NodeJS.Signals = 'SIGTERM', killAfterMs?: number): Promise<number | null> {
    if (this.alive) this.child.kill(signal)
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => { this.child.kill('SIGKILL') }, killAfterMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

/** Every long-running process started, in order (for reports on their logs). */
export const started: Proc[] = []

/** A long-running `voxmesh` process (a test's name for `new Proc`). */
export type CliProcess = Proc
export function startCli (args: string[], env: Record<string, string> = {}, prefix?: string[]): CliProcess {
  return new Proc(`voxmesh ${args.slice(0, 2).join(' ')}`, args, env, { prefix })
}

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs a command to completion: its exit code and whole output; rejects (after SIGKILL) past `timeoutMs`. */
export function runCli (args: string[], env: Record<string, string> = {}, timeoutMs = 20_000, prefix?: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnVoxmesh(args, env, prefix)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`voxmesh ${args.join(' ')} did not finish in ${timeoutMs} ms`)) }, timeoutMs)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/** Runs a command to completion and returns its stdout; throws unless it exits 0. */
export async function runCliOk (args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<string> {
  const result = await runCli(args, env, timeoutMs)
  if (result.code !== 0) throw new Error(`voxmesh ${args.join(' ')} failed (exit ${String(result.code)}): ${result.stderr.trim()}`)
  return result.stdout
}

/** SIGTERM to every process still running, SIGKILL to any still there after `graceMs`; resolves with how many there were. */
export async function stopAll (graceMs = 3000): Promise<number> {
  const children = [...running].filter(child => child.exitCode === null && child.signalCode === null)
  await Promise.all(children.map(child => new Promise<void>(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
    child.once('close', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })))
  return children.length
}

/** SIGKILL to every process still running (sent at once, so it also works in a process 'exit' handler); resolves once they are gone. */
export async function killAll (): Promise<void> {
  await Promise.all([...running].map(child => new Promise<void>(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
    child.once('exit', () => { resolve() })
    child.kill('SIGKILL')
  })))
  running.clear()
}
