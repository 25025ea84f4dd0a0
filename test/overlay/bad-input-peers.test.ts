// Bad input against a real supernode, part 2: unauthenticated peers, and replayed
// or reordered frames (see bad-input.test.ts for what every case must show).
import { describe, expect, it } from 'vitest'
import { toBase64url } from '../../common/base64url.js'
import { canonicalEncode, type CanonicalValue } from '../../common/canonical.js'
import { CERTIFICATE_CLOCK_SKEW_SECONDS } from '../../common/certificate.js'
import { decodeHandshakeMessage, encodeHandshakeMessage } from '../../common/wire/link-handshake-messages.js'
import { authSignedBytes } from '../../common/wire/link-transcript.js'
import { sealEnvelope } from '../../common/wire/signed-envelope.js'
import { HANDSHAKE_TIMEOUT_MS } from '../../node/overlay/link.js'
import { PRESENCE_QUERY_MAX_AGE_MS } from '../../node/overlay/constants.js'
import {
  utf8, h, expectDisconnected, expectHandshakeRefused, expectRegisteredHosts, expectNotFindable, restartHarness, useBadInputHarness
} from './bad-input-setup.js'

useBadInputHarness()

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
    await restartHarness({ supernodes: 2 })
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
