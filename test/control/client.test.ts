// ControlClient against a real listening control server with the fake node.
import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server, type Socket } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UserError } from '../../common/user-error.js'
import { LoginApiError } from '../../common/login-client.js'
import type { NodeEvent } from '../../node/runtime/api.js'
import { ControlApiError, ControlClient, NodeNotAnsweringError } from '../../node/control/client.js'
import { writeControlFile } from '../../node/control/control-file.js'
import { TOKEN, closeAll, startFakeNode } from './helpers.js'
import { freePort } from '../helpers/ports.js'
import { waitUntil } from '../helpers/wait.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
  await closeAll()
})

async function connected () {
  const running = await startFakeNode()
  return { ...running, client: new ControlClient(running.server.url, TOKEN) }
}

/** A TCP server that accepts connections and never answers. */
async function silentServer (): Promise<string> {
  const sockets = new Set<Socket>()
  const server: Server = createServer(socket => { sockets.add(socket) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise(resolve => server.close(resolve))
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

const closedPortUrl = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`

describe('ControlClient', () => {
  it('reads status, contacts and requests', async () => {
    const { api, client } = await connected()
    api.addFakeContact('bob', 'busy')
    api.addIncomingRequest('carol', 'hello')
    expect((await client.status()).user).toBe('alice')
    expect(await client.contacts()).toEqual([{ username: 'bob', status: 'busy', since: 1_700_000_000, statusSince: null, statusSinceExact: false }])
    const requests = await client.requests()
    expect(requests.incoming.map(r => [r.from, r.message])).toEqual([['carol', 'hello']])
    expect(requests.outgoing).toEqual([])
  })

  it('changes contacts, blocks and presence through the node', async () => {
    const { api, client } = await connected()
    api.addIncomingRequest('bob')
    api.addIncomingRequest('dave')
    expect(await client.addContact('carol', 'hi carol')).toEqual({ status: 'pending' })
    expect(await client.addContact('erin')).toEqual({ status: 'pending' })
    await client.acceptContact('bob')
    await client.declineContact('dave')
    await client.removeContact('bob')
    await client.block('mallory')
    await client.unblock('mallory')
    await client.setPresence('busy')
    expect(api.invocations).toEqual([
      'addContact carol hi carol', 'addContact erin', 'acceptContact bob', 'declineContact dave', 'removeContact bob',
      'block mallory', 'unblock mallory', 'setPresence busy'
    ])
    expect(api.presence).toBe('busy')
  })

  it('returns what sending a message did', async () => {
    const { api, client } = await connected()
    api.messageResults.set('dave', { status: 'queued', id: 'z', reason: 'offline' })
    expect(await client.sendMessage('bob', 'hi')).toEqual({ status: 'delivered', id: 'm1', receiptMs: 12 })
    expect(await client.sendMessage('dave', 'hi')).toEqual({ status: 'queued', id: 'z', reason: 'offline' })
  })

  it('turns the node\'s refusals into one-line UserErrors with status and code', async () => {
    const { client } = await connected()
    const err = await client.removeContact('bob').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ControlApiError)
    expect(err).toBeInstanceOf(UserError)
    expect(err).toMatchObject({ status: 400, code: 'refused', message: 'bob is not your contact' })
    const invalid = await client.sendMessage('bob', '').catch((e: unknown) => e)
    expect(invalid).toMatchObject({ status: 400, code: 'invalid_request' })
  })

  it('says the token was refused when it is wrong', async () => {
    const { server } = await connected()
    const client = new ControlClient(server.url, 'W'.repeat(43))
    await expect(client.status()).rejects.toThrow(/refused the control token/)
    await expect(client.status()).rejects.toMatchObject({ status: 401 })
  })

  it('passes a login server error through as itself, even a 401', async () => {
    const { api, client } = await connected()
    api.failNext = new LoginApiError(401, 'unauthorized', 'the session expired; log in again')
    const err = await client.contacts().catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 401, code: 'unauthorized', message: 'the session expired; log in again' })
  })

  it('says the node is not answering when nothing listens', async () => {
    const url = await closedPortUrl()
    const client = new ControlClient(url, TOKEN)
    const err = await client.status().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NodeNotAnsweringError)
    expect((err as Error).message).toBe(`the node at ${url} is not answering (is \`voxmesh node\` still running?)`)
    await expect(client.events().next()).rejects.toThrow(/is not answering/)
  })

  it('gives up on a node that accepts but never answers', async () => {
    const url = await silentServer()
    const client = new ControlClient(url, TOKEN, { timeoutMs: 200 })
    await expect(client.contacts()).rejects.toThrow(`the node at ${url} did not answer within 0.2 s`)
    await expect(client.events().next()).rejects.toThrow(/did not answer/)
  })

  it('streams events in order and ends quietly when aborted', async () => {
    const { api, client } = await connected()
    const controller = new AbortController()
    const received: NodeEvent[] = []
    const reading = (async () => {
      for await (const event of client.events(controller.signal)) {
        received.push(event)
        if (received.length === 3) controller.abort()
      }
    })()
    await waitUntil('the client to subscribe', () => api.listenerCount === 1, 5000)
    api.emit({ event: 'presence', user: 'bob', status: 'online' })
    api.emit({ event: 'message', from: 'bob', id: 'm1', text: 'a\nb', sentAt: 5, writtenAt: 5 })
    api.emit({ event: 'contact-removed', username: 'carol' })
    api.emit({ event: 'presence', user: 'bob', status: 'offline' })
    await reading
    expect(received).toEqual([
      { event: 'presence', user: 'bob', status: 'online' },
      { event: 'message', from: 'bob', id: 'm1', text: 'a\nb', sentAt: 5, writtenAt: 5 },
      { event: 'contact-removed', username: 'carol' }
    ])
    await waitUntil('the server to unsubscribe', () => api.listenerCount === 0, 5000)
  })

  it('ends the event stream when the node closes it', async () => {
    const { api, server, client } = await connected()
    const events = client.events()
    const first = events.next()
    await waitUntil('the client to subscribe', () => api.listenerCount === 1, 5000)
    api.emit({ event: 'presence', user: 'bob', status: 'away' })
    expect((await first).value).toEqual({ event: 'presence', user: 'bob', status: 'away' })
    await server.close()
    // A clean end or a dropped connection; either way the loop stops.
    const next = await events.next().catch((err: unknown) => err)
    expect(next instanceof NodeNotAnsweringError || (next as IteratorResult<NodeEvent>).done === true).toBe(true)
  })

  it('finds the node from its data dir', async () => {
    const { server } = await connected()
    const dataDir = mkdtempSync(join(tmpdir(), 'voxmesh-client-'))
    cleanups.push(() => { rmSync(dataDir, { recursive: true, force: true }) })
    expect(() => ControlClient.fromDataDir(dataDir)).toThrow(/no node is running for data dir/)
    writeControlFile(dataDir, { url: server.url, token: TOKEN, pid: process.pid })
    const client = ControlClient.fromDataDir(dataDir)
    expect(client.url).toBe(server.url)
    expect((await client.status()).user).toBe('alice')
  })
})
