// The node's message store (SQLite in the data dir): owner-only, one row per
// message id, delivery states, bounded per conversation, and kept across opens.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_MESSAGES_PER_PEER, openMessageStore, type MessageStore } from '../../node/runtime/message-store.js'

let dir: string
let file: string
let store: MessageStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxmesh-messages-'))
  file = join(dir, 'messages.sqlite')
  store = openMessageStore(file)
})
afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('message store', () => {
  it('is a file only its owner may read, even with a permissive umask', () => {
    store.close()
    rmSync(file)
    const umask = process.umask(0o000)
    try { store = openMessageStore(file) } finally { process.umask(umask) }
    store.addOutgoing({ id: 'a', peer: 'bob', text: 'hi', writtenAt: 1 })
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('takes a text queued, sent, then delivered once, and keeps it across opens', () => {
    store.addOutgoing({ id: 'a', peer: 'bob', text: 'hello', writtenAt: 1000 })
    expect(store.queuedCount('bob')).toBe(1)
    expect(store.undelivered('bob')).toEqual([{ id: 'a', peer: 'bob', text: 'hello', state: 'queued', writtenAt: 1000, attempts: 0 }])
    store.markSent('bob', 'a', 2000)
    expect(store.queuedCount('bob')).toBe(0)
    expect(store.undelivered('bob')).toMatchObject([{ id: 'a', state: 'sent', attempts: 1 }])
    // A receipt from someone else for this id changes nothing.
    expect(store.markDelivered('carol', 'a', 2500)).toBeUndefined()
    expect(store.markDelivered('bob', 'a', 3000)).toBe(1000)
    expect(store.markDelivered('bob', 'a', 4000)).toBeUndefined()
    store.close()
    store = openMessageStore(file)
    expect(store.conversation('bob', 10)).toEqual([
      { id: 'a', peer: 'bob', direction: 'out', text: 'hello', state: 'delivered', writtenAt: 1000, sentAt: 2000, deliveredAt: 3000 }
    ])
    expect(store.peersWithUndelivered()).toEqual([])
  })

  it('stores a received id once per sender', () => {
    expect(store.addIncoming({ id: 'x', peer: 'bob', text: 'hi', writtenAt: 10, sentAt: 10, receivedAt: 20 })).toBe(true)
    expect(store.addIncoming({ id: 'x', peer: 'bob', text: 'hi', writtenAt: 30, sentAt: 30, receivedAt: 40 })).toBe(false)
    // Ids are the sender's: the same id from another sender is another message.
    expect(store.addIncoming({ id: 'x', peer: 'carol', text: 'yo', writtenAt: 50, sentAt: 50, receivedAt: 60 })).toBe(true)
    expect(store.conversation('bob', 10)).toEqual([
      { id: 'x', peer: 'bob', direction: 'in', text: 'hi', state: 'received', writtenAt: 10, sentAt: 10, deliveredAt: 20 }
    ])
    expect(store.lastOfEach(10).map(m => m.peer)).toEqual(['carol', 'bob'])
    // A text its sender had queued keeps the time it was written.
    store.addIncoming({ id: 'late', peer: 'dave', text: 'written at 5', writtenAt: 5, sentAt: 70, receivedAt: 71 })
    expect(store.conversation('dave', 1)[0]).toMatchObject({ writtenAt: 5, sentAt: 70, deliveredAt: 71 })
  })

  it(`keeps at most ${MAX_MESSAGES_PER_PEER} messages per conversation, dropping the oldest but never a queued one`, () => {
    store.addOutgoing({ id: 'queued', peer: 'bob', text: 'waiting', writtenAt: 0 })
    for (let i = 0; i < MAX_MESSAGES_PER_PEER + 5; i++) {
      store.addIncoming({ id: `in${i}`, peer: 'bob', text: `t${i}`, writtenAt: i + 1, sentAt: i + 1, receivedAt: i + 1 })
    }
    const kept = store.conversation('bob', MAX_MESSAGES_PER_PEER + 10)
    expect(kept).toHaveLength(MAX_MESSAGES_PER_PEER)
    expect(kept[0]?.id).toBe('queued')
    expect(kept[1]?.id).toBe('in6')
    expect(kept.at(-1)?.id).toBe(`in${MAX_MESSAGES_PER_PEER + 4}`)
    // Other conversations are not touched.
    store.addIncoming({ id: 'c', peer: 'carol', text: 'hi', writtenAt: 1, sentAt: 1, receivedAt: 1 })
    expect(store.conversation('carol', 10)).toHaveLength(1)
  })
})
