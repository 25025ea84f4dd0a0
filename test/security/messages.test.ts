// Attacks on messages by a supernode on the path (in-process testnet: the
// attacks are protocol-level). The rogue supernode runs the real link protocol
// with modified behaviour (test/security/rogue-supernode.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'
import { ONE_SHOT_MAX_AGE_MS } from '../../node/overlay/constants.js'
import { startRogueSupernode } from './rogue-supernode.js'

let net: Testnet | undefined
afterEach(() => { net?.close() })

describe('messages against a rogue supernode', () => {
  it('a message delivered 5 times is shown once and receipted once', async () => {
    net = await createTestnet()
    const rogue = await startRogueSupernode(net, { copies: 5 })
    const alice = net.addHost('alice', { contacts: ['bob'], supernodes: [rogue.ref] })
    const bob = net.addHost('bob', { contacts: ['alice'], supernodes: [rogue.ref] })
    await net.run(1000)
    expect(alice.host.supernode?.deviceKey).toBe(rogue.ref.deviceKey)
    expect(bob.host.supernode?.deviceKey).toBe(rogue.ref.deviceKey)

    const sent = alice.host.sendText('bob', 'only once, please')
    await net.run(1000)
    expect((await sent).delivered).toBe(1)

    expect(bob.events.filter(e => e.event === 'message')).toHaveLength(1)
    const receiptsSentByBob = rogue.routedBodies().filter(b => b.type === 'receipt' && b.from === 'bob')
    expect(receiptsSentByBob).toHaveLength(1)
    // The rogue delivered that one receipt 5 times too: alice counts it once.
    expect(alice.events.filter(e => e.event === 'receipt')).toHaveLength(1)
  })

  it('a message replayed after the replay window is refused as stale, not shown again', async () => {
    net = await createTestnet()
    const rogue = await startRogueSupernode(net, { copies: 1 })
    const alice = net.addHost('alice', { contacts: ['bob'], supernodes: [rogue.ref] })
    const bob = net.addHost('bob', { contacts: ['alice'], supernodes: [rogue.ref] })
    await net.run(1000)
    const sent = alice.host.sendText('bob', 'remember me')
    await net.run(500)
    expect((await sent).delivered).toBe(1)
    expect(bob.events.filter(e => e.event === 'message')).toHaveLength(1)

    // Long enough that bob no longer remembers the id: only the signed time can tell it is old.
    await net.run(ONE_SHOT_MAX_AGE_MS + 60_000, 100)
    const route = rogue.received.find(m => m.t === 'route' && m.to === 'bob')
    if (route?.t !== 'route') throw new Error('the rogue saw no message for bob')
    expect(rogue.replay('bob', route.envelope)).toBe(1)
    await net.run(500)
    expect(bob.events.filter(e => e.event === 'message')).toHaveLength(1)
    expect(rogue.routedBodies().filter(b => b.type === 'receipt' && b.from === 'bob')).toHaveLength(1)
  })
})
