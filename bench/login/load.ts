// The login bench's load client: HTTP requests to the login server, each from its own client
// network (X-Forwarded-For; the server runs with --trust-proxy), run from C loops at once.
import { generateKeyPairSync } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { percentile, round } from '../lib/measure.js'

export interface Answer { status: number, ms: number }

let ipCounter = 0
/** A fresh client network per request, so the per-network limiters never trip. */
function nextIp (): string {
  const n = ++ipCounter
  // The limiters count a whole /24: each request gets its own, for 65536 requests in a row.
  return `10.${(n >> 8) & 255}.${n & 255}.1`
}

/** A new device's public key (raw, base64url), as a node sends it with a login. */
export function deviceKey (): string {
  return generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string
}

export async function call (baseUrl: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { 'x-forwarded-for': nextIp() }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const start = performance.now()
  const response = await fetch(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  await response.arrayBuffer()
  return { status: response.status, ms: performance.now() - start }
}

/** failures: answers other than the expected status; perSecond: expected answers per second. */
export interface Series { count: number, failures: number, statuses: Record<string, number>, perSecond: number, p50: number, p90: number, p99: number, max: number }

/** Runs `op` from `concurrency` loops until the deadline or `max` operations; `ok` decides success. */
export async function load (concurrency: number, durationMs: number, max: number, op: (i: number) => Promise<Answer>, ok: number): Promise<Series> {
  const latencies: number[] = []
  const statuses: Record<string, number> = {}
  let started = 0
  let failures = 0
  let done = 0
  const start = performance.now()
  const deadline = start + durationMs
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < max && performance.now() < deadline) {
      const { status, ms } = await op(started++).catch(() => ({ status: 0, ms: NaN }))
      statuses[status] = (statuses[status] ?? 0) + 1
      done++
      if (status !== ok) failures++
      if (!Number.isNaN(ms)) latencies.push(ms)
    }
  }))
  const elapsedS = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  return {
    count: done, failures, statuses, perSecond: round((done - failures) / elapsedS),
    p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? NaN)
  }
}
