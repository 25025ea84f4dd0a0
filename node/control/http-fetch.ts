// The control client's HTTP requests, over node:http rather than fetch: on Node 20, fetch (undici)
// takes ~40 ms to load and set up, and then holds the process ~90 ms after the last answer — more
// than all the rest of a client command (`npm run bench:cli`). node:http answers on loopback in a
// few ms, and its idle sockets do not keep the process alive.
import { request } from 'node:http'
import { Readable } from 'node:stream'

export interface HttpRequest {
  method: string
  headers: Record<string, string>
  body?: string
  /** Aborts the request, or the reading of its answer once it has come. */
  signal: AbortSignal
}

/** What the control client reads of an answer (a subset of fetch's Response); use json() or body, not both. */
export interface HttpResponse {
  ok: boolean
  status: number
  json: () => Promise<unknown>
  body: ReadableStream<Uint8Array>
}

/** Sends the request; resolves once the answer's headers are in, rejects when the connection fails or `signal` aborts first. */
export function httpFetch (url: string, init: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) }
    const req = request(url, { method: init.method, headers, signal: init.signal }, res => {
      const status = res.statusCode ?? 0
      // An answer without a body is not read by anyone: drain it, or its socket keeps the process alive.
      if (status === 204 || status === 304 || res.headers['content-length'] === '0') res.resume()
      resolve({
        ok: status >= 200 && status < 300,
        status,
        json: async () => {
          const chunks: Buffer[] = []
          for await (const chunk of res) chunks.push(chunk as Buffer)
          return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
        },
        get body () { return Readable.toWeb(res) as ReadableStream<Uint8Array> }
      })
    })
    req.once('error', reject)
    req.end(init.body)
  })
}
