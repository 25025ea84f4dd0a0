// Bad input against a real supernode, part 1: malformed and oversized messages.
// A hand-driven peer (real handshake, real frame cipher) sends them; each must get
// the peer disconnected with a logged reason, leave nothing stored or forwarded, and
// leave the supernode serving everyone else. Fake clock and in-memory network
// throughout: no wall time. (Part 2: bad-input-peers.test.ts; part 3: bad-input-signatures.test.ts.)
import { describe, expect, it } from 'vitest'
import { MAX_SEALED_FRAME_BYTES } from '../../common/wire/frame-cipher.js'
import { MAX_HANDSHAKE_MESSAGE_BYTES } from '../../common/wire/link-handshake-messages.js'
import { sealEnvelope } from '../../common/wire/signed-envelope.js'
import { MAX_FRAME_BYTES } from '../../node/net/transport.js'
import { CAPABILITIES_PER_MESSAGE, MAX_CONTACTS, MAX_LINK_MESSAGE_BYTES, MAX_RELEASED_RELAYS } from '../../node/overlay/messages.js'
import {
  utf8, h, alice, expectDisconnected, expectRegistrationRefused, expectHandshakeRefused, expectRegisteredHosts, expectNotFindable, expectNothingDelivered, restartHarness, useBadInputHarness
} from './bad-input-setup.js'

useBadInputHarness()

describe('malformed messages', () => {
  it('a sealed frame whose plaintext is not JSON', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendSealed(utf8('{"t":"register", this is not json'))
    await h.run(20)
    expectDisconnected(mallory, /message is not UTF-8 JSON/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('a sealed frame that is not UTF-8', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendSealed(Uint8Array.from([0x22, 0xff, 0xfe, 0x22]))
    await h.run(20)
    expectDisconnected(mallory, /message is not UTF-8 JSON/)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it('a JSON message of an unknown type', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson({ t: 'become-admin', please: true })
    await h.run(20)
    expectDisconnected(mallory, /invalid "become-admin" message/)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it('JSON that is not an object', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson([1, 2, 3])
    await h.run(20)
    expectDisconnected(mallory, /invalid untyped message/)
    await h.expectStillServing()
  })

  it("a 'register' missing fields", async () => {
    const mallory = await h.attacker('mallory')
    const { locator, audience } = h.registerFor(mallory.device)
    mallory.sendJson({ t: 'register', locator, audience })
    await h.run(20)
    expectDisconnected(mallory, /invalid "register" message/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it("a 'register' with a field of the wrong type", async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson({ ...h.registerFor(mallory.device), audience: 'everyone' })
    await h.run(20)
    expectDisconnected(mallory, /invalid "register" message: \/audience/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it("a 'register' whose envelope has fields of the wrong type", async () => {
    const mallory = await h.attacker('mallory')
    const register = h.registerFor(mallory.device)
    mallory.sendJson({ ...register, presence: { ...register.presence, sig: 12345 } })
    await h.run(20)
    expectDisconnected(mallory, /invalid "register" message: \/presence\/sig/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it("a 'register' with an extra field", async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson({ ...h.registerFor(mallory.device), admin: true })
    await h.run(20)
    expectDisconnected(mallory, /invalid "register" message/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('a valid message that may not come first (a route before registering)', async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson({ t: 'route', id: 1, to: 'alice', envelope: h.text(mallory.device, 'alice') })
    await h.run(20)
    expectDisconnected(mallory, /first message must be register or peer-hello.*got route/)
    expect(mallory.received('route-result')).toEqual([])
    expectNothingDelivered(alice)
    await h.expectStillServing()
  })

  it('a registered host sending a message only supernodes send', async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    mallory.sendJson({ t: 'deliver', envelope: h.text(mallory.device, 'alice') })
    await h.run(20)
    expectDisconnected(mallory, /hosts may not send deliver/)
    expectRegisteredHosts(1)
    expectNothingDelivered(alice)
    await h.expectStillServing()
  })

  it("a 'turn-release' naming more relays than a call can have", async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    mallory.sendJson({ t: 'turn-release', relayed: Array.from({ length: MAX_RELEASED_RELAYS + 1 }, (_, i) => ({ ip: '198.18.0.1', port: 50_000 + i })) })
    await h.run(20)
    expectDisconnected(mallory, /invalid "turn-release" message: \/relayed/)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it("'contact-capabilities' pieces adding up to more than MAX_CONTACTS", async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    const piece = Array.from({ length: CAPABILITIES_PER_MESSAGE }, (_, i) => ({ ...h.capabilityFor('alice'), user: `user${i}` }))
    for (let sent = 0; sent <= MAX_CONTACTS; sent += CAPABILITIES_PER_MESSAGE) mallory.sendJson({ t: 'contact-capabilities', capabilities: piece, last: false })
    await h.run(50)
    expectDisconnected(mallory, new RegExp(`more than ${MAX_CONTACTS} contact capabilities`))
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it("a 'presence-query' before the host said how to find its contacts", async () => {
    const mallory = await h.attacker('mallory')
    mallory.sendJson(h.registerFor(mallory.device))
    mallory.sendJson({ t: 'presence-query', query: sealEnvelope(h.sodium, mallory.device.identity, { type: 'presence-query', from: 'mallory', users: ['alice'], at: h.clock.now() }) })
    await h.run(50)
    expectDisconnected(mallory, /presence query before contact-capabilities/)
    expect(mallory.received('deliver')).toEqual([])
    await h.expectStillServing()
  })

  it('a bad message sent in the same flight as the last handshake frame is still refused', async () => {
    const mallory = h.device('mallory')
    const other = h.device('mallory')
    const peer = Object.assign(await h.connect(), { device: mallory })
    // Sent before the supernode has even seen our handshake finish.
    peer.onEstablished = () => { peer.sendJson(h.registerFor(mallory, { locator: h.registerFor(other).locator })) }
    peer.startHandshake(h.sodium, h.clock, mallory, h.issuer.publicKey, h.sn.ref.deviceKey)
    await h.run(30)
    expectRegistrationRefused(peer, /locator is for another user or device/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })
})

describe('oversized messages', () => {
  it(`a sealed JSON message over MAX_LINK_MESSAGE_BYTES (${MAX_LINK_MESSAGE_BYTES}), still under the transport bound`, async () => {
    const mallory = await h.attacker('mallory')
    const register = { ...h.registerFor(mallory.device), audience: Array.from({ length: 1000 }, (_, i) => `contact-${String(i).padStart(24, '0')}`) }
    const bytes = utf8(JSON.stringify(register))
    expect(bytes.length).toBeGreaterThan(MAX_LINK_MESSAGE_BYTES)
    expect(bytes.length).toBeLessThan(MAX_FRAME_BYTES)
    mallory.sendSealed(bytes)
    await h.run(20)
    expectDisconnected(mallory, new RegExp(`message of ${bytes.length} bytes exceeds ${MAX_LINK_MESSAGE_BYTES}`))
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('a raw frame over the transport bound closes the connection', async () => {
    // The memory transport enforces its bound where the frame is sent (as ws
    // does with maxPayload where it is received): the connection dies either way.
    const connectionsBefore = h.network.machine(h.snIp).openConnections
    const mallory = await h.attacker('mallory')
    expect(h.network.machine(h.snIp).openConnections).toBe(connectionsBefore + 1)
    mallory.sendRaw(new Uint8Array(MAX_FRAME_BYTES + 1))
    await h.run(20)
    expect(mallory.closedReason).toMatch(/frame too large/)
    expect(h.network.machine(h.snIp).openConnections).toBe(connectionsBefore)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('a frame over the sealed-frame bound is refused by the link even where the transport lets it through', async () => {
    await restartHarness({ maxFrameBytes: 4 * MAX_FRAME_BYTES })
    const mallory = await h.attacker('mallory')
    const oversized = h.sodium.randombytes_buf(MAX_SEALED_FRAME_BYTES + 100)
    mallory.sendRaw(oversized)
    await h.run(20)
    expectDisconnected(mallory, new RegExp(`frame of ${oversized.length} bytes exceeds ${MAX_SEALED_FRAME_BYTES}`))
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it(`a handshake message over MAX_HANDSHAKE_MESSAGE_BYTES (${MAX_HANDSHAKE_MESSAGE_BYTES})`, async () => {
    const peer = await h.connect()
    peer.sendRaw(utf8(JSON.stringify({ t: 'hello', pad: 'x'.repeat(MAX_HANDSHAKE_MESSAGE_BYTES) })))
    await h.run(20)
    expectHandshakeRefused(peer, 'malformed', new RegExp(`exceeds ${MAX_HANDSHAKE_MESSAGE_BYTES}`))
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })
})
