// Real `voxmesh` processes for benchmark scripts: each one's stdout lines (and,
// with --json, its events) stamped on arrival; warnings in its JSON logs counted.
// stopAll() stops whatever is still running.
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'

const BIN = resolve(import.meta.dirname, '../../bin/voxmesh.js')

export interface Stamped { event: Record<string, unknown>, at: number, wallAt: number }

/** A `voxmesh` process; with --json its stdout lines are events, each stamped on arrival. */
export class Proc {
  readonly child: ChildProcess
  readonly events: Stamped[] = []
  readonly lines: string[] = []
  private stderrTail: string[] = []
  /** Log lines at warn or above (pino level ≥ 40), counted by message. */
  readonly warnings = new Map<string, number>()
  private readonly waiters = new Set<() => void>()
  readonly exited: Promise<number | null>

  constructor (readonly name: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(this)
    started.push(this)
    // 'close', not 'exit': by then stdout is drained, so every line is in.
    this.exited = new Promise(resolve => this.child.once('close', code => { running.delete(this); this.wake(); resolve(code) }))
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', line => {
      const at = performance.now()
      const wallAt = Date.now()
      this.lines.push(line)
      try { this.events.push({ event: JSON.parse(line) as Record<string, unknown>, at, wallAt }) } catch {}
      this.wake()
    })
    createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', line => {
      this.stderrTail = [...this.stderrTail.slice(-9), line]
      try {
        const entry = JSON.parse(line) as { level?: number, msg?: string }
        if ((entry.level ?? 0) >= 40) {
          const msg = String(entry.msg ?? line).replace(/\d+/g, 'N').slice(0, 160)
          this.warnings.set(msg, (this.warnings.get(msg) ?? 0) + 1)
        }
      } catch {}
    })
  }

  get pid (): number { return this.child.pid as number }
  get alive (): boolean { return this.child.exitCode === null && this.child.signalCode === null }
  private wake (): void { for (const wake of [...this.waiters]) wake() }
  /** The last lines it wrote to stderr. */
  get stderr (): string { return this.stderrTail.join('\n') }
  private describe (): string { return `${this.name} (exit ${String(this.child.exitCode ?? this.child.signalCode)}); stderr:\n${this.stderr}` }

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
      const timer = setTimeout(() => { done(); reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; stderr:\n${this.stderrTail.join('\n')}`)) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.waiters.delete(check) }
      this.waiters.add(check)
      check()
    })
  }

  waitForLine (pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
    return this.waitFor(() => this.lines, line => pattern.exec(line) ?? undefined, timeoutMs, 0, `line matching ${pattern}`)
  }

  waitForEvent (match: (event: Record<string, unknown>) => boolean, timeoutMs = 15_000, from = 0): Promise<Stamped> {
    return this.waitFor(() => this.events, s => match(s.event) ? s : undefined, timeoutMs, from, 'matching event')
  }

  async stop (): Promise<void> {
    if (!this.alive) return
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, 3000)
    await this.exited
    clearTimeout(timer)
  }
}

const running = new Set<Proc>()
/** Every process started, in order (for reports on their logs). */
export const started: Proc[] = []

/** Stops every process still running (SIGTERM, then SIGKILL after 3 s). */
export async function stopAll (): Promise<void> {
  await Promise.all([...running].map(async proc => { await proc.stop() }))
}

/** Runs a voxmesh command to completion; throws unless it exits 0. */
export function runCli (args: string[], env: Record<string, string> = {}): Promise<string> {
  const proc = new Proc(`voxmesh ${args.slice(0, 2).join(' ')}`, args, env)
  const timer = setTimeout(() => { proc.child.kill('SIGKILL') }, 20_000)
  return proc.exited.then(code => {
    clearTimeout(timer)
    if (code !== 0) throw new Error(`voxmesh ${args.join(' ')} failed (exit ${String(code)}): ${proc.stderr}`)
    return proc.lines.join('\n')
  })
}
