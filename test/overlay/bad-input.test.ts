// Bad input against a real supernode: a hand-driven peer (real handshake, real
// frame cipher) sends malformed, oversized, unauthenticated, replayed and badly
// signed messages. Each must get the peer disconnected with a logged reason,
// leave nothing stored or forwarded, and leave the supernode serving everyone
// else. Fake clock and in-memory network throughout: no wall time.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { flushAsync } from '../../node/net/fake-clock.js'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { canonicalEncode, type CanonicalValue } from '../../common/canonical.js'
import { CERTIFICATE_CLOCK_SKEW_SECONDS } from '../../common/certificate.js'
import { MAX_SEALED_FRAME_BYTES } from '../../common/wire/frame-cipher.js'
import { decodeHandshakeMessage, encodeHandshakeMessage, MAX_HANDSHAKE_MESSAGE_BYTES } from '../../common/wire/link-handshake-messages.js'
import { authSignedBytes } from '../../common/wire/link-transcript.js'
import { ENVELOPE_DOMAIN, sealEnvelope, type Envelope } from '../../common/wire/signed-envelope.js'
import { sealSignedRecord } from '../../common/wire/signed-record.js'
import { MAX_FRAME_BYTES } from '../../node/net/transport.js'
import { HANDSHAKE_TIMEOUT_MS } from '../../node/overlay/link.js'
import { CAPABILITIES_PER_MESSAGE, MAX_CONTACTS, MAX_LINK_MESSAGE_BYTES, MAX_RELEASED_RELAYS } from '../../node/overlay/messages.js'
import { PRESENCE_QUERY_MAX_AGE_MS } from '../../node/overlay/constants.js'
import { sealedSubkey } from '../../common/wire/sealed-locator.js'
import { reachTokenOf } from '../../common/lookup-keys.js'
import { createHarness, type Device, type Harness, type LegitHost, type WirePeer } from './bad-input-harness.js'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
/** `text` with one base64url character in the middle replaced. */
const flip = (text: string): string => {
  const at = Math.floor(text.length / 2)
  return text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
}
const tampered = (envelope: Envelope): Envelope => ({ ...envelope, body: flip(envelope.body) })

let h: Harness
/** A legitimate host registered before every attack: the victim, and the witness that routing still works. Mallory, eve and bob are its contacts (the strongest attackers: they can look alice up). */
let alice: LegitHost
/** A rejection nobody handles would take a real supernode process down: none may happen. */
let unhandled: unknown[]
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }

beforeEach(async () => {
  unhandled = []
  process.on('unhandledRejection', onUnhandled)
  h = await createHarness()
  alice = await h.addHost('alice', ['mallory', 'eve', 'bob'])
})
afterEach(async () => {
  h.close()
  await flushAsync()
  process.off('unhandledRejection', onUnhandled)
  expect(unhandled, 'unhandled rejections').toEqual([])
})

type Attacker = WirePeer & { device: Device }

/** The subkey of alice's sealed locator record: only holders of her seal key can tell it is hers. */
const aliceSubkey = (): string => sealedSubkey(fromBase64url(h.capabilityFor('alice').sealKey) as Uint8Array, alice.device.deviceKey)
/** What forwards to alice must carry: computed from her capability. */
const aliceToken = (): string => reachTokenOf(h.capabilityFor('alice').sealKey)

/** The supernode dropped `peer` with a protocol error: logged as "disconnecting peer: <reason>", and the peer's connection closed with it. */
function expectDisconnected (peer: Attacker, reason: RegExp): void {
  expect(peer.closedReason, 'the attacker\'s connection was closed').toMatch(/^remote closed: protocol error: /)
  expect(peer.closedReason).toMatch(reason)
  const lines = h.disconnects().filter(l => l.fields.peer === peer.device.user)
  expect(lines, 'one "disconnecting peer" warning naming the attacker').toHaveLength(1)
  expect(lines[0]?.msg).toMatch(reason)
}

/** The supernode refused the registration: logged as "registration refused: <reason>", the connection closed with it. */
function expectRegistrationRefused (peer: Attacker, reason: RegExp): void {
  expect(peer.closedReason).toMatch(/^remote closed: registration refused: /)
  expect(peer.closedReason).toMatch(reason)
  const line = h.snLogs.find(l => l.level === 'warn' && l.msg.startsWith('registration refused: ') && l.fields.user === peer.device.user)
  expect(line?.msg).toMatch(reason)
  expect(peer.received('registered')).toEqual([])
}

/** The supernode refused the handshake (logged at info with the handshake error reason) and closed the connection. */
function expectHandshakeRefused (peer: WirePeer, reason: string, detail: RegExp): void {
  expect(peer.closedReason).toMatch(new RegExp(`^remote closed: handshake failed \\(${reason}\\)`))
  const line = h.snLogs.find(l => l.msg.startsWith('link handshake refused: '))
  expect(line?.level).toBe('info')
  expect(line?.fields.reason).toBe(reason)
  expect(line?.msg).toMatch(detail)
}

/** Only the legitimate hosts are registered. */
function expectRegisteredHosts (n: number): void {
  expect(h.sn.stats().hosts).toBe(n)
}

/** Nobody can reach `user`, and the supernode holds no locator of `user`. */
async function expectNotFindable (user: string): Promise<void> {
  const sending = alice.host.sendText(user, 'anyone there?')
  await h.run(50)
  expect((await sending).delivered).toBe(0)
  expect(await h.dhtRecords(user)).toEqual([])
}

/** `target` got no message, and no envelope it had to drop (nothing was forwarded to it at all). */
function expectNothingDelivered (target: LegitHost, messagesBefore = 0): void {
  expect(target.events.filter(e => e.event === 'message')).toHaveLength(messagesBefore)
  expect(target.logs.filter(l => l.msg.startsWith('dropped'))).toEqual([])
}

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
    h.close()
    h = await createHarness({ maxFrameBytes: 4 * MAX_FRAME_BYTES })
    alice = await h.addHost('alice', ['mallory', 'eve', 'bob'])
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

describe('unauthenticated peers', () => {
  it('garbage bytes instead of a handshake', async () => {
    const peer = await h.connect()
    peer.sendRaw(h.sodium.randombytes_buf(200))
    await h.run(20)
    expectHandshakeRefused(peer, 'malformed', /not canonical UTF-8 JSON/)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it("a JSON 'register' in clear, without a handshake", async () => {
    const peer = await h.connect()
    // Canonical JSON, so it gets past the parser to the type check.
    peer.sendRaw(canonicalEncode(h.registerFor(h.device('mallory')) as unknown as CanonicalValue))
    await h.run(20)
    expectHandshakeRefused(peer, 'malformed', /handshake message has no known type/)
    expectRegisteredHosts(1)
    await expectNotFindable('mallory')
    await h.expectStillServing()
  })

  it('a peer that never finishes the handshake is dropped after HANDSHAKE_TIMEOUT_MS', async () => {
    const peer = await h.connect()
    await h.run(HANDSHAKE_TIMEOUT_MS + 20, 100)
    expect(peer.closedReason).toBe(`remote closed: handshake not finished within ${HANDSHAKE_TIMEOUT_MS} ms`)
    expect(h.snLogs).toContainEqual(expect.objectContaining({ msg: `inbound link failed: handshake not finished within ${HANDSHAKE_TIMEOUT_MS} ms` }))
    await h.expectStillServing()
  })

  it('a certificate from another issuer', async () => {
    const rogueIssuer = h.sodium.crypto_sign_keypair()
    const mallory = h.device('mallory', { issuerSecretKey: rogueIssuer.privateKey })
    const peer = await h.connect()
    peer.startHandshake(h.sodium, h.clock, mallory, h.issuer.publicKey, h.sn.ref.deviceKey)
    await h.run(20)
    expect(peer.cipher).toBeUndefined()
    expectHandshakeRefused(peer, 'bad_certificate', /does not verify under the pinned login server key/)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it('a certificate that has expired', async () => {
    const mallory = h.device('mallory', { lifetimeSeconds: 60 })
    await h.run((60 + CERTIFICATE_CLOCK_SKEW_SECONDS + 1) * 1000, 500)
    const peer = await h.connect()
    peer.startHandshake(h.sodium, h.clock, mallory, h.issuer.publicKey, h.sn.ref.deviceKey)
    await h.run(20)
    expect(peer.cipher).toBeUndefined()
    expectHandshakeRefused(peer, 'bad_certificate', /\(expired\)/)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it("someone else's certificate without its device key", async () => {
    const victim = h.device('alice')
    const thief = h.device('mallory')
    const peer = await h.connect()
    const eph = h.sodium.crypto_kx_keypair()
    const hello = {
      t: 'hello' as const, v: 1 as const, certificate: victim.identity.certificate,
      eph: toBase64url(eph.publicKey), nonce: toBase64url(h.sodium.randombytes_buf(32))
    }
    peer.sendRaw(encodeHandshakeMessage(hello))
    await h.run(10)
    const welcome = decodeHandshakeMessage(peer.frames[0] as Uint8Array)
    if (!welcome.ok || welcome.message.t !== 'welcome') throw new Error('expected a welcome')
    const transcript = {
      initiatorDeviceKey: victim.deviceKey,
      initiatorEph: hello.eph,
      initiatorNonce: hello.nonce,
      responderDeviceKey: h.sn.ref.deviceKey,
      responderEph: welcome.message.eph,
      responderNonce: welcome.message.nonce
    }
    const sig = toBase64url(h.sodium.crypto_sign_detached(authSignedBytes(transcript), thief.identity.secretKey))
    peer.sendRaw(encodeHandshakeMessage({ t: 'auth', sig }))
    await h.run(20)
    expectHandshakeRefused(peer, 'bad_signature', /auth signature does not verify under alice's device key/)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })
})

describe('replayed and reordered frames', () => {
  it('the same sealed frame sent twice', async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    expectRegisteredHosts(2)
    const registerFrame = mallory.sent.at(-1) as Uint8Array
    mallory.sendRaw(registerFrame)
    await h.run(20)
    expectDisconnected(mallory, /frame failed authentication/)
    expect(mallory.received('registered')).toHaveLength(1)
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it('two sealed frames swapped', async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    const first = mallory.seal(utf8(JSON.stringify({ t: 'ping', id: 1 })))
    const second = mallory.seal(utf8(JSON.stringify({ t: 'ping', id: 2 })))
    mallory.sendRaw(second)
    mallory.sendRaw(first)
    await h.run(20)
    expectDisconnected(mallory, /frame failed authentication/)
    expect(mallory.received('pong')).toEqual([])
    expectRegisteredHosts(1)
    await h.expectStillServing()
  })

  it('a sealed frame cut short', async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    const frame = mallory.seal(utf8(JSON.stringify({ t: 'ping', id: 1 })))
    mallory.sendRaw(frame.subarray(0, frame.length - 1))
    await h.run(20)
    expectDisconnected(mallory, /frame failed authentication/)
    expect(mallory.received('pong')).toEqual([])
    await h.expectStillServing()
  })

  it("a frame the supernode sent, reflected back to it", async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    const fromSupernode = mallory.frames.at(-1) as Uint8Array
    mallory.sendRaw(fromSupernode)
    await h.run(20)
    expectDisconnected(mallory, /frame failed authentication/)
    await h.expectStillServing()
  })

  it('a frame sealed for another link', async () => {
    const first = await h.registeredAttacker('mallory', ['alice'])
    const second = await h.attacker('trudy')
    second.sendRaw(first.seal(utf8(JSON.stringify(h.registerFor(first.device)))))
    await h.run(20)
    expectDisconnected(second, /frame failed authentication/)
    expect(first.closed).toBe(false)
    await h.expectStillServing()
  })

  it('a replayed (stale) presence query', async () => {
    const mallory = await h.registeredAttacker('mallory', ['alice'])
    const at = h.clock.now() - PRESENCE_QUERY_MAX_AGE_MS - 1000
    mallory.sendJson({ t: 'presence-query', query: sealEnvelope(h.sodium, mallory.device.identity, { type: 'presence-query', from: 'mallory', users: ['alice'], at }) })
    await h.run(20)
    expectDisconnected(mallory, /presence query is stale/)
    expect(mallory.received('deliver')).toEqual([])
    await h.expectStillServing()
  })

  it('a presence query that turns stale while the registration is still being published does not crash the supernode', async () => {
    h.close()
    h = await createHarness({ supernodes: 2 })
    alice = await h.addHost('alice', ['mallory', 'eve', 'bob'])
    const mallory = await h.attacker('mallory')
    // Fresh when it arrives (exactly at the age limit), stale a moment later,
    // when the DHT has stored the locator and the query is answered.
    const arrival = h.clock.now() + 2
    mallory.sendJson(h.registerFor(mallory.device))
    mallory.sendJson({ t: 'contact-capabilities', capabilities: [h.capabilityFor('alice')], last: true })
    mallory.sendJson({
      t: 'presence-query',
      query: sealEnvelope(h.sodium, mallory.device.identity, { type: 'presence-query', from: 'mallory', users: ['alice'], at: arrival - PRESENCE_QUERY_MAX_AGE_MS })
    })
    await h.run(100)
    expect(mallory.received('registered')).toHaveLength(1)
    expect(mallory.closed).toBe(false)
    await h.expectStillServing()
  })
})

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
