import { beforeAll, describe, expect, it } from 'vitest'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { canonicalEncode, type CanonicalValue } from '../../common/canonical.js'
import { createLinkHandshake, type HandshakeStep, type LinkHandshake } from '../../common/wire/link-handshake.js'
import { MAX_HANDSHAKE_MESSAGE_BYTES } from '../../common/wire/link-handshake-messages.js'
import { authSignedBytes, welcomeSignedBytes } from '../../common/wire/link-transcript.js'
import { fromUtf8, loadFixture, NOW, utf8, type Fixture, type TestDevice } from './fixtures.js'

let fx: Fixture
let alice: TestDevice
let sn: TestDevice

beforeAll(async () => {
  fx = await loadFixture()
  alice = fx.device('alice')
  sn = fx.device('sn-one')
})

interface EndOptions { now?: () => number, expectedDeviceKey?: string }
const initiatorOf = (device: TestDevice, options: EndOptions = {}): LinkHandshake => createLinkHandshake(fx.sodium, {
  role: 'initiator', identity: device.identity, issuerKey: fx.issuer.publicKey, nowSeconds: options.now ?? (() => NOW), expectedDeviceKey: options.expectedDeviceKey
})
const responderOf = (device: TestDevice, options: EndOptions = {}): LinkHandshake => createLinkHandshake(fx.sodium, {
  role: 'responder', identity: device.identity, issuerKey: fx.issuer.publicKey, nowSeconds: options.now ?? (() => NOW), expectedDeviceKey: options.expectedDeviceKey
})

const only = (frames: Uint8Array[]): Uint8Array => {
  expect(frames).toHaveLength(1)
  return frames[0] as Uint8Array
}
const parse = (frame: Uint8Array): Record<string, CanonicalValue> => JSON.parse(fromUtf8(frame))
/** Re-encodes a handshake message after `change` edited its fields. */
const edit = (frame: Uint8Array, change: (message: Record<string, CanonicalValue>) => void): Uint8Array => {
  const message = parse(frame)
  change(message)
  return canonicalEncode(message)
}
const flipFirstBit = (b64: CanonicalValue | undefined): string => {
  const bytes = fromBase64url(b64 as string) as Uint8Array
  bytes[0] = (bytes[0] as number) ^ 1
  return toBase64url(bytes)
}
const expectError = (step: HandshakeStep, reason: string): void => {
  expect(step.error?.reason).toBe(reason)
  expect(step.established).toBeUndefined()
  expect(step.send).toEqual([])
}

/** Runs hello → welcome → auth between two fresh ends and returns every step. */
function handshake (initiator: LinkHandshake, responder: LinkHandshake) {
  expect(responder.start()).toEqual([])
  const hello = only(initiator.start())
  const atResponder = responder.receive(hello)
  const welcome = only(atResponder.send)
  const atInitiator = initiator.receive(welcome)
  const auth = only(atInitiator.send)
  const atResponderAgain = responder.receive(auth)
  return { hello, welcome, auth, atResponder, atInitiator, atResponderAgain }
}

describe('link handshake', () => {
  it('establishes a link: each side learns the other, and frames sealed by one side open on the other, both ways', () => {
    const initiator = initiatorOf(alice)
    const responder = responderOf(sn)
    const { atResponder, atInitiator, atResponderAgain } = handshake(initiator, responder)

    expect(atResponder.established).toBeUndefined() // not before the initiator proved itself
    expect(atResponder.error).toBeUndefined()
    expect(atInitiator.error).toBeUndefined()
    expect(atResponderAgain.error).toBeUndefined()
    const atAlice = atInitiator.established
    const atSn = atResponderAgain.established
    expect(atAlice?.peer).toMatchObject({ user: 'sn-one', deviceKey: sn.deviceKey, certificate: sn.identity.certificate })
    expect(atAlice?.peer.certificateBody).toMatchObject({ user: 'sn-one', deviceKey: sn.deviceKey })
    expect(atSn?.peer).toMatchObject({ user: 'alice', deviceKey: alice.deviceKey, certificate: alice.identity.certificate })
    expect(initiator.done).toBe(true)
    expect(responder.done).toBe(true)

    const aliceCipher = atAlice?.cipher
    const snCipher = atSn?.cipher
    if (aliceCipher === undefined || snCipher === undefined) throw new Error('not established')
    for (let i = 0; i < 3; i++) {
      expect(fromUtf8(snCipher.open(aliceCipher.seal(utf8(`up ${i}`))) as Uint8Array)).toBe(`up ${i}`)
      expect(fromUtf8(aliceCipher.open(snCipher.seal(utf8(`down ${i}`))) as Uint8Array)).toBe(`down ${i}`)
    }
  })

  it('derives different keys in every handshake between the same two devices', () => {
    const first = handshake(initiatorOf(alice), responderOf(sn))
    const second = handshake(initiatorOf(alice), responderOf(sn))
    const frame = first.atInitiator.established?.cipher.seal(utf8('hi')) as Uint8Array
    expect(second.atResponderAgain.established?.cipher.open(frame)).toBeUndefined()
    expect(first.atResponderAgain.established?.cipher.open(frame)).toEqual(utf8('hi'))
  })

  it('sends the hello and welcome with exactly the documented fields', () => {
    const { hello, welcome, auth } = handshake(initiatorOf(alice), responderOf(sn))
    expect(Object.keys(parse(hello)).sort()).toEqual(['certificate', 'eph', 'nonce', 't', 'v'])
    expect(parse(hello)).toMatchObject({ t: 'hello', v: 1, certificate: alice.identity.certificate })
    expect(Object.keys(parse(welcome)).sort()).toEqual(['certificate', 'eph', 'nonce', 'sig', 't', 'v'])
    expect(parse(welcome)).toMatchObject({ t: 'welcome', v: 1, certificate: sn.identity.certificate })
    expect(Object.keys(parse(auth)).sort()).toEqual(['sig', 't'])
    for (const frame of [hello, welcome, auth]) expect(frame.length).toBeLessThanOrEqual(MAX_HANDSHAKE_MESSAGE_BYTES)
  })

  it('has the responder sign both ephemeral keys, both nonces and both device keys', () => {
    const { hello, welcome } = handshake(initiatorOf(alice), responderOf(sn))
    const h = parse(hello)
    const w = parse(welcome)
    const signed = welcomeSignedBytes({
      initiatorDeviceKey: alice.deviceKey,
      initiatorEph: h.eph as string,
      initiatorNonce: h.nonce as string,
      responderDeviceKey: sn.deviceKey,
      responderEph: w.eph as string,
      responderNonce: w.nonce as string
    })
    expect(fromUtf8(signed)).toContain('"purpose":"voxmesh/link/welcome/v1"')
    expect(fx.sodium.crypto_sign_verify_detached(fromBase64url(w.sig as string) as Uint8Array, signed, fromBase64url(sn.deviceKey) as Uint8Array)).toBe(true)
  })

  it('responder start() sends nothing; initiator start() twice is a bug', () => {
    expect(responderOf(sn).start()).toEqual([])
    const initiator = initiatorOf(alice)
    initiator.start()
    expect(() => initiator.start()).toThrow(/twice/)
  })

  it('refuses an identity whose secret key does not belong to its certificate', () => {
    const mixed = { certificate: alice.identity.certificate, secretKey: sn.identity.secretKey }
    expect(() => createLinkHandshake(fx.sodium, { role: 'initiator', identity: mixed, issuerKey: fx.issuer.publicKey, nowSeconds: () => NOW })).toThrow(/does not match/)
  })

  describe('signatures', () => {
    it('initiator rejects a welcome whose signature was tampered with', () => {
      const initiator = initiatorOf(alice)
      const welcome = only(responderOf(sn).receive(only(initiator.start())).send)
      expectError(initiator.receive(edit(welcome, m => { m.sig = flipFirstBit(m.sig) })), 'bad_signature')
      expect(initiator.done).toBe(true)
    })

    it('initiator rejects a welcome whose ephemeral key was replaced (man in the middle)', () => {
      const initiator = initiatorOf(alice)
      const welcome = only(responderOf(sn).receive(only(initiator.start())).send)
      const attackerEph = toBase64url(fx.sodium.crypto_kx_keypair().publicKey)
      expectError(initiator.receive(edit(welcome, m => { m.eph = attackerEph })), 'bad_signature')
    })

    it('responder rejects an auth whose signature was tampered with', () => {
      const initiator = initiatorOf(alice)
      const responder = responderOf(sn)
      const auth = only(initiator.receive(only(responder.receive(only(initiator.start())).send)).send)
      expectError(responder.receive(edit(auth, m => { m.sig = flipFirstBit(m.sig) })), 'bad_signature')
      expect(responder.done).toBe(true)
    })

    it('responder rejects an auth signed by a device other than the one in the hello', () => {
      const initiator = initiatorOf(alice)
      const responder = responderOf(sn)
      const h = parse(only(initiator.start()))
      const w = parse(only(responder.receive(canonicalEncode(h)).send))
      // Mallory's device signs exactly the transcript alice would have signed.
      const mallory = fx.device('mallory')
      const transcript = authSignedBytes({
        initiatorDeviceKey: alice.deviceKey, initiatorEph: h.eph as string, initiatorNonce: h.nonce as string,
        responderDeviceKey: sn.deviceKey, responderEph: w.eph as string, responderNonce: w.nonce as string
      })
      const auth = canonicalEncode({ t: 'auth', sig: toBase64url(fx.sodium.crypto_sign_detached(transcript, mallory.identity.secretKey)) })
      expectError(responder.receive(auth), 'bad_signature')
    })

    it('the auth transcript signed by the right device is accepted (control for the forgery above)', () => {
      const initiator = initiatorOf(alice)
      const responder = responderOf(sn)
      const h = parse(only(initiator.start()))
      const w = parse(only(responder.receive(canonicalEncode(h)).send))
      const transcript = authSignedBytes({
        initiatorDeviceKey: alice.deviceKey, initiatorEph: h.eph as string, initiatorNonce: h.nonce as string,
        responderDeviceKey: sn.deviceKey, responderEph: w.eph as string, responderNonce: w.nonce as string
      })
      const auth = canonicalEncode({ t: 'auth', sig: toBase64url(fx.sodium.crypto_sign_detached(transcript, alice.identity.secretKey)) })
      expect(responder.receive(auth).established?.peer.user).toBe('alice')
    })

    it('a hello replayed from an old handshake, then its old auth, does not establish a new link', () => {
      const oldInitiator = initiatorOf(alice)
      const old = handshake(oldInitiator, responderOf(sn))
      expect(old.atResponderAgain.established).toBeDefined() // the recording was a real link

      const replayTarget = responderOf(sn)
      const welcome = replayTarget.receive(old.hello)
      expect(welcome.send).toHaveLength(1) // the hello itself is public and verifies...
      expectError(replayTarget.receive(old.auth), 'bad_signature') // ...but the old auth covers another responder ephemeral key
      expect(replayTarget.done).toBe(true)
    })

    it('a legitimate user relaying an honest initiator under its own certificate is caught (identity misbinding)', () => {
      const eve = fx.device('eve')
      const initiator = initiatorOf(alice)
      const responder = responderOf(sn)
      // Eve swaps her certificate into alice's hello, so sn thinks it talks to eve...
      const hello = edit(only(initiator.start()), m => { m.certificate = { ...eve.identity.certificate } })
      const welcome = only(responder.receive(hello).send)
      // ...and forwards sn's welcome to alice unchanged. sn signed "initiator = eve", so alice refuses.
      expectError(initiator.receive(welcome), 'bad_signature')
    })

    it('a legitimate user posing as responder while passing on another responder\'s keys is caught (identity misbinding)', () => {
      const eve = fx.device('eve')
      const initiator = initiatorOf(alice)
      const responder = responderOf(sn)
      const h = parse(only(initiator.start()))
      // Eve passes alice's hello to sn, and answers alice herself with sn's ephemeral key and nonce...
      const w = parse(only(responder.receive(canonicalEncode(h)).send))
      const signed = welcomeSignedBytes({
        initiatorDeviceKey: alice.deviceKey, initiatorEph: h.eph as string, initiatorNonce: h.nonce as string,
        responderDeviceKey: eve.deviceKey, responderEph: w.eph as string, responderNonce: w.nonce as string
      })
      const sig = toBase64url(fx.sodium.crypto_sign_detached(signed, eve.identity.secretKey))
      const atAlice = initiator.receive(canonicalEncode({ ...w, certificate: { ...eve.identity.certificate }, sig }))
      expect(atAlice.established?.peer.user).toBe('eve') // alice knowingly talks to eve...
      // ...but her auth names eve as the responder, so sn does not take it as alice talking to sn.
      expectError(responder.receive(only(atAlice.send)), 'bad_signature')
    })
  })

  describe('certificates', () => {
    it('responder rejects a hello with a certificate from another issuer, saying why', () => {
      const stranger = fx.device('alice', { issuerSecretKey: fx.sodium.crypto_sign_keypair().privateKey })
      const step = responderOf(sn).receive(only(initiatorOf(stranger).start()))
      expectError(step, 'bad_certificate')
      expect(step.error?.message).toMatch(/\(bad_signature\)/)
    })

    it('initiator rejects a welcome with a certificate from another issuer', () => {
      const rogue = fx.device('sn-one', { issuerSecretKey: fx.sodium.crypto_sign_keypair().privateKey })
      const initiator = initiatorOf(alice)
      const welcome = only(responderOf(rogue).receive(only(initiator.start())).send)
      const step = initiator.receive(welcome)
      expectError(step, 'bad_certificate')
      expect(step.error?.message).toMatch(/\(bad_signature\)/)
    })

    it('rejects an expired certificate, checked against now() at the time the message arrives', () => {
      const lapsed = fx.device('alice', { issued: NOW - 7200, expires: NOW - 3600 })
      const step = responderOf(sn).receive(only(initiatorOf(lapsed).start()))
      expectError(step, 'bad_certificate')
      expect(step.error?.message).toMatch(/\(expired\)/)

      // The same certificate passes while the clock says it is valid.
      let now = NOW - 5000
      const clock = (): number => now
      expect(responderOf(sn, { now: clock }).receive(only(initiatorOf(lapsed, { now: clock }).start())).error).toBeUndefined()
      now = NOW
      expect(responderOf(sn, { now: clock }).receive(only(initiatorOf(lapsed, { now: clock }).start())).error?.reason).toBe('bad_certificate')
    })

    it('initiator rejects a responder that is not the expected device (wrong_peer)', () => {
      const other = fx.device('sn-two')
      const initiator = initiatorOf(alice, { expectedDeviceKey: other.deviceKey })
      const welcome = only(responderOf(sn).receive(only(initiator.start())).send)
      const step = initiator.receive(welcome)
      expectError(step, 'wrong_peer')
      expect(step.error?.message).toContain(sn.deviceKey)
    })

    it('responder rejects an initiator that is not the expected device (wrong_peer)', () => {
      const responder = responderOf(sn, { expectedDeviceKey: fx.device('bob').deviceKey })
      expectError(responder.receive(only(initiatorOf(alice).start())), 'wrong_peer')
    })

    it('accepts the expected device on both sides', () => {
      const { atInitiator, atResponderAgain } = handshake(
        initiatorOf(alice, { expectedDeviceKey: sn.deviceKey }),
        responderOf(sn, { expectedDeviceKey: alice.deviceKey })
      )
      expect(atInitiator.established?.peer.deviceKey).toBe(sn.deviceKey)
      expect(atResponderAgain.established?.peer.deviceKey).toBe(alice.deviceKey)
    })

    it('refuses a peer presenting our own device key (self)', () => {
      expectError(responderOf(alice).receive(only(initiatorOf(alice).start())), 'self')
      // A hello reflected back to its sender as if it were a welcome is refused too.
      const initiator = initiatorOf(alice)
      const reflected = edit(only(initiator.start()), m => { m.t = 'welcome'; m.sig = toBase64url(new Uint8Array(64)) })
      expectError(initiator.receive(reflected), 'self')
    })
  })

  describe('malformed messages', () => {
    const helloText = (): Uint8Array => only(initiatorOf(alice).start())
    const cases: Array<[string, () => Uint8Array, RegExp]> = [
      ['garbage bytes', () => fx.sodium.randombytes_buf(200), /not canonical UTF-8 JSON/],
      ['invalid UTF-8', () => new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /not canonical UTF-8 JSON/],
      ['empty frame', () => new Uint8Array(0), /not canonical UTF-8 JSON/],
      ['truncated JSON', () => { const h = helloText(); return h.subarray(0, h.length - 10) }, /not canonical UTF-8 JSON/],
      ['oversized message', () => edit(helloText(), m => { (m.certificate as Record<string, string>).body += 'A'.repeat(MAX_HANDSHAKE_MESSAGE_BYTES) }), /exceeds 4096/],
      ['an extra field', () => edit(helloText(), m => { m.extra = 1 }), /\/extra/],
      ['an extra certificate field', () => edit(helloText(), m => { (m.certificate as Record<string, string>).x = 'y' }), /\/certificate\/x/],
      ['a missing field', () => edit(helloText(), m => { delete m.nonce }), /required properties nonce/],
      ['a wrong type', () => edit(helloText(), m => { m.nonce = 5 }), /\/nonce must be string/],
      ['another version', () => edit(helloText(), m => { m.v = 2 }), /\/v must/],
      ['an unknown type', () => edit(helloText(), m => { m.t = 'hullo' }), /no known type/],
      ['a short ephemeral key', () => edit(helloText(), m => { m.eph = toBase64url(new Uint8Array(31)) }), /\/eph must not have fewer/],
      ['a long nonce', () => edit(helloText(), m => { m.nonce = toBase64url(new Uint8Array(33)) }), /\/nonce must not have more/],
      ['non-strict base64url (stray low bits)', () => edit(helloText(), m => { m.eph = (m.eph as string).slice(0, 42) + 'B' }), /eph is not strict base64url/],
      ['non-canonical JSON (whitespace)', () => utf8(JSON.stringify(parse(helloText()), null, 1)), /not canonical/],
      ['a duplicated key', () => utf8(fromUtf8(helloText()).replace('{', '{"eph":"x",')), /not canonical/],
      ['a JSON array', () => utf8('[1,2]'), /no known type/]
    ]
    it.each(cases)('responder refuses a hello with %s', (_name, make, why) => {
      const frame = make()
      const responder = responderOf(sn)
      const step = responder.receive(frame)
      expectError(step, 'malformed')
      expect(step.error?.message).toMatch(why)
      expect(responder.done).toBe(true)
      // ...and accepts nothing afterwards, not even a good hello.
      expectError(responder.receive(helloText()), 'unexpected')
    })

    it('the unmodified hello passes the same checks (so the cases above fail for their own reason)', () => {
      const hello = helloText()
      expect(edit(hello, () => {})).toEqual(hello)
      expect(responderOf(sn).receive(hello).error).toBeUndefined()
    })

    it('initiator refuses a welcome with a low-order ephemeral key, even when properly signed', () => {
      const initiator = initiatorOf(alice)
      const h = parse(only(initiator.start()))
      const eph = toBase64url(new Uint8Array(32)) // the all-zero point
      const nonce = toBase64url(fx.sodium.randombytes_buf(32))
      const signed = welcomeSignedBytes({
        initiatorDeviceKey: alice.deviceKey, initiatorEph: h.eph as string, initiatorNonce: h.nonce as string,
        responderDeviceKey: sn.deviceKey, responderEph: eph, responderNonce: nonce
      })
      const sig = toBase64url(fx.sodium.crypto_sign_detached(signed, sn.identity.secretKey))
      const welcome = canonicalEncode({ t: 'welcome', v: 1, certificate: { ...sn.identity.certificate }, eph, nonce, sig })
      const step = initiator.receive(welcome)
      expectError(step, 'malformed')
      expect(step.error?.message).toMatch(/low-order/)
    })
  })

  describe('order', () => {
    it('responder refuses an auth or a welcome before any hello', () => {
      const { welcome, auth } = handshake(initiatorOf(alice), responderOf(sn))
      expectError(responderOf(sn).receive(auth), 'unexpected')
      expectError(responderOf(sn).receive(welcome), 'unexpected')
    })

    it('responder refuses a second hello while waiting for auth, and then the auth too', () => {
      const initiator = initiatorOf(alice)
      const responder = responderOf(sn)
      const hello = only(initiator.start())
      const auth = only(initiator.receive(only(responder.receive(hello).send)).send)
      expectError(responder.receive(hello), 'unexpected')
      expectError(responder.receive(auth), 'unexpected')
    })

    it('initiator refuses frames before start(), a hello, and anything after it is established', () => {
      const { hello, welcome } = handshake(initiatorOf(alice), responderOf(sn))
      expectError(initiatorOf(alice).receive(welcome), 'unexpected')

      const initiator = initiatorOf(alice)
      initiator.start()
      expectError(initiator.receive(hello), 'unexpected')

      const established = initiatorOf(alice)
      const responder = responderOf(sn)
      const done = handshake(established, responder)
      expectError(established.receive(done.welcome), 'unexpected')
      expectError(responder.receive(done.auth), 'unexpected')
      // The established link is unaffected by the stray frames.
      const sealed = done.atInitiator.established?.cipher.seal(utf8('still here')) as Uint8Array
      expect(done.atResponderAgain.established?.cipher.open(sealed)).toEqual(utf8('still here'))
    })

    it('after a failure the initiator accepts nothing, not even the genuine welcome', () => {
      const initiator = initiatorOf(alice)
      const welcome = only(responderOf(sn).receive(only(initiator.start())).send)
      expectError(initiator.receive(utf8('nonsense')), 'malformed')
      expectError(initiator.receive(welcome), 'unexpected')
      expect(initiator.done).toBe(true)
    })
  })
})
