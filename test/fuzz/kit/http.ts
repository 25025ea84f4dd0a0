// HTTP requests for the fuzzers of the two HTTP APIs (the login server and the node's control
// API), sent with fastify's inject(): each route with a body built from its own schema, then
// mutated (JSON, text and bytes), odd path parameters and query strings, wrong or missing
// content types and tokens, wrong methods. Every answer must be a 2xx or a 4xx with the API's
// error shape {error:{code,message}}; a 5xx, a hang or a throw is a failure.
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { jsonInput, mutateText } from './mutate.js'
import type { Rng } from './rng.js'
import type { FuzzTarget, Verdict } from './runner.js'
import { validValue } from './schema-values.js'

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** With `:name` parameters. */
  url: string
  body?: unknown
  /** Valid values for the path parameters (inputs also get odd ones). */
  params?: readonly string[]
}

export interface HttpInput { method: string, url: string, headers: Record<string, string>, payload?: string }

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/jsonx', '']
const ODD_PARAMS = ['%00', '%', '%zz', '..%2f..', 'a'.repeat(300), '%F0%9F%98%80', 'ALICE', '%E2%84%AA', '__proto__', '0', '-1', '99999999999999999999', ' ', '%20']

function url (rng: Rng, route: Route): string {
  let path = route.url.replace(/:[a-z]+/g, () => rng.bool(0.7) && route.params !== undefined ? encodeURIComponent(rng.pick(route.params)) : rng.pick(ODD_PARAMS))
  if (rng.bool(0.1)) path += rng.pick(['?', '?after=0', '?after=-1', '?limit=1e9', '?a=1&a=2', '?__proto__[x]=1', `?q=${'x'.repeat(2000)}`, '/', '//', '/extra'])
  return path
}

export function generateRequest (rng: Rng, routes: readonly Route[], token: string): HttpInput {
  const route = rng.pick(routes)
  const headers: Record<string, string> = {}
  const auth = rng.float()
  if (auth < 0.85) headers.authorization = `Bearer ${token}`
  else if (auth < 0.92) headers.authorization = rng.pick(['Bearer', 'Bearer ', `Basic ${token}`, `Bearer ${token}x`, `Bearer ${'a'.repeat(5000)}`, `bearer  ${token}`])
  const method = rng.bool(0.95) ? route.method : rng.pick(METHODS)
  let payload: string | undefined
  if (route.body !== undefined || rng.bool(0.05)) {
    const value = route.body === undefined ? {} : validValue(rng, route.body as Record<string, unknown>)
    const r = rng.float()
    payload = r < 0.3 ? JSON.stringify(value) : r < 0.9 ? Buffer.from(jsonInput(rng, value)).toString('latin1') : mutateText(rng, JSON.stringify(value))
    headers['content-type'] = rng.bool(0.9) ? 'application/json' : rng.pick(CONTENT_TYPES)
    if (headers['content-type'] === '') delete headers['content-type']
  }
  return { method, url: url(rng, route), headers, ...(payload === undefined ? {} : { payload: Buffer.from(payload, 'latin1').toString('base64') }) }
}

/** The verdict on one answer: 2xx accepted, 4xx refused with its error code and message, anything else a failure. */
export function verdictOf (res: LightMyRequestResponse, method: string): Verdict {
  if (res.statusCode >= 500) throw new Error(`server error ${res.statusCode}: ${res.body.slice(0, 300)}`)
  if (res.statusCode < 400) return { ok: true }
  if (method === 'HEAD') return { ok: false, reason: `${res.statusCode} (HEAD: no body)` }
  const body = res.json() as { error?: { code?: unknown, message?: unknown } }
  const { code, message } = body.error ?? {}
  if (typeof code !== 'string' || typeof message !== 'string' || message.length === 0) throw new Error(`${res.statusCode} without the error shape: ${res.body.slice(0, 300)}`)
  return { ok: false, reason: `${res.statusCode} ${code}: ${message}` }
}

export function httpTarget (parser: string, routes: readonly Route[], token: () => string, inject: (options: InjectOptions) => Promise<LightMyRequestResponse>): FuzzTarget<HttpInput> {
  return {
    parser,
    generate: rng => generateRequest(rng, routes, token()),
    check: async input => verdictOf(await inject({
      method: input.method as InjectOptions['method'],
      url: input.url,
      headers: input.headers,
      ...(input.payload === undefined ? {} : { payload: Buffer.from(input.payload, 'base64') })
    }), input.method),
    save: input => ({ ext: 'json', data: JSON.stringify(input) }),
    load: data => JSON.parse(data.toString('utf8')) as HttpInput
  }
}
