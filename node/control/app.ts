// The control API as a fastify app, apart from any listener (tests use
// inject(); server.ts binds it): the token check on every route, bodies exactly
// as declared, one error shape, and a file of routes per concern.
import { createHash, timingSafeEqual } from 'node:crypto'
import Fastify, {
  LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type RawReplyDefaultExpression,
  type RawRequestDefaultExpression, type RawServerDefault
} from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { silentLogger, type Logger } from '../../common/logger.js'
import { errorBody, noRouteBody } from '../../common/error-body.js'
import type { NodeApi } from '../runtime/api.js'
import { MAX_CONTROL_BODY_BYTES, SSE_MAX_CLIENTS } from './constants.js'
import { DEFAULT_EVENT_STREAM_BOUNDS, type EventStreamBounds } from './event-stream.js'
import { describeError } from './request-errors.js'
import { statusAndMessageRoutes } from './routes/messages.js'
import { contactRoutes } from './routes/contacts.js'
import { callRoutes } from './routes/calls.js'
import { eventRoutes } from './routes/events.js'
import { checkWebRequest, webRoutes, webSessionOf, type WebOptions } from './web.js'

export type ControlApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

export interface ControlAppOptions {
  logger?: Logger
  eventStream?: Partial<EventStreamBounds>
  /** Event stream clients at once; more get 503. */
  maxStreams?: number
  /** Serve the web client (web.ts): its page, and these routes to a page with a live session. */
  web?: WebOptions
}

/** The minimum a token must have: a short or empty one is a bug in the caller, never a setting. */
const MIN_TOKEN_CHARS = 16

export function buildControlApp (api: NodeApi, token: string, options: ControlAppOptions = {}): ControlApp {
  if (token.length < MIN_TOKEN_CHARS) throw new Error(`control token must have at least ${MIN_TOKEN_CHARS} characters`)
  const log = options.logger ?? silentLogger
  const app: ControlApp = Fastify({
    logger: false,
    bodyLimit: MAX_CONTROL_BODY_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A path fastify cannot decode (a bad %-escape) gets the one error shape too, not fastify's own.
    frameworkErrors: (_err, _request, reply) => { void (reply as FastifyReply).status(400).send(errorBody('invalid_request', 'the URL path is not valid (a bad %-escape)')) },
    // On close, cut every connection: HTTP clients keep spare idle sockets open
    // (undici reconnects one right after an aborted event stream), and a node
    // shutting down should not wait seconds for them.
    forceCloseConnections: true,
    logController: new LogController({ disableRequestLogging: true })
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.removeContentTypeParser('text/plain')
  // Bodies exactly as declared: no type coercion, no silently dropped fields.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  requireAccess(app, token, options.web)

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, code, message } = describeError(err)
    if (status >= 500) log.error({ err, method: request.method, url: request.url }, 'control request failed')
    return reply.status(status).send(errorBody(code, message))
  })
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(noRouteBody(request.method, request.url)))
  app.addHook('onResponse', async (request, reply) => {
    log.debug({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'control request')
  })

  statusAndMessageRoutes(app, api)
  contactRoutes(app, api)
  callRoutes(app, api)
  const { web } = options
  eventRoutes(app, api, {
    log,
    bounds: { ...DEFAULT_EVENT_STREAM_BOUNDS, ...options.eventStream },
    maxStreams: options.maxStreams ?? SSE_MAX_CLIENTS,
    allowedFor: request => {
      const session = webSessionOf(request)
      return web === undefined || session === undefined ? undefined : () => web.access.isLive(session)
    }
  })
  if (web !== undefined) webRoutes(app, web)
  return app
}

/**
 * Every route, including unknown ones, needs the token (compared by hash, in constant time). With
 * the web client, a request without one may be a page's instead (web.ts decides).
 */
function requireAccess (app: ControlApp, token: string, web: WebOptions | undefined): void {
  const expected = sha256(token)
  app.addHook('onRequest', async (request, reply) => {
    if (web !== undefined && request.headers.authorization === undefined) {
      const verdict = checkWebRequest(request, web)
      if (verdict.ok) return
      return await reply.status(verdict.status).send(errorBody(verdict.code, verdict.message))
    }
    const match = /^Bearer +([^ ]+)$/i.exec(request.headers.authorization ?? '')
    if (match === null || !timingSafeEqual(sha256(match[1] as string), expected)) {
      return await reply.status(401).header('www-authenticate', 'Bearer error="invalid_token"')
        .send(errorBody('invalid_token', 'missing or wrong control token (the node keeps it in control.json in its data dir)'))
    }
  })
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
