// The web client, served by the control API's own listener (`voxmesh node --web`): the page's
// static files, the trade of a one-time login token for a session token, and the check every
// request of a page passes. The page then uses the same control routes as the CLI, with its
// session token (header x-voxmesh-session) in place of the bearer token.
// The session is a header the page sends, not a cookie the browser adds: another site, or a
// server on another port of 127.0.0.1 (the same site to a browser's cookies), can neither make a
// request carry it nor receive it, and the page keeps it in its origin's own storage. A request's
// Host must be the address the node listens on (DNS rebinding), and any Origin must be that
// address too (a state-changing request must carry it).
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { errorBody } from '../../common/error-body.js'
import type { ControlApp } from './app.js'
import { ErrorBody } from './control-api.js'
import { WEB_LOGIN_TOKEN_TTL_MS, WEB_SESSION_HEADER } from './constants.js'
import type { WebAccess } from './web-access.js'

export interface WebOptions {
  access: WebAccess
  /** The Host values a page may send: the listen address (and localhost's name for a loopback one), known once listening. */
  allowedHosts: () => readonly string[]
}

/** The page's files: web/ beside node/ in the sources, copied to dist/web by the build. */
const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url))
const UPLOT_ROOT = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'))

const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer'
}

const SessionInput = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })

/** What a request without the bearer token is, on a node that serves the web client. */
export type WebVerdict = { ok: true } | { ok: false, status: number, code: string, message: string }

/** The session each page request that needed one carried (the event stream ends with it). */
const requestSessions = new WeakMap<FastifyRequest, string>()

/** The web session a request was let in with; undefined for the bearer token's and public ones. */
export function webSessionOf (request: FastifyRequest): string | undefined {
  return requestSessions.get(request)
}

/** A page's request: public (the page's files, the login) or with a live session; always from our own Host and Origin. */
export function checkWebRequest (request: FastifyRequest, web: WebOptions): WebVerdict {
  const host = request.headers.host ?? ''
  if (!web.allowedHosts().includes(host)) return { ok: false, status: 421, code: 'wrong_host', message: 'this node\'s web client answers only to the address it listens on (the Host header names another)' }
  const origin = request.headers.origin
  const reads = request.method === 'GET' || request.method === 'HEAD'
  if (origin === undefined ? !reads : origin !== `http://${host}`) {
    return { ok: false, status: 403, code: 'wrong_origin', message: 'requests to the web client must come from its own page' }
  }
  // The route fastify matched, not the raw URL: "/%761/status" is routed to /v1/status.
  const route = request.routeOptions.url ?? ''
  if ((reads && !route.startsWith('/v1/')) || (request.method === 'POST' && route === '/web/session')) return { ok: true }
  const session = request.headers[WEB_SESSION_HEADER]
  if (typeof session !== 'string' || !web.access.checkSession(session)) {
    return { ok: false, status: 401, code: 'no_session', message: 'not signed in to the web client (run `voxmesh open` for a login link)' }
  }
  requestSessions.set(request, session)
  return { ok: true }
}

export function webRoutes (app: ControlApp, web: WebOptions): void {
  app.register(fastifyStatic, { root: WEB_ROOT, prefix: '/', index: 'index.html', setHeaders: res => { for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value) } })
  app.register(fastifyStatic, { root: UPLOT_ROOT, prefix: '/vendor/', decorateReply: false, allowedPath: path => path === '/uPlot.esm.js' || path === '/uPlot.min.css' })

  // The API's answers are for this page alone: never cached, never sniffed as something else.
  app.addHook('onSend', async (request, reply) => {
    if (!(request.routeOptions.url ?? '').startsWith('/v1/')) return
    reply.header('cache-control', 'no-store')
    reply.header('x-content-type-options', 'nosniff')
  })

  // `voxmesh open`: only the holder of the control token may let a page in.
  app.post('/v1/web/login-tokens', { schema: { response: { 200: Type.Object({ token: Type.String(), validSeconds: Type.Number() }), '4xx': ErrorBody } } }, async (request, reply) => {
    if (request.headers.authorization === undefined) return await reply.status(403).send(errorBody('forbidden', 'login links are made with the control token (`voxmesh open`)'))
    return { token: web.access.issueLoginToken(), validSeconds: WEB_LOGIN_TOKEN_TTL_MS / 1000 }
  })

  app.post('/web/session', { schema: { body: SessionInput, response: { 200: Type.Object({ session: Type.String() }), '4xx': ErrorBody } } }, async (request, reply) => {
    const session = web.access.startSession(request.body.token)
    if (session === undefined) return await reply.status(401).send(errorBody('invalid_token', 'this login link is used up or expired (a link works once, for a minute): run `voxmesh open` again'))
    return { session }
  })

  app.post('/v1/web/logout', { schema: { response: { 200: Type.Object({ status: Type.String() }), '4xx': ErrorBody } } }, async request => {
    const session = webSessionOf(request)
    if (session !== undefined) web.access.endSession(session)
    return { status: 'signed out' }
  })
}
