// Messaging with a scripted host: texts to contacts only, queued while the
// contact is offline and sent when they come online, receipts marking them
// delivered, one resend of an unreceipted text, received texts stored once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FakeClock } from '../../node/net/fake-clock.js'
import { silentLogger } from '../../common/logger.js'
import { UserError } from '../../common/user-error.js'
import type { Host } from '../../node/overlay/host.js'
import type { NodeEvent } from '../../node/runtime/api.js'
import { openMessageStore, type MessageStore } from '../../node/runtime/message-store.js'
import { createMessaging, MAX_SENDS, type Messaging } from '../../node/runtime/messaging.js'

let dir: string
let store: MessageStore
let clock: FakeClock
let events: NodeEvent[]
let online: Set<string>
let sends: Array<{ to: string, text: string, id: string, writtenAt?: number }>
let messaging: Messaging

/** A host that reaches the users in `online` (and answers each send when the test says so). */
function fakeHost (): Host {
  return {
    supernode: { user: 'sn', address: '127.0.0.1:1', deviceKey: 'K' },
    presenceOf: (user: string) => online.has(user) ? 'online' : 'offline',
    sendText: async (to: string, text: string, id = 'x', writtenAt?: number) => {
      sends.push({ to, text, id, writtenAt })
      return { delivered: online.has(to) ? 1 : 0, id }
    }
  } as unknown as Host
}

const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve() }

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxmesh-messaging-'))
  store = openMessageStore(join(dir, 'messages.sqlite'))
  clock = new FakeClock()
  events = []
  online = new Set()
  sends = []
  const host = fakeHost()
  messaging = createMessaging({
    clock, log: silentLogger, getHost: () => host, store, isContact: user => ['bob', 'carol'].includes(user), emit: e => { events.push(e) }
  }, { receiptTimeoutMs: 1000 })
})
afterEach(() => {
  messaging.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('messaging', () => {
  it('refuses a text to a non-contact before sending anything', async () => {
    const err = await messaging.sendMessage('mallory', 'hi').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect(err).toMatchObject({ code: 'not_a_contact', message: expect.stringMatching(/^mallory is not your contact/) })
    expect(sends).toEqual([])
    expect(messaging.messages()).toEqual([])
  })

  it('queues a text to an offline contact and sends it when they come online; the receipt is a delivered event', async () => {
    const result = await messaging.sendMessage('bob', 'see you')
    const writtenAt = clock.now()
    expect(result).toMatchObject({ status: 'queued', reason: 'offline' })
    expect(messaging.messages('bob')).toMatchObject([{ id: result.id, direction: 'out', state: 'queued', sentAt: null }])
    clock.advance(60_000)
    online.add('bob')
    messaging.peerOnline('bob')
    await settle()
    expect(sends.map(s => s.id)).toEqual([result.id, result.id])
    // It goes with the time it was written, so bob's history shows that, not the time it went.
    expect(sends.at(-1)?.writtenAt).toBe(writtenAt)
    expect(messaging.messages('bob')).toMatchObject([{ state: 'sent' }])
    messaging.receipt('bob', result.id)
    messaging.receipt('bob', result.id)
    expect(messaging.messages('bob')).toMatchObject([{ state: 'delivered' }])
    expect(events).toEqual([{ event: 'delivered', to: 'bob', id: result.id, writtenAt: expect.any(Number) }])
  })

  it('answers delivered when the receipt comes while msg waits, with no extra event', async () => {
    online.add('bob')
    const pending = messaging.sendMessage('bob', 'hi')
    await settle()
    messaging.receipt('bob', sends[0]?.id as string)
    expect(await pending).toMatchObject({ status: 'delivered' })
    expect(events).toEqual([])
  })

  it(`sends an unreceipted text again on the next online, ${MAX_SENDS} sends in all, with the same id`, async () => {
    online.add('bob')
    const pending = messaging.sendMessage('bob', 'hi')
    await settle()
    clock.advance(1000)
    const result = await pending
    expect(result).toMatchObject({ status: 'sent' })
    for (let i = 0; i < 3; i++) {
      messaging.peerOnline('bob')
      await settle()
    }
    expect(sends.map(s => s.id)).toEqual(Array(MAX_SENDS).fill(result.id))
  })

  it('stores a received text once and shows it once; the sender being online sends what waits for them', async () => {
    await messaging.sendMessage('carol', 'are you there?')
    online.add('carol')
    const text = { from: 'carol', id: 'c1', text: 'hello', sentAt: clock.now(), writtenAt: clock.now() - 60_000 }
    messaging.received(text)
    messaging.received(text)
    await settle()
    expect(events).toEqual([{ event: 'message', ...text }])
    expect(messaging.messages('carol').map(m => [m.direction, m.state])).toEqual([['out', 'sent'], ['in', 'received']])
  })

  it('queues while not connected, and sends to contacts shown online once attached', async () => {
    const host = fakeHost()
    let attached: Host | undefined
    messaging.close()
    store = openMessageStore(join(dir, 'messages.sqlite'))
    messaging = createMessaging({ clock, log: silentLogger, getHost: () => attached, store, isContact: () => true, emit: () => {} }, {})
    expect(await messaging.sendMessage('bob', 'early')).toMatchObject({ status: 'queued', reason: 'not-connected' })
    attached = host
    online.add('bob')
    messaging.attached()
    await settle()
    expect(sends.map(s => s.text)).toEqual(['early'])
  })
})
