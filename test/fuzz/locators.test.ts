// Fuzz: locators, as a supernode reads them in 'register' / 'refresh-locator' (verifyLocator) and
// as a host reads them sealed in DHT records (checkSealedRecord, openSealedRecord with a lookup
// capability). Locator contents mutated and then signed for real by a seeded device, sealed for
// real with the user's seal key; records and their values mutated after sealing.
import { createHash } from 'node:crypto'
import { beforeAll, describe, expect } from 'vitest'
import { toBase64url } from '../../common/base64url.js'
import { canonicalEncode, type CanonicalValue } from '../../common/canonical.js'
import { lookupKeyOf, type LookupCapability } from '../../common/lookup-keys.js'
import { LOCATOR_PURPOSE, verifyLocator, type LocatorRecord } from '../../common/wire/locator.js'
import { checkSealedRecord, openSealedRecord, sealLocatorRecord } from '../../common/wire/sealed-locator.js'
import { loadFixture, NOW, signRawRecord, type Fixture, type TestDevice } from '../wire/fixtures.js'
import { mutateValue } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { jsonFixtures, type Verdict } from './kit/runner.js'
import { fuzzSuite } from './kit/suite.js'

interface LocatorInput { kind: 'locator' | 'sealed', record: string }

describe('fuzz: locators, signed and sealed', () => {
  let fx: Fixture
  let issuer: { publicKey: Uint8Array, privateKey: Uint8Array }
  let alice: TestDevice
  let own: { publicKey: Uint8Array, secretKey: Uint8Array, sealKey: Uint8Array }
  let capability: LookupCapability
  const options = (): { issuerKey: Uint8Array, nowSeconds: number } => ({ issuerKey: issuer.publicKey, nowSeconds: NOW })

  beforeAll(async () => {
    fx = await loadFixture()
    // Keys from fixed seeds, so a saved failing record verifies the same way when replayed.
    const keys = (name: string): { publicKey: Uint8Array, privateKey: Uint8Array } =>
      fx.sodium.crypto_sign_seed_keypair(createHash('sha256').update(`fuzz-locators:${name}`).digest())
    issuer = keys('issuer')
    alice = fx.device('alice', { issuerSecretKey: issuer.privateKey, keyPair: keys('alice') })
    const lookup = keys('alice-lookup')
    own = { publicKey: lookup.publicKey, secretKey: lookup.privateKey, sealKey: createHash('sha256').update('fuzz-locators:seal').digest() }
    capability = { user: 'alice', lookupKey: lookupKeyOf(own.publicKey), sealKey: toBase64url(own.sealKey) }
  })

  const locatorBody = (rng: Rng): unknown => {
    const body = {
      purpose: LOCATOR_PURPOSE,
      user: 'alice',
      deviceKey: alice.deviceKey,
      supernode: { address: rng.pick(['198.18.0.1:4000', '[2001:db8::1]:443', 'sn.example:80']), deviceKey: toBase64url(fx.sodium.crypto_sign_seed_keypair(new Uint8Array(32).fill(7)).publicKey) },
      seq: rng.int(0, 1000),
      expires: NOW + rng.pick([-1, 1, 300, 600, 601])
    }
    return rng.bool(0.5) ? body : mutateValue(rng, body)
  }

  /** The body signed by alice's device (canonical when it can be, else its plain JSON). */
  const signed = (body: unknown): LocatorRecord => {
    let bytes: Uint8Array
    try {
      bytes = canonicalEncode(body as CanonicalValue)
    } catch {
      bytes = new TextEncoder().encode(JSON.stringify(body))
    }
    return signRawRecord(fx.sodium, alice, LOCATOR_PURPOSE, bytes)
  }

  const generate = (rng: Rng): LocatorInput => {
    const body = locatorBody(rng)
    const record = signed(body)
    if (rng.bool(0.4)) return { kind: 'locator', record: JSON.stringify(rng.bool(0.8) ? record : mutateValue(rng, record)) }
    const locator = (typeof body === 'object' && body !== null ? body : {}) as { seq?: unknown, expires?: unknown }
    const seq = typeof locator.seq === 'number' && Number.isSafeInteger(locator.seq) && locator.seq >= 0 ? locator.seq : 1
    const expires = typeof locator.expires === 'number' && Number.isSafeInteger(locator.expires) ? locator.expires : NOW + 300
    let sealed: unknown
    try {
      sealed = sealLocatorRecord(fx.sodium, own, record, { deviceKey: alice.deviceKey, seq, expires })
    } catch {
      sealed = { key: capability.lookupKey, subkey: '0'.repeat(32), value: { pub: '', sealed: '', sig: '' }, seq, expiresAt: expires * 1000 } // too large to seal
    }
    return { kind: 'sealed', record: JSON.stringify(rng.bool(0.7) ? sealed : mutateValue(rng, sealed)) }
  }

  const check = ({ kind, record }: LocatorInput): Verdict => {
    const value = JSON.parse(record) as unknown
    if (kind === 'locator') {
      const verified = verifyLocator(fx.sodium, value, options())
      return verified.ok ? { ok: true } : { ok: false, reason: `${verified.reason}: ${verified.message}` }
    }
    // As a DHT record arrives: the DHT's own schema first (recordProblem), checked in dht.test.ts; here its shape.
    const r = value as { key: string, subkey: string, value: unknown, seq: number, expiresAt: number }
    if (typeof r !== 'object' || r === null || typeof r.key !== 'string' || typeof r.subkey !== 'string' || !Number.isSafeInteger(r.seq) || !Number.isSafeInteger(r.expiresAt)) {
      return { ok: false, reason: 'not a DHT record (the DHT refuses it first)' }
    }
    const stored = checkSealedRecord(fx.sodium, r, NOW * 1000)
    if (!stored.ok) return { ok: false, reason: `store refused${stored.forged ? ' (forged)' : ''}: ${stored.reason}` }
    const opened = openSealedRecord(fx.sodium, r, capability, options())
    return opened.ok ? { ok: true } : { ok: false, reason: opened.reason }
  }

  fuzzSuite({ parser: 'locators', generate, check, ...jsonFixtures<LocatorInput>() }, {
    slice: 1500,
    after: report => { expect(report.accepted).toBeGreaterThan(report.inputs / 20) }
  })
})
