// One Server-Sent Events client of GET /v1/events: every NodeEvent as
// `data: JSON\n\n`, a heartbeat comment while idle, and a bounded queue: a
// client that stops reading is dropped rather than buffered without end.
import type { NodeApi, NodeEvent } from '../runtime/api.js'
import { SSE_HEARTBEAT_MS, SSE_MAX_QUEUED_BYTES, SSE_MAX_QUEUED_EVENTS } from './constants.js'

/** What the stream writes to: an http.ServerResponse, or any Writable in tests. */
export interface EventSink {
  write: (chunk: string, callback: (error?: Error | null) => void) => boolean
  readonly writableLength: number
  end: () => void
  destroy: () => void
  once: (event: 'close', listener: () => void) => unknown
}

export interface EventStreamBounds {
  heartbeatMs: number
  maxQueuedEvents: number
  maxQueuedBytes: number
}

export const DEFAULT_EVENT_STREAM_BOUNDS: EventStreamBounds = {
  heartbeatMs: SSE_HEARTBEAT_MS,
  maxQueuedEvents: SSE_MAX_QUEUED_EVENTS,
  maxQueuedBytes: SSE_MAX_QUEUED_BYTES
}

export type StreamEndReason = 'client closed' | 'too far behind' | 'server closing' | 'session ended'

export interface EventStream {
  /** Ends the stream (server shutdown). */
  close: () => void
  readonly ended: Promise<StreamEndReason>
}

/** A web page's media steps (browser-media): they carry our relay's credentials, so they go to the web client's streams only, not to --json or `voxmesh events`. */
export function isForWebPagesOnly (event: NodeEvent): boolean {
  return event.event === 'browser-media'
}

/** Encodes one event as an SSE message. JSON never holds a raw newline, so one data line suffices. */
export function sseMessage (event: NodeEvent): string {
  return `data: ${JSON.stringify(event)}\n\n`
}

/** `allowed`: asked before each write; once false (a web page's session ended), the stream ends without it. */
export function pipeEvents (api: Pick<NodeApi, 'subscribe'>, sink: EventSink, bounds: EventStreamBounds = DEFAULT_EVENT_STREAM_BOUNDS, allowed: () => boolean = () => true): EventStream {
  let unflushed = 0
  let done = false
  let unsubscribe = (): void => {}
  let heartbeat: NodeJS.Timeout | undefined
  let finish: (reason: StreamEndReason) => void = () => {}
  const ended = new Promise<StreamEndReason>(resolve => { finish = resolve })

  const stop = (reason: StreamEndReason): void => {
    if (done) return
    done = true
    unsubscribe()
    clearInterval(heartbeat)
    finish(reason)
    if (reason === 'too far behind') sink.destroy()
    if (reason === 'server closing' || reason === 'session ended') sink.end()
  }
  const write = (chunk: string): void => {
    if (done) return
    if (!allowed()) { stop('session ended'); return }
    if (unflushed >= bounds.maxQueuedEvents || sink.writableLength + chunk.length > bounds.maxQueuedBytes) {
      stop('too far behind')
      return
    }
    unflushed++
    sink.write(chunk, () => { unflushed-- })
  }

  sink.once('close', () => { stop('client closed') })
  heartbeat = setInterval(() => { write(': heartbeat\n\n') }, bounds.heartbeatMs)
  heartbeat.unref()
  const off = api.subscribe(event => { write(sseMessage(event)) })
  if (done) off()
  else unsubscribe = off

  return { close: () => { stop('server closing') }, ended }
}
