// The login server as a fastify app, apart from any listener: tests drive it
// with inject(), server.ts puts it on a socket.
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { dhtIdSecretOf } from '../common/supernode-credential.js'
import { DEFAULT_CERTIFICATE_TTL_SECONDS, DEFAULT_MAX_SUPERNODES_PER_ADDRESS, DEFAULT_RATE_LIMITS, MAX_BODY_BYTES, type RateLimits } from './constants.js'
import { errorBody, noRouteBody } from '../common/error-body.js'
import { ApiError, type ErrorCode } from './errors.js'
import { createAuthenticator, createServiceAuthenticator, type App, type LoginServerComponents, type LoginServerInit, type RouteContext } from './context.js'
import { createMetrics } from './metrics.js'
import { registerInfoRoutes } from './routes/info.js'
import { registerAccountRoutes } from './routes/accounts.js'
import { registerSessionRoutes } from './routes/sessions.js'
import { registerContactRoutes } from './routes/contacts.js'
import { registerBlockRoutes } from './routes/blocks.js'
import { registerSupernodeRoutes } from './routes/supernodes.js'
import { registerCreditRoutes } from './routes/credit.js'
import { registerServiceRoutes } from './routes/services.js'

export async function buildLoginServerApp (components: LoginServerComponents, init: LoginServerInit = {}): Promise<App> {
  const app: App = Fastify({
    logger: init.logger ?? false,
    bodyLimit: MAX_BODY_BYTES,
    trustProxy: init.trustProxy ?? false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A path fastify cannot decode (a bad %-escape) gets the one error shape too, not fastify's own.
    frameworkErrors: (_err, _request, reply) => { void (reply as FastifyReply).status(400).send(errorBody('invalid_request', 'the URL path is not valid (a bad %-escape)')) },
    // fastify's own two lines per request are replaced by one in onResponse.
    logController: new LogController({ disableRequestLogging: true })
  }).withTypeProvider<TypeBoxTypeProvider>()
  // JSON only: fastify also parses text/plain by default.
  app.removeContentTypeParser('text/plain')

  // TypeBox validates exactly: no type coercion ("12345" is not a number, a
  // number is not a string) and no silently dropped unknown fields.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)

  const clock = components.clock ?? Date.now
  const now = (): number => Math.floor(clock() / 1000)
  const maxSupernodesPerAddress = init.maxSupernodesPerAddress ?? DEFAULT_MAX_SUPERNODES_PER_ADDRESS
  const rateLimits: RateLimits = { ...DEFAULT_RATE_LIMITS, ...init.rateLimits }
  // A lab that allows many supernodes on one address admits them as fast as it allows them.
  if (init.rateLimits?.supernodeAdmissionsPerAddress === undefined && maxSupernodesPerAddress > DEFAULT_MAX_SUPERNODES_PER_ADDRESS) {
    rateLimits.supernodeAdmissionsPerAddress = { limit: 3 * maxSupernodesPerAddress, windowSeconds: 3600 }
  }
  const limiters = Object.fromEntries(
    Object.entries(rateLimits).map(([name, limit]) => [name, components.store.rateLimiter(name, limit)])
  ) as RouteContext['limiters']
  const metrics = createMetrics(init.logger !== false && init.logger !== undefined)

  const ctx: RouteContext = {
    components: { ...components, clock },
    certificateTtlSeconds: init.certificateTtlSeconds ?? DEFAULT_CERTIFICATE_TTL_SECONDS,
    maxSupernodesPerAddress,
    dhtIdSecret: dhtIdSecretOf(components.signingKey.secretKey),
    limiters,
    metrics,
    nowSeconds: now,
    authenticate: createAuthenticator(components.store, now),
    authenticateService: createServiceAuthenticator(components.store),
    async limit (limiter, key) {
      const retryAfterSeconds = await limiters[limiter].hit(key, now())
      if (retryAfterSeconds > 0) {
        metrics.rateLimited.inc({ limiter })
        throw new ApiError('rate_limited', `too many requests; retry in ${retryAfterSeconds} s`, retryAfterSeconds)
      }
    }
  }

  // A refused request (bad input, wrong password, rate limited, busy...) is the
  // client's doing: it gets one warning line, written with the request line in
  // onResponse, never a stack. Only an unexpected error (a bug) logs its stack.
  const refusals = new WeakMap<FastifyRequest, { code: ErrorCode, message: string }>()
  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    const { code, status, message } = describeError(err)
    if (code === 'internal') request.log.error({ err }, 'request failed')
    else refusals.set(request, { code, message })
    if (err instanceof ApiError && err.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(err.retryAfterSeconds))
    return reply.status(status).send(errorBody(code, message))
  })
  // No text the API stores may hold a NUL character: PostgreSQL's text cannot, and a name or
  // message with one means nothing to anyone. Refused alike on both stores, before any route runs.
  // A password is never stored (only its hash): its rules, and their sentences, are its route's.
  app.addHook('preValidation', async request => {
    if (holdsNul(request.body) || holdsNul(request.query) || holdsNul(request.params)) {
      throw new ApiError('invalid_request', 'the request holds a NUL character (\\u0000), which no field may hold')
    }
  })
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(noRouteBody(request.method, request.url)))

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) })
    metrics.requestSeconds.observe({ route }, reply.elapsedTime / 1000)
    // One line per request; never the body or headers (passwords, tokens).
    const line = { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime), ip: request.ip }
    const refusal = refusals.get(request)
    if (refusal === undefined) request.log.info(line, 'request')
    else request.log.warn({ ...line, code: refusal.code }, `request refused: ${refusal.message}`)
  })

  registerInfoRoutes(app, ctx)
  registerAccountRoutes(app, ctx)
  registerSessionRoutes(app, ctx)
  registerContactRoutes(app, ctx)
  registerBlockRoutes(app, ctx)
  registerSupernodeRoutes(app, ctx)
  registerServiceRoutes(app, ctx)
  registerCreditRoutes(app, ctx)
  return app
}

/** Whether any string (or key) in a parsed body, query or params holds U+0000. A loop, not recursion: a 16 KiB body may nest 8,000 deep. */
function holdsNul (root: unknown): boolean {
  const pending: unknown[] = [root]
  while (pending.length > 0) {
    const value = pending.pop()
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000')) return true
        if (key !== 'password') pending.push(item)
      }
    }
  }
  return false
}

/** Maps anything thrown in a request to the API's error shape. */
function describeError (err: FastifyError | ApiError): { code: ErrorCode, status: number, message: string } {
  if (err instanceof ApiError) return { code: err.code, status: err.statusCode, message: err.message }
  if ((err as FastifyError).validation !== undefined) {
    return { code: 'invalid_request', status: 400, message: `invalid request: ${err.message}` }
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'malformed_json', status: 400, message: `the body is not valid JSON: ${err.message}` }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'body_too_large', status: 413, message: `the body exceeds ${MAX_BODY_BYTES} bytes` }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'unsupported_media_type', status: 415, message: 'send JSON with "Content-Type: application/json"' }
  }
  if (err instanceof SyntaxError || err.statusCode === 400) {
    return { code: 'malformed_json', status: 400, message: `the body is not valid JSON: ${err.message}` }
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return { code: 'invalid_request', status: err.statusCode, message: err.message }
  }
  return { code: 'internal', status: 500, message: 'internal error' }
}
