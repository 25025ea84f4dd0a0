// JSON over HTTP from a chosen loopback source address: on Linux all of
// 127.0.0.0/8 is loopback, so binding the client socket to 127.a.b.c lets one
// test process act as clients in many different networks (/24s).
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

export interface HttpAnswer { status: number, body: unknown, headers: Record<string, string | string[] | undefined>, ms: number }

/** A client whose requests all leave from `localAddress`, on one kept-alive connection. */
export class LoopbackClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 })
  constructor (readonly baseUrl: string, readonly localAddress = '127.0.0.1') {}

  send (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<HttpAnswer> {
    const url = new URL(path, this.baseUrl)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const start = performance.now()
    return new Promise((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        agent: this.agent,
        localAddress: this.localAddress,
        timeout: timeoutMs,
        headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown
          try { parsed = text === '' ? undefined : JSON.parse(text) } catch { parsed = text }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers, ms: performance.now() - start })
        })
        res.on('error', reject)
      })
      req.on('timeout', () => { req.destroy(new Error(`${method} ${path} from ${this.localAddress}: no answer within ${timeoutMs} ms`)) })
      req.on('error', reject)
      req.end(payload)
    })
  }

  post (path: string, body: unknown, headers?: Record<string, string>, timeoutMs?: number): Promise<HttpAnswer> {
    return this.send('POST', path, body, headers, timeoutMs)
  }

  close (): void { this.agent.destroy() }
}
