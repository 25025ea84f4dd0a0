// The Server-Sent Events stream of node events: bounded in clients, and a
// client that stops reading is dropped rather than buffered for.
import type { FastifyRequest } from 'fastify'
import type { Logger } from '../../../common/logger.js'
import type { NodeApi } from '../../runtime/api.js'
import type { ControlApp } from '../app.js'
import { isForWebPagesOnly, pipeEvents, type EventStream, type EventStreamBounds } from '../event-stream.js'
import { RequestError } from '../request-errors.js'

export interface EventRouteOptions {
  log: Logger
  bounds: EventStreamBounds
  maxStreams: number
  /** For a web page's stream: whether its session is still live (the stream ends with it). */
  allowedFor?: (request: FastifyRequest) => (() => boolean) | undefined
}

export function eventRoutes (app: ControlApp, api: NodeApi, options: EventRouteOptions): void {
  const { log, bounds, maxStreams } = options
  const streams = new Set<EventStream>()
  // Open event streams would hold the listener open forever: end them first.
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.close()
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
    const allowed = options.allowedFor?.(request)
    const source = allowed === undefined ? { subscribe: withoutBrowserMedia(api) } : api
    const stream = pipeEvents(source, reply.raw, bounds, allowed)
    streams.add(stream)
    log.debug({ streams: streams.size }, 'event stream opened')
    void stream.ended.then(reason => {
      streams.delete(stream)
      if (reason === 'too far behind') log.warn({ reason }, 'dropped an event stream client that stopped reading')
      else log.debug({ reason, streams: streams.size }, 'event stream closed')
    })
  })
}

/** Subscribes to the node's events but those meant for web pages only. */
function withoutBrowserMedia (api: NodeApi): NodeApi['subscribe'] {
  return listener => api.subscribe(event => { if (!isForWebPagesOnly(event)) listener(event) })
}
