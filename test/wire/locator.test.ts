import { beforeAll, describe, expect, it } from 'vitest'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { canonicalEncode, type CanonicalValue } from '../../common/canonical.js'
import {
  LOCATOR_PURPOSE, MAX_LOCATOR_LIFETIME_SECONDS, signLocator, verifyLocator, type Locator
} from '../../common/wire/locator.js'
import { ENVELOPE_DOMAIN, sealEnvelope } from '../../common/wire/signed-envelope.js'
import { loadFixture, NOW, signRawRecord, type Fixture, type TestDevice } from './fixtures.js'

let fx: Fixture
let alice: TestDevice
let sn: TestDevice

beforeAll(async () => {
  fx = await loadFixture()
  alice = fx.device('alice')
  sn = fx.device('sn-one')
})

const verify = (record: unknown, now = NOW) => verifyLocator(fx.sodium, record, { issuerKey: fx.issuer.publicKey, nowSeconds: now })
const content = (overrides: Partial<{ address: string, seq: number, expires: number }> = {}) => ({
  supernode: { address: overrides.address ?? '198.18.0.7:4000', deviceKey: sn.deviceKey },
  seq: overrides.seq ?? 42,
  expires: overrides.expires ?? NOW + 300
})
/** The locator body alice's device would sign, with `change` applied, signed raw by `signer`. */
const rawLocator = (signer: TestDevice, change: (body: Record<string, CanonicalValue>) => void = () => {}) => {
  const body: Record<string, CanonicalValue> = {
    purpose: LOCATOR_PURPOSE, user: 'alice', deviceKey: alice.deviceKey,
    supernode: { address: '198.18.0.7:4000', deviceKey: sn.deviceKey }, seq: 42, expires: NOW + 300
  }
  change(body)
  return signRawRecord(fx.sodium, signer, LOCATOR_PURPOSE, canonicalEncode(body))
}

describe('locator', () => {
  it('round-trips: a verified locator says which device of which user is at which supernode', () => {
    const check = verify(signLocator(fx.sodium, alice.identity, content()))
    const expected: Locator = {
      purpose: LOCATOR_PURPOSE, user: 'alice', deviceKey: alice.deviceKey,
      supernode: { address: '198.18.0.7:4000', deviceKey: sn.deviceKey }, seq: 42, expires: NOW + 300
    }
    expect(check).toEqual({ ok: true, locator: expected })
  })

  it('is a { certificate, body, sig } record whose body is the canonical locator', () => {
    const record = signLocator(fx.sodium, alice.identity, content())
    expect(Object.keys(record).sort()).toEqual(['body', 'certificate', 'sig'])
    expect(record.certificate).toEqual(alice.identity.certificate)
    const body = JSON.parse(new TextDecoder().decode(fromBase64url(record.body))) as Locator
    expect(body.purpose).toBe('voxmesh/locator/v1')
    expect(rawLocator(alice)).toEqual(record) // same bytes, same (deterministic Ed25519) signature
  })

  it('rejects a locator signed by another device of the same user', () => {
    const secondDevice = fx.device('alice')
    const check = verify(rawLocator(secondDevice)) // claims device 1, signed by device 2
    expect(check).toMatchObject({ ok: false, reason: 'signer_mismatch' })
  })

  it('rejects a locator about a user other than the signer (a rogue supernode cannot forge presence)', () => {
    const check = verify(rawLocator(sn, body => { body.deviceKey = sn.deviceKey })) // sn's own device, but user "alice"
    expect(check).toMatchObject({ ok: false, reason: 'signer_mismatch' })
    expect(verify(rawLocator(sn, body => { body.deviceKey = sn.deviceKey; body.user = 'sn-one' }))).toMatchObject({ ok: true })
  })

  it('rejects a forged signature and an altered body', () => {
    const genuine = signLocator(fx.sodium, alice.identity, content())
    const otherSig = signRawRecord(fx.sodium, sn, LOCATOR_PURPOSE, fromBase64url(genuine.body) as Uint8Array).sig
    expect(verify({ ...genuine, sig: otherSig })).toMatchObject({ ok: false, reason: 'bad_signature' })
    const redirected = toBase64url(canonicalEncode({
      ...JSON.parse(new TextDecoder().decode(fromBase64url(genuine.body))) as Record<string, CanonicalValue>,
      supernode: { address: '198.18.0.66:4000', deviceKey: sn.deviceKey }
    }))
    expect(verify({ ...genuine, body: redirected })).toMatchObject({ ok: false, reason: 'bad_signature' })
  })

  it('rejects an expired locator', () => {
    const record = signLocator(fx.sodium, alice.identity, content({ expires: NOW + 100 }))
    expect(verify(record, NOW + 99)).toMatchObject({ ok: true })
    expect(verify(record, NOW + 100)).toMatchObject({ ok: false, reason: 'expired' })
  })

  it(`rejects a locator that expires more than ${MAX_LOCATOR_LIFETIME_SECONDS} s ahead`, () => {
    expect(verify(signLocator(fx.sodium, alice.identity, content({ expires: NOW + MAX_LOCATOR_LIFETIME_SECONDS })))).toMatchObject({ ok: true })
    const check = verify(signLocator(fx.sodium, alice.identity, content({ expires: NOW + MAX_LOCATOR_LIFETIME_SECONDS + 1 })))
    expect(check).toMatchObject({ ok: false, reason: 'lifetime_too_long' })
  })

  it('rejects a locator whose certificate expired or comes from another issuer', () => {
    const lapsed = fx.device('alice', { issued: NOW - 7200, expires: NOW - 3600 })
    const expired = verify(signLocator(fx.sodium, lapsed.identity, content()))
    expect(expired).toMatchObject({ ok: false, reason: 'bad_certificate' })
    expect(expired.ok ? '' : expired.message).toMatch(/\(expired\)/)
    const stranger = fx.device('alice', { issuerSecretKey: fx.sodium.crypto_sign_keypair().privateKey })
    expect(verify(signLocator(fx.sodium, stranger.identity, content()))).toMatchObject({ ok: false, reason: 'bad_certificate' })
  })

  it('accepts canonical HOST:PORT addresses and rejects anything else', () => {
    for (const address of ['198.18.0.7:4000', '[::1]:4000', 'sn1.example.net:443']) {
      expect(verify(rawLocator(alice, body => { body.supernode = { address, deviceKey: sn.deviceKey } }))).toMatchObject({ ok: true })
    }
    for (const address of ['198.18.0.7', '198.18.0.7:0', '198.18.0.7:65536', 'sn:080', '::1:4000', 'a b:1', '']) {
      const check = verify(rawLocator(alice, body => { body.supernode = { address, deviceKey: sn.deviceKey } }))
      expect(check, address).toMatchObject({ ok: false, reason: 'bad_address' })
    }
    expect(() => signLocator(fx.sodium, alice.identity, content({ address: 'nowhere' }))).toThrow(/HOST:PORT/)
  })

  it('rejects missing, extra and mistyped fields', () => {
    const cases: Array<(body: Record<string, CanonicalValue>) => void> = [
      body => { body.extra = 1 },
      body => { delete body.seq },
      body => { body.seq = -1 },
      body => { body.expires = '1800000300' },
      body => { body.purpose = 'voxmesh/locator/v2' },
      body => { body.user = 'Alice!' },
      body => { body.deviceKey = 'short' },
      body => { body.supernode = { address: '198.18.0.7:4000', deviceKey: sn.deviceKey, load: 3 } },
      body => { body.supernode = { address: '198.18.0.7:4000', deviceKey: 'not-a-key' } },
      body => { body.supernode = '198.18.0.7:4000' }
    ]
    for (const change of cases) {
      expect(verify(rawLocator(alice, change)), change.toString()).toMatchObject({ ok: false, reason: 'bad_fields' })
    }
    expect(verify(rawLocator(alice))).toMatchObject({ ok: true })
  })

  it('does not accept an envelope as a locator, even one with a locator-shaped body', () => {
    const body = {
      purpose: LOCATOR_PURPOSE, user: 'alice', deviceKey: alice.deviceKey,
      supernode: { address: '198.18.0.7:4000', deviceKey: sn.deviceKey }, seq: 42, expires: NOW + 300
    }
    expect(verify(sealEnvelope(fx.sodium, alice.identity, body))).toMatchObject({ ok: false, reason: 'bad_signature' })
    expect(verify(signRawRecord(fx.sodium, alice, LOCATOR_PURPOSE, canonicalEncode(body)))).toMatchObject({ ok: true })
    expect(ENVELOPE_DOMAIN).not.toBe(LOCATOR_PURPOSE)
  })
})
