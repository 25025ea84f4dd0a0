// The node's local control API: HTTP + a Server-Sent Events stream on a
// loopback address, guarded by a bearer token kept in the data dir. The client
// subcommands use it, and so can any UI or bot. buildControlApp() is the app
// apart from any listener (tests use inject()); startControlServer() binds it.
import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import Fastify, {
  LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type RawReplyDefaultExpression,
  type RawRequestDefaultExpression, type RawServerDefault
} from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { formatHostPort, parseHostPort } from '../../common/address.js'
import { invalidUsernameMessage, normalizeUsername } from '../../common/usernames.js'
import { errorBody, noRouteBody } from '../../common/error-body.js'
import { UserError } from '../../common/user-error.js'
import { silentLogger, type Logger } from '../../common/logger.js'
import type { NodeApi } from '../runtime/api.js'
import { DEFAULT_CONTROL_LISTEN } from '../runtime/defaults.js'
import { MAX_CONTROL_BODY_BYTES, SSE_MAX_CLIENTS } from './constants.js'
import { CallError } from '../calls/call-manager.js'
import type { CallAudioOptions } from '../runtime/api.js'
import {
  AddContactInput, AddContactResponse, AnswerCallInput, BlockInput, CallIdInput, CallIdResponse, CallsResponse, ContactsResponse, DoneResponse,
  ErrorBody, MuteInput, MuteResponse, PlaceCallInput, PresenceInput, PresenceResponse, RequestsResponse, SendMessageInput, SendMessageResponse,
  StatusResponse, UsernameParams
} from './control-api.js'
import { DEFAULT_EVENT_STREAM_BOUNDS, pipeEvents, type EventStream, type EventStreamBounds } from './event-stream.js'

export type ControlApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

export interface ControlAppOptions {
  logger?: Logger
  eventStream?: Partial<EventStreamBounds>
  /** Event stream clients at once; more get 503. */
  maxStreams?: number
}

/** The minimum a token must have: a short or empty one is a bug in the caller, never a setting. */
const MIN_TOKEN_CHARS = 16

/** An error with the HTTP status and code the API answers with. */
class RequestError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) { super(message) }
}

function requireUsername (input: string, field = 'username'): string {
  const username = normalizeUsername(input)
  if (username === undefined) throw new RequestError(400, 'invalid_username', invalidUsernameMessage(field))
  return username
}

/** Control characters other than tab and newline (terminal escapes, NUL...). */
const CONTROL_CHARACTERS = /(?![\t\n])\p{Cc}/u

/** --play/--tone/--record as the node takes them: one audio source at most, paths without control characters. */
function audioOptions (input: { play?: string, tone?: number, record?: string }): CallAudioOptions {
  if (input.play !== undefined && input.tone !== undefined) throw new RequestError(400, 'invalid_request', 'give play or tone, not both')
  for (const field of ['play', 'record'] as const) {
    const path = input[field]
    if (path !== undefined && /\p{Cc}/u.test(path)) throw new RequestError(400, 'invalid_request', `${field} may not contain control characters`)
  }
  const options: CallAudioOptions = {}
  if (input.play !== undefined) options.play = input.play
  if (input.tone !== undefined) options.tone = input.tone
  if (input.record !== undefined) options.record = input.record
  return options
}

export function buildControlApp (api: NodeApi, token: string, options: ControlAppOptions = {}): ControlApp {
  if (token.length < MIN_TOKEN_CHARS) throw new Error(`control token must have at least ${MIN_TOKEN_CHARS} characters`)
  const log = options.logger ?? silentLogger
  const bounds: EventStreamBounds = { ...DEFAULT_EVENT_STREAM_BOUNDS, ...options.eventStream }
  const maxStreams = options.maxStreams ?? SSE_MAX_CLIENTS
  const expected = sha256(token)
  const streams = new Set<EventStream>()

  const app: ControlApp = Fastify({
    logger: false,
    bodyLimit: MAX_CONTROL_BODY_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // On close, cut every connection: HTTP clients keep spare idle sockets open
    // (undici reconnects one right after an aborted event stream), and a node
    // shutting down should not wait seconds for them.
    forceCloseConnections: true,
    logController: new LogController({ disableRequestLogging: true })
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.removeContentTypeParser('text/plain')
  // Bodies exactly as declared: no type coercion, no silently dropped fields.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)

  // Every route, including unknown ones, needs the token.
  app.addHook('onRequest', async (request, reply) => {
    const match = /^Bearer +([^ ]+)$/i.exec(request.headers.authorization ?? '')
    if (match === null || !timingSafeEqual(sha256(match[1] as string), expected)) {
      return await reply.status(401).header('www-authenticate', 'Bearer error="invalid_token"')
        .send(errorBody('invalid_token', 'missing or wrong control token (the node keeps it in control.json in its data dir)'))
    }
  })

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
  // Open event streams would hold the listener open forever: end them first.
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.close()
  })

  const errors = { '4xx': ErrorBody, '5xx': ErrorBody }
  const usernameParam = { params: UsernameParams }

  app.get('/v1/status', { schema: { response: { 200: StatusResponse, ...errors } } }, async () => api.status())

  app.get('/v1/contacts', { schema: { response: { 200: ContactsResponse, ...errors } } }, async () => ({ contacts: await api.contacts() }))

  app.post('/v1/contacts', { schema: { body: AddContactInput, response: { 200: AddContactResponse, ...errors } } }, async request => {
    const username = requireUsername(request.body.username)
    const message = request.body.message?.normalize('NFC')
    if (message !== undefined && CONTROL_CHARACTERS.test(message)) throw new RequestError(400, 'invalid_request', 'message may not contain control characters')
    return { status: (await api.addContact(username, message)).status }
  })

  app.post('/v1/contacts/:username/accept', { schema: { ...usernameParam, response: { 200: DoneResponse, ...errors } } }, async request => {
    await api.acceptContact(requireUsername(request.params.username))
    return { status: 'accepted' }
  })

  app.post('/v1/contacts/:username/decline', { schema: { ...usernameParam, response: { 200: DoneResponse, ...errors } } }, async request => {
    await api.declineContact(requireUsername(request.params.username))
    return { status: 'declined' }
  })

  app.delete('/v1/contacts/:username', { schema: { ...usernameParam, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    await api.removeContact(requireUsername(request.params.username))
    return await reply.status(204).send(null)
  })

  app.post('/v1/blocks', { schema: { body: BlockInput, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    await api.block(requireUsername(request.body.username))
    return await reply.status(204).send(null)
  })

  app.delete('/v1/blocks/:username', { schema: { ...usernameParam, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    await api.unblock(requireUsername(request.params.username))
    return await reply.status(204).send(null)
  })

  app.get('/v1/requests', { schema: { response: { 200: RequestsResponse, ...errors } } }, async () => await api.requests())

  app.put('/v1/presence', { schema: { body: PresenceInput, response: { 200: PresenceResponse, ...errors } } }, async request => {
    api.setPresence(request.body.status)
    return { status: request.body.status }
  })

  app.post('/v1/messages', { schema: { body: SendMessageInput, response: { 200: SendMessageResponse, ...errors } } }, async request => {
    const to = requireUsername(request.body.to, 'to')
    const text = request.body.text.normalize('NFC')
    if (text.trim() === '') throw new RequestError(400, 'invalid_request', 'text is empty')
    if (CONTROL_CHARACTERS.test(text)) throw new RequestError(400, 'invalid_request', 'text may not contain control characters other than tab and newline')
    return await api.sendMessage(to, text)
  })

  app.get('/v1/calls', { schema: { response: { 200: CallsResponse, ...errors } } }, async () => ({ calls: api.calls() }))

  app.post('/v1/calls', { schema: { body: PlaceCallInput, response: { 200: CallIdResponse, ...errors } } }, async request => {
    const to = requireUsername(request.body.to, 'to')
    const options = audioOptions(request.body)
    return await api.placeCall(to, request.body.relayOnly === true ? { ...options, relayOnly: true } : options)
  })

  app.post('/v1/calls/answer', { schema: { body: AnswerCallInput, response: { 200: CallIdResponse, ...errors } } }, async request => {
    const options = audioOptions(request.body)
    return await api.answerCall(request.body.callId, Object.keys(options).length === 0 ? undefined : options)
  })

  app.post('/v1/calls/decline', { schema: { body: CallIdInput, response: { 200: DoneResponse, ...errors } } }, async request => {
    api.declineCall(request.body.callId)
    return { status: 'declined' }
  })

  app.post('/v1/calls/hangup', { schema: { body: CallIdInput, response: { 200: DoneResponse, ...errors } } }, async request => {
    api.hangup(request.body.callId)
    return { status: 'ended' }
  })

  app.post('/v1/calls/mute', { schema: { body: MuteInput, response: { 200: MuteResponse, ...errors } } }, async request => {
    api.setMuted(request.body.muted, request.body.callId)
    return { muted: request.body.muted }
  })

  app.get('/v1/events', async (request, reply) => {
    if (streams.size >= maxStreams) throw new RequestError(503, 'busy', `already ${maxStreams} event streams open`)
    reply.hijack()
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    // Sends the headers now, so the client sees the stream open before the first event.
    reply.raw.write(': connected\n\n')
    const stream = pipeEvents(api, reply.raw, bounds)
    streams.add(stream)
    log.debug({ streams: streams.size }, 'event stream opened')
    void stream.ended.then(reason => {
      streams.delete(stream)
      if (reason === 'too far behind') log.warn({ reason }, 'dropped an event stream client that stopped reading')
      else log.debug({ reason, streams: streams.size }, 'event stream closed')
    })
  })

  return app
}

export interface ControlServerOptions extends ControlAppOptions {
  /** HOST:PORT on a loopback address; port 0 picks a free one. */
  listen?: string
  token: string
}

export interface RunningControlServer {
  url: string
  app: ControlApp
  close: () => Promise<void>
}

export async function startControlServer (api: NodeApi, opts: ControlServerOptions): Promise<RunningControlServer> {
  const listenText = opts.listen ?? DEFAULT_CONTROL_LISTEN
  const listen = parseHostPort(listenText, true)
  if (listen === undefined) throw new UserError(`--control-listen must be HOST:PORT, got "${listenText}"`)
  if (!isLoopbackHost(listen.host)) {
    throw new UserError(`the control API only listens on loopback (127.0.0.1, ::1, localhost), not ${listen.host}: anyone who reaches it controls the node`)
  }
  const app = buildControlApp(api, opts.token, opts)
  try {
    await app.listen({ host: listen.host, port: listen.port })
  } catch (err) {
    await app.close()
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new UserError(`cannot listen for the control API on ${formatHostPort(listen)}: ${code === 'EADDRINUSE' ? 'the port is in use (EADDRINUSE)' : code}`)
    }
    throw err
  }
  const { port } = app.server.address() as { port: number }
  let closing: Promise<void> | undefined
  return {
    url: `http://${formatHostPort({ host: listen.host, port })}`,
    app,
    close: () => (closing ??= app.close())
  }
}

export function isLoopbackHost (host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) {
    const lower = host.toLowerCase()
    return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || /^::ffff:127\.\d+\.\d+\.\d+$/.test(lower)
  }
  return false
}

/** Maps anything thrown in a request to {status, code, message}. */
export function describeError (err: unknown): { status: number, code: string, message: string } {
  // A call the node cannot place or act on ("no such call", "already in a call") is refused like any UserError.
  if (err instanceof UserError || err instanceof CallError) return { status: 400, code: 'refused', message: err.message }
  const e = err as Partial<FastifyError> & { status?: unknown }
  // RequestError here, LoginApiError from the login server: their status and code pass through.
  if (typeof e.status === 'number' && e.status >= 400 && e.status <= 599 && typeof e.code === 'string') {
    return { status: e.status, code: e.code, message: e.message ?? e.code }
  }
  if (e.validation !== undefined) return { status: 400, code: 'invalid_request', message: `invalid request: ${e.message ?? ''}` }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'malformed_json', message: `the body is not valid JSON: ${e.message ?? ''}` }
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'body_too_large', message: `the body exceeds ${MAX_CONTROL_BODY_BYTES} bytes` }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type', message: 'send JSON with "Content-Type: application/json"' }
  }
  if (err instanceof SyntaxError) return { status: 400, code: 'malformed_json', message: `the body is not valid JSON: ${err.message}` }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, code: 'invalid_request', message: e.message ?? 'invalid request' }
  }
  return { status: 500, code: 'internal', message: 'internal error' }
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
