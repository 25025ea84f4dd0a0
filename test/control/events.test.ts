// GET /v1/events over a real socket: Server-Sent Events in order, heartbeats,
// unsubscribing when the client goes, and the bounded per-client queue.
import { afterEach, describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import type { NodeEvent } from '../../node/runtime/api.js'
import { pipeEvents, sseMessage } from '../../node/control/event-stream.js'
import { FakeNodeApi } from './fake-node-api.js'
import { AUTH, closeAll, startFakeNode } from './helpers.js'
import { waitUntil } from '../helpers/wait.js'

afterEach(async () => { await closeAll() })

/** Reads an SSE response as raw text, block by block ("\n\n"-terminated). */
function sseReader (response: Response): { next: () => Promise<string>, cancel: () => Promise<void> } {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  return {
    async next () {
      while (!buffer.includes('\n\n')) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`stream ended; buffered: ${JSON.stringify(buffer)}`)
        buffer += decoder.decode(value, { stream: true })
      }
      const end = buffer.indexOf('\n\n')
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      return block
    },
    cancel: async () => { await reader.cancel() }
  }
}

/** The next data block, skipping comments. */
async function nextEvent (reader: ReturnType<typeof sseReader>): Promise<NodeEvent> {
  while (true) {
    const block = await reader.next()
    if (block.startsWith(':')) continue
    expect(block.startsWith('data: ')).toBe(true)
    return JSON.parse(block.slice('data: '.length)) as NodeEvent
  }
}

const EVENTS: NodeEvent[] = [
  { event: 'presence', user: 'bob', status: 'online' },
  { event: 'message', from: 'bob', id: 'm1', text: 'line one\nline two', sentAt: 1_700_000_000_000, writtenAt: 1_700_000_000_000 },
  { event: 'contact-request', from: 'carol', message: 'hi' },
  { event: 'presence', user: 'bob', status: 'away' },
  { event: 'receipt', from: 'bob', ref: 'm9' }
]

describe('GET /v1/events', () => {
  it('streams every event as `data: JSON` in order, as text/event-stream', async () => {
    const { api, server } = await startFakeNode()
    const controller = new AbortController()
    const response = await fetch(`${server.url}/v1/events`, { headers: AUTH, signal: controller.signal })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(response.headers.get('cache-control')).toBe('no-cache')
    const reader = sseReader(response)
    await waitUntil('the stream to subscribe', () => api.listenerCount === 1, 5000)
    for (const event of EVENTS) api.emit(event)
    const received: NodeEvent[] = []
    for (let i = 0; i < EVENTS.length; i++) received.push(await nextEvent(reader))
    expect(received).toEqual(EVENTS)
    controller.abort()
  })

  it('unsubscribes from the node when the client disconnects', async () => {
    const { api, server } = await startFakeNode()
    const controller = new AbortController()
    const first = await fetch(`${server.url}/v1/events`, { headers: AUTH, signal: controller.signal })
    const second = await fetch(`${server.url}/v1/events`, { headers: AUTH })
    await waitUntil('two subscribers', () => api.listenerCount === 2, 5000)
    controller.abort()
    await waitUntil('the first client to be unsubscribed', () => api.listenerCount === 1, 5000)
    // The other client is unaffected.
    const reader = sseReader(second)
    api.emit(EVENTS[0] as NodeEvent)
    expect(await nextEvent(reader)).toEqual(EVENTS[0])
    await reader.cancel()
    await waitUntil('the second client to be unsubscribed', () => api.listenerCount === 0, 5000)
    expect(first.status).toBe(200)
    // The client's spare keep-alive sockets do not hold up the shutdown.
    const started = Date.now()
    await server.close()
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('sends a heartbeat comment while idle', async () => {
    const { server } = await startFakeNode({ eventStream: { heartbeatMs: 50 } })
    const controller = new AbortController()
    const reader = sseReader(await fetch(`${server.url}/v1/events`, { headers: AUTH, signal: controller.signal }))
    expect(await reader.next()).toBe(': connected')
    expect(await reader.next()).toBe(': heartbeat')
    expect(await reader.next()).toBe(': heartbeat')
    controller.abort()
  })

  it('ends open streams when the server closes, so close() does not hang', async () => {
    const { api, server } = await startFakeNode()
    const reader = sseReader(await fetch(`${server.url}/v1/events`, { headers: AUTH }))
    await waitUntil('the stream to subscribe', () => api.listenerCount === 1, 5000)
    const started = Date.now()
    await server.close()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(api.listenerCount).toBe(0)
    expect(await reader.next()).toBe(': connected')
    await expect(reader.next()).rejects.toThrow()
  })

  it('answers 503 busy past the stream limit', async () => {
    const { api, server } = await startFakeNode({ maxStreams: 1 })
    const controller = new AbortController()
    await fetch(`${server.url}/v1/events`, { headers: AUTH, signal: controller.signal })
    await waitUntil('the first stream', () => api.listenerCount === 1, 5000)
    const refused = await fetch(`${server.url}/v1/events`, { headers: AUTH })
    expect(refused.status).toBe(503)
    expect((await refused.json() as { error: { code: string } }).error.code).toBe('busy')
    controller.abort()
    await waitUntil('the first stream to go', () => api.listenerCount === 0, 5000)
    const again = await fetch(`${server.url}/v1/events`, { headers: AUTH })
    expect(again.status).toBe(200)
    await again.body?.cancel()
  })
})

describe('the per-client queue', () => {
  /** A client that never reads: nothing written is ever flushed. */
  function stuckSink (): Writable & { destroyedBy?: string } {
    return new Writable({ highWaterMark: 1, write (_chunk, _encoding, _callback) { /* never flushes */ } })
  }

  it('drops a client that falls more than maxQueuedEvents behind, and unsubscribes it', async () => {
    const api = new FakeNodeApi()
    const sink = stuckSink()
    const stream = pipeEvents(api, sink, { heartbeatMs: 60_000, maxQueuedEvents: 5, maxQueuedBytes: 1_000_000 })
    expect(api.listenerCount).toBe(1)
    for (let i = 0; i < 5; i++) api.emit({ event: 'presence', user: 'bob', status: 'online' })
    expect(sink.destroyed).toBe(false)
    api.emit({ event: 'presence', user: 'bob', status: 'away' })
    expect(await stream.ended).toBe('too far behind')
    expect(sink.destroyed).toBe(true)
    expect(api.listenerCount).toBe(0)
  })

  it('drops a client whose buffered bytes pass maxQueuedBytes', async () => {
    const api = new FakeNodeApi()
    const sink = stuckSink()
    const stream = pipeEvents(api, sink, { heartbeatMs: 60_000, maxQueuedEvents: 1000, maxQueuedBytes: 500 })
    api.emit({ event: 'message', from: 'bob', id: 'a', text: 'x'.repeat(300), sentAt: 1, writtenAt: 1 })
    expect(sink.destroyed).toBe(false)
    api.emit({ event: 'message', from: 'bob', id: 'b', text: 'x'.repeat(300), sentAt: 2, writtenAt: 2 })
    expect(await stream.ended).toBe('too far behind')
    expect(api.listenerCount).toBe(0)
  })

  it('keeps a client that reads, however many events pass', async () => {
    const api = new FakeNodeApi()
    const chunks: string[] = []
    const sink = new Writable({ write (chunk: Buffer, _encoding, callback) { chunks.push(chunk.toString()); callback() } })
    const stream = pipeEvents(api, sink, { heartbeatMs: 60_000, maxQueuedEvents: 5, maxQueuedBytes: 10_000 })
    for (let i = 0; i < 50; i++) {
      api.emit({ event: 'receipt', from: 'bob', ref: `r${i}` })
      await new Promise(resolve => setImmediate(resolve))
    }
    expect(chunks).toHaveLength(50)
    expect(chunks[49]).toBe(sseMessage({ event: 'receipt', from: 'bob', ref: 'r49' }))
    stream.close()
    expect(await stream.ended).toBe('server closing')
    expect(api.listenerCount).toBe(0)
  })
})
