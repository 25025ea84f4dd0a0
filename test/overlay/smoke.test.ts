import { afterEach, describe, expect, it } from 'vitest'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'

let net: Testnet | undefined
afterEach(() => { net?.close() })

describe('testnet smoke', () => {
  it('two hosts on two supernodes see each other and exchange a message', async () => {
    net = await createTestnet()
    const sn1 = await net.addSupernode('sn-one')
    const sn2 = await net.addSupernode('sn-two')
    const alice = net.addHost('alice', { contacts: ['bob'], supernodes: [sn1.supernode.ref] })
    const bob = net.addHost('bob', { contacts: ['alice'], supernodes: [sn2.supernode.ref] })
    await net.run(2000)
    expect(alice.host.supernode?.address).toBe(sn1.address)
    expect(bob.host.supernode?.address).toBe(sn2.address)
    expect(alice.host.presenceOf('bob')).toBe('online')
    expect(bob.host.presenceOf('alice')).toBe('online')
    const sent = alice.host.sendText('bob', 'hello bob')
    await net.run(500)
    expect((await sent).delivered).toBe(1)
    expect(bob.events).toContainEqual(expect.objectContaining({ event: 'message', from: 'alice', text: 'hello bob' }))
    expect(alice.events).toContainEqual(expect.objectContaining({ event: 'receipt', from: 'bob' }))

    // A text written earlier (queued) carries that time; a writtenAt after sending is not carried at all.
    const now = net.clock.now()
    const late = alice.host.sendText('bob', 'written a minute ago', 'queued-text-1', now - 60_000)
    await net.run(500)
    expect((await late).delivered).toBe(1)
    expect(bob.events).toContainEqual(expect.objectContaining({ event: 'message', text: 'written a minute ago', writtenAt: now - 60_000 }))
    const future = alice.host.sendText('bob', 'from the future', 'queued-text-2', now + 3_600_000)
    await net.run(500)
    expect((await future).delivered).toBe(1)
    const shown = bob.events.find(e => e.event === 'message' && e.text === 'from the future') as { sentAt: number, writtenAt: number }
    expect(shown.writtenAt).toBe(shown.sentAt)
  })
})
