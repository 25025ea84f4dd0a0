// Links check the peer's certificate at the handshake and for as long as they
// stay open: a renewed certificate travels over the link (no reconnect), and a
// link whose peer's certificate expired is closed, so logout and expiry hold on
// long-lived links too.
import { afterEach, describe, expect, it } from 'vitest'
import { CERTIFICATE_CLOCK_SKEW_SECONDS } from '../../common/certificate.js'
import { createTestnet, type Testnet } from '../../node/testing/testnet.js'

let net: Testnet | undefined
afterEach(() => { net?.close() })

const LIFETIME_SECONDS = 1200

describe('certificates on open links', () => {
  it('a host renewing its certificate keeps its link across many lifetimes of one certificate', async () => {
    net = await createTestnet()
    const sn = await net.addSupernode('sn-one')
    const alice = net.addHost('alice', { contacts: ['bob'], supernodes: [sn.supernode.ref] })
    // Before the link handshake: the supernode knows only short certificates of alice.
    alice.identity.certificate = net.certify(alice.identity, LIFETIME_SECONDS)
    const bob = net.addHost('bob', { contacts: ['alice'], supernodes: [sn.supernode.ref] })
    await net.run(1000)
    // Renewed at two thirds of each lifetime, like the node does; 4 lifetimes in all.
    for (let i = 0; i < 6; i++) {
      await net.run(LIFETIME_SECONDS * 1000 * 2 / 3, 500)
      alice.identity.certificate = net.certify(alice.identity, LIFETIME_SECONDS)
    }
    expect(alice.events.filter(e => e.event === 'attached')).toHaveLength(1)
    expect(alice.events.filter(e => e.event === 'detached')).toEqual([])
    // The link still carries traffic both ways.
    const sent = alice.host.sendText('bob', 'still here')
    await net.run(500)
    expect((await sent).delivered).toBe(1)
    expect(bob.events).toContainEqual(expect.objectContaining({ event: 'message', from: 'alice', text: 'still here' }))
  })

  it('a link whose peer certificate expired without renewal is closed, and the host cannot attach again', async () => {
    net = await createTestnet()
    const sn = await net.addSupernode('sn-one')
    const alice = net.addHost('alice', { supernodes: [sn.supernode.ref] })
    alice.identity.certificate = net.certify(alice.identity, LIFETIME_SECONDS)
    await net.run(1000)
    expect(sn.supernode.stats().hosts).toBe(1)
    await net.run((LIFETIME_SECONDS + CERTIFICATE_CLOCK_SKEW_SECONDS) * 1000 + 5000, 500)
    expect(alice.events.filter(e => e.event === 'detached')).toHaveLength(1)
    expect(alice.events.filter(e => e.event === 'attached')).toHaveLength(1)
    expect(sn.supernode.stats().hosts).toBe(0)
  })
})
