import { beforeAll, describe, expect, it } from 'vitest'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { canonicalEncode } from '../../common/canonical.js'
import { ENVELOPE_DOMAIN, openEnvelope, sealEnvelope } from '../../common/wire/signed-envelope.js'
import { LOCATOR_PURPOSE, signLocator } from '../../common/wire/locator.js'
import { MAX_SIGNED_BODY_BYTES, signedRecordBytes } from '../../common/wire/signed-record.js'
import { loadFixture, NOW, signRawRecord, utf8, type Fixture, type TestDevice } from './fixtures.js'

let fx: Fixture
let alice: TestDevice
let bob: TestDevice

beforeAll(async () => {
  fx = await loadFixture()
  alice = fx.device('alice')
  bob = fx.device('bob')
})

const open = (envelope: unknown, now = NOW) => openEnvelope(fx.sodium, envelope, { issuerKey: fx.issuer.publicKey, nowSeconds: now })
const text = { type: 'text', from: 'alice', to: 'bob', id: 'abcdefgh', text: 'hi bob', sentAt: 1 }
/** A body of exactly `bytes` canonical bytes. */
const bodyOfSize = (bytes: number) => {
  const overhead = canonicalEncode({ type: 'text', pad: '' }).length
  return { type: 'text', pad: 'x'.repeat(bytes - overhead) }
}

describe('signed envelope', () => {
  it('round-trips: the receiver learns the proven sender and the exact body', () => {
    const opened = open(sealEnvelope(fx.sodium, alice.identity, text))
    expect(opened).toMatchObject({ ok: true, from: { user: 'alice', deviceKey: alice.deviceKey }, body: text, certificate: { user: 'alice', deviceKey: alice.deviceKey } })
  })

  it('accepts a body without "from" (the sender comes from the certificate)', () => {
    expect(open(sealEnvelope(fx.sodium, alice.identity, { type: 'ping' }))).toMatchObject({ ok: true, from: { user: 'alice' } })
  })

  it('carries the canonical body bytes, signed by the device key under the envelope domain', () => {
    const envelope = sealEnvelope(fx.sodium, alice.identity, text)
    expect(Object.keys(envelope).sort()).toEqual(['body', 'certificate', 'sig'])
    const bodyBytes = fromBase64url(envelope.body) as Uint8Array
    expect(bodyBytes).toEqual(canonicalEncode(text))
    const signed = new Uint8Array([...utf8('voxmesh/envelope/v1'), 0, ...bodyBytes])
    expect(fx.sodium.crypto_sign_verify_detached(fromBase64url(envelope.sig) as Uint8Array, signed, fromBase64url(alice.deviceKey) as Uint8Array)).toBe(true)
  })

  it('rejects an envelope re-signed by another device (forgery), and one with its certificate swapped', () => {
    const genuine = sealEnvelope(fx.sodium, alice.identity, text)
    const bodyBytes = fromBase64url(genuine.body) as Uint8Array
    const mallorySig = toBase64url(fx.sodium.crypto_sign_detached(signedRecordBytes(ENVELOPE_DOMAIN, bodyBytes), bob.identity.secretKey))
    expect(open({ ...genuine, sig: mallorySig })).toMatchObject({ ok: false, reason: 'bad_signature' })
    expect(open({ ...genuine, certificate: bob.identity.certificate })).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it('rejects an altered body', () => {
    const genuine = sealEnvelope(fx.sodium, alice.identity, text)
    const altered = toBase64url(canonicalEncode({ ...text, text: 'send money' }))
    expect(open({ ...genuine, body: altered })).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it('rejects a body whose "from" is not the signing user', () => {
    const lie = signRawRecord(fx.sodium, bob, ENVELOPE_DOMAIN, canonicalEncode(text)) // bob signs "from: alice"
    expect(open(lie)).toMatchObject({ ok: false, reason: 'signer_mismatch' })
    expect(open(signRawRecord(fx.sodium, bob, ENVELOPE_DOMAIN, canonicalEncode({ ...text, from: 'bob' })))).toMatchObject({ ok: true })
    expect(() => sealEnvelope(fx.sodium, bob.identity, text)).toThrow(/not our user/)
  })

  it('rejects an expired certificate, and one from another issuer, saying why', () => {
    const lapsed = fx.device('alice', { issued: NOW - 7200, expires: NOW - 3600 })
    const expired = open(sealEnvelope(fx.sodium, lapsed.identity, text))
    expect(expired).toMatchObject({ ok: false, reason: 'bad_certificate' })
    expect(expired.ok ? '' : expired.message).toMatch(/\(expired\)/)
    expect(open(sealEnvelope(fx.sodium, lapsed.identity, text), NOW - 5000)).toMatchObject({ ok: true })

    const stranger = fx.device('alice', { issuerSecretKey: fx.sodium.crypto_sign_keypair().privateKey })
    const foreign = open(sealEnvelope(fx.sodium, stranger.identity, text))
    expect(foreign).toMatchObject({ ok: false, reason: 'bad_certificate' })
    expect(foreign.ok ? '' : foreign.message).toMatch(/\(bad_signature\)/)
  })

  it('rejects a body that is signed but not canonical', () => {
    const loose = utf8(JSON.stringify({ type: 'text', from: 'alice' }, null, 2))
    expect(open(signRawRecord(fx.sodium, alice, ENVELOPE_DOMAIN, loose))).toMatchObject({ ok: false, reason: 'not_canonical' })
    const unsorted = utf8('{"type":"text","from":"alice"}')
    expect(open(signRawRecord(fx.sodium, alice, ENVELOPE_DOMAIN, unsorted))).toMatchObject({ ok: false, reason: 'not_canonical' })
  })

  it('accepts a body of exactly 8 KiB and rejects one byte more, even when properly signed', () => {
    const largest = bodyOfSize(MAX_SIGNED_BODY_BYTES)
    expect(canonicalEncode(largest).length).toBe(MAX_SIGNED_BODY_BYTES)
    expect(open(sealEnvelope(fx.sodium, alice.identity, largest))).toMatchObject({ ok: true })
    const tooLarge = canonicalEncode(bodyOfSize(MAX_SIGNED_BODY_BYTES + 1))
    expect(open(signRawRecord(fx.sodium, alice, ENVELOPE_DOMAIN, tooLarge))).toMatchObject({ ok: false, reason: 'too_large' })
    expect(() => sealEnvelope(fx.sodium, alice.identity, bodyOfSize(MAX_SIGNED_BODY_BYTES + 1))).toThrow(RangeError)
  })

  it('rejects malformed envelopes', () => {
    const genuine = sealEnvelope(fx.sodium, alice.identity, text)
    const cases: unknown[] = [
      null, 'envelope', [genuine],
      { ...genuine, extra: 1 },
      { certificate: genuine.certificate, body: genuine.body },
      { ...genuine, sig: genuine.sig.slice(1) },
      { ...genuine, sig: 5 },
      { ...genuine, body: `${genuine.body}=` },
      { ...genuine, certificate: { ...genuine.certificate, extra: 'x' } },
      { ...genuine, certificate: 'cert' },
      signRawRecord(fx.sodium, alice, ENVELOPE_DOMAIN, canonicalEncode(['not', 'an', 'object']))
    ]
    for (const envelope of cases) expect(open(envelope)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(open(genuine)).toMatchObject({ ok: true })
  })

  it('does not accept a locator record as an envelope (signatures are domain-separated)', () => {
    const locator = signLocator(fx.sodium, alice.identity, {
      supernode: { address: '198.18.0.1:4000', deviceKey: bob.deviceKey }, seq: 1, expires: NOW + 300
    })
    expect(open(locator)).toMatchObject({ ok: false, reason: 'bad_signature' })
    expect(LOCATOR_PURPOSE).not.toBe(ENVELOPE_DOMAIN)
  })
})
