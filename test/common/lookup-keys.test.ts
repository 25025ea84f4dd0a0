// The lookup key derivation the login server and the testnet share, and the
// sealed locator records built on it: what a holder of a capability can open,
// and what a supernode that merely stores them can check.
import { beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { signCertificate, CERTIFICATE_VERSION } from '../../common/certificate.js'
import { capabilityFor, LOOKUP_SECRET_BYTES, lookupKeyOf, openOwnLookup, ownLookupFor, reachTokenOf } from '../../common/lookup-keys.js'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { signLocator } from '../../common/wire/locator.js'
import {
  checkSealedRecord, MAX_SEALED_LOCATOR_BYTES, openSealedRecord, SEALED_LOCATOR_PADDING, sealedSubkey, sealLocatorRecord, type SealedLocatorRecord
} from '../../common/wire/sealed-locator.js'

let sodium: Sodium
let secret: Uint8Array
const issuer = { publicKey: new Uint8Array(), privateKey: new Uint8Array() }
const NOW = 1_700_000_000

beforeAll(async () => {
  sodium = await loadSodium()
  secret = sodium.randombytes_buf(LOOKUP_SECRET_BYTES)
  Object.assign(issuer, sodium.crypto_sign_keypair())
})

function device (user: string) {
  const keys = sodium.crypto_sign_keypair()
  const deviceKey = toBase64url(keys.publicKey)
  const certificate = signCertificate(sodium, { v: CERTIFICATE_VERSION, user, deviceKey, issued: NOW - 10, expires: NOW + 3600, serial: 1 }, issuer.privateKey)
  return { deviceKey, identity: { certificate, secretKey: keys.privateKey } }
}

/** `user`'s device's locator, sealed as its host publishes it. */
function sealedFor (user: string, address = '198.18.0.1:7701'): { record: SealedLocatorRecord, deviceKey: string } {
  const { deviceKey, identity } = device(user)
  const content = { seq: NOW * 1000, expires: NOW + 180 }
  const locator = signLocator(sodium, identity, { supernode: { address, deviceKey: toBase64url(sodium.crypto_sign_keypair().publicKey) }, ...content })
  return { record: sealLocatorRecord(sodium, openOwnLookup(sodium, ownLookupFor(secret, user)), locator, { deviceKey, ...content }), deviceKey }
}

const options = () => ({ issuerKey: issuer.publicKey, nowSeconds: NOW })

describe('lookup key derivation', () => {
  it('gives a user and its contacts the same lookup key and seal key, per user and per secret', () => {
    const own = openOwnLookup(sodium, ownLookupFor(secret, 'alice'))
    const capability = capabilityFor(sodium, secret, 'alice')
    expect(capability).toEqual({ user: 'alice', lookupKey: own.lookupKey, sealKey: toBase64url(own.sealKey) })
    expect(capability.lookupKey).toBe(lookupKeyOf(own.publicKey))
    expect(capability.lookupKey).toMatch(/^[0-9a-f]{64}$/)
    // Deterministic: the login server hands out the same keys every time.
    expect(capabilityFor(sodium, secret, 'alice')).toEqual(capability)
    expect(ownLookupFor(secret, 'alice')).toEqual(ownLookupFor(secret, 'alice'))
    const bob = capabilityFor(sodium, secret, 'bob')
    expect(bob.lookupKey).not.toBe(capability.lookupKey)
    expect(bob.sealKey).not.toBe(capability.sealKey)
    const otherServer = capabilityFor(sodium, sodium.randombytes_buf(LOOKUP_SECRET_BYTES), 'alice')
    expect(otherServer.lookupKey).not.toBe(capability.lookupKey)
    // Nobody can compute it from the name alone.
    expect(capability.lookupKey).not.toBe(createHash('sha256').update('alice').digest('hex'))
  })

  it('derives the reach token from the seal key only', () => {
    const capability = capabilityFor(sodium, secret, 'alice')
    expect(reachTokenOf(capability.sealKey)).toMatch(/^[0-9a-f]{64}$/)
    expect(reachTokenOf(capability.sealKey)).toBe(reachTokenOf(ownLookupFor(secret, 'alice').sealKey))
    expect(reachTokenOf(capability.sealKey)).not.toBe(reachTokenOf(capabilityFor(sodium, secret, 'bob').sealKey))
  })

  it('refuses a malformed own lookup', () => {
    expect(() => openOwnLookup(sodium, { seed: 'short', sealKey: toBase64url(new Uint8Array(32)) })).toThrow(/32-byte seed/)
  })
})

describe('sealed locator records', () => {
  it('open with the capability into the signed locator, bound to the record', () => {
    const { record, deviceKey } = sealedFor('alice')
    expect(checkSealedRecord(sodium, record, NOW * 1000)).toEqual({ ok: true })
    const opened = openSealedRecord(sodium, record, capabilityFor(sodium, secret, 'alice'), options())
    expect(opened.ok && opened.locator).toMatchObject({ user: 'alice', deviceKey, seq: record.seq, expires: record.expiresAt / 1000 })
    expect(record.subkey).toBe(sealedSubkey(fromBase64url(capabilityFor(sodium, secret, 'alice').sealKey) as Uint8Array, deviceKey))
  })

  it('say nothing of the user, device or supernode to whoever stores them, and pad to one size', () => {
    const short = sealedFor('bob', '198.18.0.1:1')
    const long = sealedFor('a-much-longer-user-name', '198.18.200.200:65535')
    const text = JSON.stringify(short.record)
    for (const secretText of ['bob', short.deviceKey, '198.18.0.1']) expect(text).not.toContain(secretText)
    expect(short.record.value.sealed.length).toBe(long.record.value.sealed.length)
    expect(fromBase64url(short.record.value.sealed)!.length).toBeLessThanOrEqual(MAX_SEALED_LOCATOR_BYTES)
    expect((fromBase64url(short.record.value.sealed)!.length - sodium.crypto_secretbox_NONCEBYTES - sodium.crypto_secretbox_MACBYTES) % SEALED_LOCATOR_PADDING).toBe(0)
  })

  it('do not open without the right capability', () => {
    const { record } = sealedFor('alice')
    const bob = capabilityFor(sodium, secret, 'bob')
    expect(openSealedRecord(sodium, record, bob, options())).toMatchObject({ ok: false, reason: expect.stringMatching(/lookup key/) })
    // The right key, a guessed seal key.
    const guessed = { user: 'alice', lookupKey: record.key, sealKey: toBase64url(sodium.randombytes_buf(32)) }
    expect(openSealedRecord(sodium, record, guessed, options())).toMatchObject({ ok: false, reason: expect.stringMatching(/does not open/) })
    // A capability that names another user: the locator inside is alice's.
    expect(openSealedRecord(sodium, record, { ...capabilityFor(sodium, secret, 'alice'), user: 'eve' }, options()))
      .toMatchObject({ ok: false, reason: expect.stringMatching(/another user/) })
  })

  it('are refused as forged when tampered, moved to another key, or re-sequenced; as untimely when they live too long', () => {
    const { record } = sealedFor('alice')
    const flip = (text: string): string => text.slice(0, 20) + (text[20] === 'A' ? 'B' : 'A') + text.slice(21)
    const cases: Array<[SealedLocatorRecord, RegExp]> = [
      [{ ...record, value: { ...record.value, sealed: flip(record.value.sealed) } }, /signature does not verify/],
      [{ ...record, seq: record.seq + 1 }, /signature does not verify/],
      [{ ...record, key: capabilityFor(sodium, secret, 'bob').lookupKey }, /not sha256 of its lookup key/],
      [{ ...record, subkey: 'x'.repeat(32) }, /subkey/],
      [{ ...record, value: { ...record.value, pub: 'AAAA' } }, /32-byte/]
    ]
    for (const [bad, reason] of cases) {
      expect(checkSealedRecord(sodium, bad, NOW * 1000)).toEqual({ ok: false, forged: true, reason: expect.stringMatching(reason) })
    }
    expect(checkSealedRecord(sodium, record, NOW * 1000 - 3600_000)).toMatchObject({ ok: false, forged: false })
  })
})
