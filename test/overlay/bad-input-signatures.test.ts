// Bad input against a real supernode, part 3: badly signed messages, from hosts and
// from supernode peers (see bad-input.test.ts for what every case must show).
import { describe, expect, it } from 'vitest'
import { ENVELOPE_DOMAIN, sealEnvelope, type Envelope } from '../../common/wire/signed-envelope.js'
import { sealSignedRecord } from '../../common/wire/signed-record.js'
import type { Device } from './bad-input-harness.js'
import {
  flip, tampered, h, alice, aliceSubkey, aliceToken, expectDisconnected, expectRegistrationRefused, expectRegisteredHosts, expectNotFindable, expectNothingDelivered, useBadInputHarness
} from './bad-input-setup.js'

useBadInputHarness()

describe('badly signed messages', () => {
  it('register with a locator signed by another device of the same user', async () => {
    const mallory = await h.attacker('mallory')
    const otherDevice = h.device('mallory')
    mallory.sendJson(h.registerFor(mallory.device, { locator: h.registerFor(otherDevice).locator }))
    await h.run(20)
    expectRegistrationRefused(mallory, /locator is for another user or device/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    // The probe does see a legitimate locator.
    expect((await h.dhtRecords('alice')).map(r => r.subkey)).toEqual([aliceSubkey()])
    await h.expectStillServing()
  })

  it('register with a locator of another user', async () => {
    const mallory = await h.attacker('mallory')
    const eve = h.device('eve')
    mallory.sendJson(h.registerFor(mallory.device, { locator: h.registerFor(eve).locator }))
    await h.run(20)
    expectRegistrationRefused(mallory, /locator is for another user or device/)
    expectRegisteredHosts(1)
    await expectNotFindable('eve')
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('register with a locator whose body was tampered', async () => {
    const mallory = await h.attacker('mallory')
    const register = h.registerFor(mallory.device)
    mallory.sendJson({ ...register, locator: tampered(register.locator) })
    await h.run(20)
    expectRegistrationRefused(mallory, /locator rejected \(bad_signature\)/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('register with presence signed by another user', async () => {
    const mallory = await h.attacker('mallory')
    const eve = h.device('eve')
    mallory.sendJson(h.registerFor(mallory.device, { presence: h.registerFor(eve).presence }))
    await h.run(20)
    expectRegistrationRefused(mallory, /presence rejected: signed by eve, expected mallory/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('a pre-signed offline that is not one (signed by another user, or saying online) is never sent: checked when the host leaves', async () => {
    const leaveWith = async (offline: (mallory: Device) => Envelope | undefined): Promise<string | undefined> => {
      const mallory = await h.attacker('mallory')
      const register = h.registerFor(mallory.device, { audience: ['alice'] })
      mallory.sendJson({ ...register, offline: offline(mallory.device) ?? register.offline })
      mallory.sendJson({ t: 'contact-capabilities', capabilities: [h.capabilityFor('alice')], last: true })
      await h.run(50)
      expect(mallory.received('registered')).toHaveLength(1)
      expect(alice.host.presenceOf('mallory')).toBe('online')
      mallory.close()
      await h.run(50)
      return alice.host.presenceOf('mallory')
    }
    // The real thing is sent (first: alice would still see the devices below online).
    expect(await leaveWith(() => undefined)).toBe('offline')
    const eve = h.device('eve')
    expect(await leaveWith(() => h.registerFor(eve).offline)).toBe('online')
    expect(h.snLogs.filter(l => l.msg.includes('pre-signed offline presence is not sent (signed by eve, expected mallory)'))).toHaveLength(1)
    expect(await leaveWith(mallory => sealEnvelope(h.sodium, mallory.identity, { type: 'presence', from: 'mallory', status: 'online', seq: h.clock.now() + 1, expires: h.clock.now() + 60_000 }))).toBe('online')
    expect(h.snLogs.filter(l => l.msg.includes('pre-signed offline presence is not sent (it is not an offline presence)'))).toHaveLength(1)
    // Unchecked until then, but small: nobody parks kilobytes with us.
    const parker = await h.attacker('mallory')
    const bulky = sealEnvelope(h.sodium, parker.device.identity, { type: 'presence', from: 'mallory', status: 'offline', seq: 1, expires: 1, pad: 'x'.repeat(4000) })
    parker.sendJson(h.registerFor(parker.device, { offline: bulky }))
    await h.run(20)
    expectRegistrationRefused(parker, /offline presence body over 512 characters/)
    await h.expectStillServing()
  })

  it("a 'route' whose envelope is signed by another user than the link's peer", async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    // A proper route first: it arrives (so the harness can tell).
    mallory.sendJson({ t: 'route', id: 1, to: 'alice', envelope: h.text(mallory.device, 'alice', 'proper') })
    await h.run(20)
    expect(mallory.received('route-result')).toEqual([{ t: 'route-result', id: 1, delivered: 1 }])
    expect(alice.events).toContainEqual(expect.objectContaining({ event: 'message', from: 'mallory', text: 'proper' }))

    mallory.sendJson({ t: 'route', id: 2, to: 'alice', envelope: h.text(h.device('eve'), 'alice', 'from eve?') })
    await h.run(20)
    expectDisconnected(mallory, /routed envelope rejected: signed by eve, expected mallory/)
    expect(mallory.received('route-result').map(r => r.id)).toEqual([1])
    expectNothingDelivered(alice, 1)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it("a forged 'route' right behind a valid 'register', both in the same flight as the last handshake frame", async () => {
    const mallory = h.device('mallory')
    const peer = Object.assign(await h.connect(), { device: mallory })
    // Both arrive before the supernode has installed any handler; the
    // registration then switches handlers, and the route must reach the new one.
    peer.onEstablished = () => {
      peer.sendJson(h.registerFor(mallory))
      peer.sendJson({ t: 'route', id: 1, to: 'alice', envelope: h.text(h.device('eve'), 'alice', 'from eve?') })
    }
    peer.startHandshake(h.sodium, h.clock, mallory, h.issuer.publicKey, h.sn.ref.deviceKey)
    await h.run(30)
    expect(peer.received('registered')).toHaveLength(1)
    expectDisconnected(peer, /routed envelope rejected: signed by eve, expected mallory/)
    expect(peer.received('route-result')).toEqual([])
    expectNothingDelivered(alice)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it("a 'route' whose envelope claims another sender than its signer", async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    const forged = sealSignedRecord(h.sodium, mallory.device.identity, ENVELOPE_DOMAIN, {
      type: 'text', from: 'bob', to: 'alice', id: 'forged-0001', text: 'it is bob', sentAt: h.clock.now()
    })
    mallory.sendJson({ t: 'route', id: 1, to: 'alice', envelope: forged })
    await h.run(20)
    expectDisconnected(mallory, /routed envelope rejected: signer_mismatch/)
    expectNothingDelivered(alice)
    await h.expectStillServing()
  })

  it("a 'route' whose envelope body was tampered", async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    mallory.sendJson({ t: 'route', id: 1, to: 'alice', envelope: tampered(h.text(mallory.device, 'alice')) })
    await h.run(20)
    expectDisconnected(mallory, /routed envelope rejected: bad_signature/)
    expect(mallory.received('route-result')).toEqual([])
    expectNothingDelivered(alice)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it("a supernode peer forwarding an envelope that claims another sender", async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.peerHello(mallory.device, '198.18.9.9:7701'))
    const forged = sealSignedRecord(h.sodium, mallory.device.identity, ENVELOPE_DOMAIN, {
      type: 'text', from: 'bob', to: 'alice', id: 'forged-0002', text: 'it is bob', sentAt: h.clock.now()
    })
    mallory.sendJson({ t: 'forward', id: 1, to: 'alice', envelope: forged, token: aliceToken() })
    await h.run(20)
    expectDisconnected(mallory, /forwarded envelope rejected: signer_mismatch/)
    expect(mallory.received('forward-result')).toEqual([])
    expectNothingDelivered(alice)
    expect(h.sn.stats().peerLinks).toBe(0)
    await h.expectStillServing()
  })

  it('a supernode peer forwarding a tampered envelope', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.peerHello(mallory.device, '198.18.9.9:7701'))
    mallory.sendJson({ t: 'forward', id: 1, to: 'alice', envelope: tampered(h.text(h.device('bob'), 'alice')), token: aliceToken() })
    await h.run(20)
    expectDisconnected(mallory, /forwarded envelope rejected: bad_signature/)
    expect(mallory.received('forward-result')).toEqual([])
    expectNothingDelivered(alice)
    await h.expectStillServing()
  })

  it('a supernode peer forwarding an envelope addressed to someone else', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.peerHello(mallory.device, '198.18.9.9:7701'))
    mallory.sendJson({ t: 'forward', id: 1, to: 'alice', envelope: h.text(h.device('bob'), 'carol'), token: aliceToken() })
    await h.run(20)
    expectDisconnected(mallory, /forwarded envelope is not addressed to its recipient/)
    expectNothingDelivered(alice)
    await h.expectStillServing()
  })

  it("a supernode peer whose 'peer-hello' address is not host:port", async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.peerHello(mallory.device, 'not an address'))
    await h.run(20)
    expectDisconnected(mallory, /not an admitted supernode: supernode credential has a bad address/)
    expect(h.sn.stats()).toMatchObject({ peerLinks: 0, dhtPeers: 0 })
    await h.expectStillServing()
  })

  it('a supernode peer sending a malformed DHT request', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.peerHello(mallory.device, '198.18.9.9:7701'))
    mallory.sendJson({ t: 'dht', id: 1, request: { t: 'store', record: { key: 'alice', value: 'here' } } })
    await h.run(20)
    expectDisconnected(mallory, /invalid store request/)
    expect(mallory.received('dht-reply')).toEqual([])
    expect(h.sn.stats()).toMatchObject({ peerLinks: 0, dhtPeers: 0 })
    await h.expectStillServing()
  })

  it('a supernode peer storing a forged sealed locator in the DHT', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.peerHello(mallory.device, '198.18.9.9:7701'))
    const record = h.registerFor(mallory.device).lookupRecord
    mallory.sendJson({ t: 'dht', id: 1, request: { t: 'store', record: { ...record, value: { ...record.value, sealed: flip(record.value.sealed) } } } })
    await h.run(20)
    expectDisconnected(mallory, /DHT store of a forged record: signature does not verify/)
    expect(mallory.received('dht-reply')).toEqual([])
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it("a supernode peer storing its own sealed locator under another user's lookup key", async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.peerHello(mallory.device, '198.18.9.9:7701'))
    const record = h.registerFor(mallory.device).lookupRecord
    mallory.sendJson({ t: 'dht', id: 1, request: { t: 'store', record: { ...record, key: h.capabilityFor('alice').lookupKey } } })
    await h.run(20)
    expectDisconnected(mallory, /DHT store of a forged record: record key is not sha256 of its lookup key/)
    expect((await h.dhtRecords('alice')).map(r => r.subkey)).toEqual([aliceSubkey()])
    await h.expectStillServing()
  })
})
