// Figures for benchmark scripts: percentiles, and what a process costs as Linux
// sees it (/proc: RSS, CPU time; machine-wide busy share) or as it feels it
// (event-loop delay).
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

/** Nearest-rank percentile of an ascending array, p in 0..100. */
export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))] as number
}
export const round = (n: number, digits = 1): number => Number(n.toFixed(digits))

export interface Series { n: number, fail: number, p50: number, p90: number, p99: number, max: number }
export function series (samples: number[], fail = 0): Series {
  const sorted = [...samples].sort((a, b) => a - b)
  return { n: sorted.length, fail, p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) }
}

/** VmRSS and VmHWM (peak) of a process, in KiB. */
export function memoryOf (pid: number): { rssKb: number, peakKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') }
}

/** User and kernel (system) CPU time of a process so far, ms (clock ticks of 10 ms: Linux USER_HZ is 100). */
export function cpuTimesOf (pid: number): { userMs: number, kernelMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { userMs: Number(fields[11]) * 10, kernelMs: Number(fields[12]) * 10 }
}

/** User + kernel CPU time of a process so far, ms. */
export function cpuMsOf (pid: number): number {
  const { userMs, kernelMs } = cpuTimesOf(pid)
  return userMs + kernelMs
}

/** Busy share of all cores between two calls, % (from /proc/stat: everything but idle and iowait). */
export function machineCpuMeter (): () => number {
  const read = (): { busy: number, total: number } => {
    const ticks = (/^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? '').trim().split(/\s+/).map(Number)
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0)
    return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total }
  }
  const start = read()
  return () => {
    const end = read()
    return round((end.busy - start.busy) / Math.max(1, end.total - start.total) * 100)
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** Runs `task(i)` for i in 0..n-1, `width` at a time. */
export async function pool (n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++)
  }))
}

/** CPU use of process `pid` (`other`) and of this process (`self`) between two calls, in % of one core. */
export function cpuMeter (pid: number): () => { other: number, self: number } {
  const t0 = performance.now()
  const s0 = cpuMsOf(pid)
  const c0 = process.cpuUsage()
  return () => {
    const wallMs = performance.now() - t0
    const c = process.cpuUsage(c0)
    return { other: round((cpuMsOf(pid) - s0) / wallMs * 100), self: round((c.user + c.system) / 1000 / wallMs * 100) }
  }
}

export interface LoopDelay { p99: number, max: number }

/** This process's event-loop delay between two calls. */
export function loopDelayMeter (): () => LoopDelay {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  return () => {
    histogram.disable()
    return { p99: round(histogram.percentile(99) / 1e6), max: round(histogram.max / 1e6) }
  }
}

/**
 * Runs `op` over `inputs` in a loop for `seconds` (after up to 200 warm-up calls), timing each
 * call. perSecond is per second of this process's CPU time (user + system), so other load on the
 * machine does not lower it: it is what one core does. The per-call percentiles are wall time
 * (preemption shows in p99).
 */
export function timeLoop<T> (inputs: T[], op: (input: T) => void, seconds: number): { perSecond: number, p50us: number, p99us: number } {
  for (let i = 0; i < Math.min(200, inputs.length); i++) op(inputs[i] as T)
  const samples: number[] = []
  let count = 0
  const cpuStart = process.cpuUsage()
  const deadline = performance.now() + seconds * 1000
  while (performance.now() < deadline) {
    for (const input of inputs) {
      const t = performance.now()
      op(input)
      samples.push(performance.now() - t)
      count++
      if ((count & 63) === 0 && performance.now() >= deadline) break
    }
  }
  const cpu = process.cpuUsage(cpuStart)
  samples.sort((a, b) => a - b)
  return { perSecond: count / ((cpu.user + cpu.system) / 1e6), p50us: percentile(samples, 50) * 1000, p99us: percentile(samples, 99) * 1000 }
}
