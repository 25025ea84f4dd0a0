// Attacks on messages by a supernode on the path (in-process testnet: the
// attacks are protocol-level). The rogue supernode runs the real link protocol
// with modified behaviour (test/security/rogue-supernode.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'
import { ONE_SHOT_MAX_AGE_MS } from '../../node/overlay/constants.js'
import { openSealedText, type SealedText } from '../../node/overlay/sealed-text.js'
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

  it('a text its sender sends again with the same id (no receipt came) is receipted again but shown once', async () => {
    net = await createTestnet()
    const rogue = await startRogueSupernode(net, { copies: 1 })
    const alice = net.addHost('alice', { contacts: ['bob'], supernodes: [rogue.ref] })
    const bob = net.addHost('bob', { contacts: ['alice'], supernodes: [rogue.ref] })
    await net.run(1000)
    for (let i = 0; i < 2; i++) {
      const sent = alice.host.sendText('bob', 'did you get this?', 'same-id-1')
      await net.run(500)
      expect((await sent).delivered).toBe(1)
    }
    expect(bob.events.filter(e => e.event === 'message')).toHaveLength(1)
    expect(rogue.routedBodies().filter(b => b.type === 'receipt' && b.from === 'bob' && b.ref === 'same-id-1')).toHaveLength(2)
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

  it('a supernode carrying a text cannot read it, even when it claims a device of the recipient', async () => {
    net = await createTestnet()
    const rogue = await startRogueSupernode(net, { copies: 1, claimDevices: true })
    const alice = net.addHost('alice', { contacts: ['bob'], supernodes: [rogue.ref] })
    const bob = net.addHost('bob', { contacts: ['alice'], supernodes: [rogue.ref] })
    await net.run(1000)
    const marker = 'MARKER-7f3a9c plain words a supernode must not see'
    const sent = alice.host.sendText('bob', marker)
    await net.run(500)
    expect((await sent).delivered).toBe(1)
    expect(bob.events).toContainEqual(expect.objectContaining({ event: 'message', from: 'alice', text: marker }))

    const texts = rogue.routedBodies().filter(b => b.type === 'text')
    expect(texts).toHaveLength(1)
    // Everything the rogue decrypted off its links, envelope bodies decoded: no plaintext anywhere.
    expect(JSON.stringify(rogue.received)).not.toContain('MARKER-7f3a9c')
    expect(JSON.stringify(texts)).not.toContain('MARKER-7f3a9c')
    // Sealed to bob's device only: the certificate the rogue slipped in is not the login server's for bob.
    const sealed = texts[0] as unknown as SealedText
    expect(sealed.keys.map(k => k.device)).toEqual([bob.identity.deviceKey])
    expect(openSealedText(net.sodium, sealed, rogue.identity, alice.identity.deviceKey).ok).toBe(false)
  })
})
