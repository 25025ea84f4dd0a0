// Fuzz: signed envelopes as a host receives them in 'deliver' messages (openEnvelope, then the
// body schemas of node/overlay/envelope-bodies.ts, then a text's sealed content). Bodies from
// the schemas, mutated and then signed for real by a device (so mutations reach the body checks
// past the signature), text bodies sealed to us for real; and envelopes mutated after signing.
import { createHash } from 'node:crypto'
import { beforeAll, describe, expect } from 'vitest'
import { canonicalEncode, type CanonicalValue } from '../../common/canonical.js'
import { ENVELOPE_DOMAIN, openEnvelope } from '../../common/wire/signed-envelope.js'
import { isDeliverableBody, isOverlayBody, PresenceBody, ReceiptBody, TextBody, ContactAcceptedBody, PresenceQueryBody } from '../../node/overlay/envelope-bodies.js'
import { openSealedText, sealText, type SealedText } from '../../node/overlay/sealed-text.js'
import { CallBody } from '../../node/calls/call-bodies.js'
import { loadFixture, NOW, signRawRecord, type Fixture, type TestDevice } from '../wire/fixtures.js'
import { mutateText, mutateValue } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { jsonFixtures, type Verdict } from './kit/runner.js'
import { validValue } from './kit/schema-values.js'
import { fuzzSuite } from './kit/suite.js'

type Schema = Record<string, unknown>
const BODIES = [PresenceBody, TextBody, ReceiptBody, ContactAcceptedBody, PresenceQueryBody, ...CallBody.anyOf] as unknown as Schema[]

describe('fuzz: signed envelopes into a host', () => {
  let fx: Fixture
  let issuer: { publicKey: Uint8Array, privateKey: Uint8Array }
  let me: TestDevice
  let signers: TestDevice[]
  beforeAll(async () => {
    fx = await loadFixture()
    // Keys from fixed seeds, so a saved failing envelope verifies the same way when replayed.
    const keys = (name: string): { publicKey: Uint8Array, privateKey: Uint8Array } =>
      fx.sodium.crypto_sign_seed_keypair(createHash('sha256').update(`fuzz-envelopes:${name}`).digest())
    issuer = keys('issuer')
    const device = (user: string, options: { issued?: number, expires?: number, issuerSecretKey?: Uint8Array } = {}): TestDevice =>
      fx.device(user, { issuerSecretKey: issuer.privateKey, ...options, keyPair: keys(user) })
    me = device('mike')
    signers = [device('alice'), device('bob'), device('old', { issued: NOW - 7200, expires: NOW - 3600 }), device('forged', { issuerSecretKey: keys('rogue').privateKey })]
  })

  const bodyOf = (rng: Rng, signer: TestDevice): unknown => {
    const body = validValue(rng, rng.pick(BODIES)) as Record<string, unknown>
    if (rng.bool(0.9)) body.from = signer.user
    if ('to' in body && rng.bool(0.8)) body.to = me.user
    if (body.type === 'text' && rng.bool(0.8)) {
      const sealed: SealedText = sealText(fx.sodium, rng.pick(['hi', 'é'.repeat(100), '']), { secretKey: signer.identity.secretKey }, [me.deviceKey])
      Object.assign(body, sealed)
    }
    return rng.bool(0.6) ? body : mutateValue(rng, body)
  }

  /** The body signed for real (canonical when it can be, else its plain JSON), the envelope sometimes mutated after. */
  const generate = (rng: Rng): { envelope: string } => {
    const signer = rng.pick(signers)
    const body = bodyOf(rng, signer)
    let bytes: Uint8Array
    try {
      bytes = canonicalEncode(body as CanonicalValue)
    } catch {
      bytes = new TextEncoder().encode(JSON.stringify(body))
    }
    const envelope = signRawRecord(fx.sodium, signer, ENVELOPE_DOMAIN, bytes)
    const r = rng.float()
    if (r < 0.7) return { envelope: JSON.stringify(envelope) }
    if (r < 0.9) return { envelope: JSON.stringify(mutateValue(rng, envelope)) }
    return { envelope: mutateText(rng, JSON.stringify(envelope)) }
  }

  const check = ({ envelope }: { envelope: string }): Verdict => {
    let value: unknown
    try {
      value = JSON.parse(envelope)
    } catch {
      return { ok: false, reason: 'not JSON (the link message would not decode)' }
    }
    const opened = openEnvelope(fx.sodium, value, { issuerKey: issuer.publicKey, nowSeconds: NOW })
    if (!opened.ok) return { ok: false, reason: `${opened.reason}: ${opened.message}` }
    const body = opened.body
    if (!isDeliverableBody.Check(body) || body.from !== opened.from.user) return { ok: false, reason: 'unknown or mismatched body' }
    if (isOverlayBody.Check(body) && body.type === 'text') {
      if (body.to !== me.user) return { ok: false, reason: 'addressed to someone else' }
      const text = openSealedText(fx.sodium, body, { deviceKey: me.deviceKey, secretKey: me.identity.secretKey }, opened.from.deviceKey)
      if (!text.ok) return text
    }
    return { ok: true }
  }

  fuzzSuite({ parser: 'envelopes', generate, check, ...jsonFixtures<{ envelope: string }>() }, {
    slice: 1500,
    after: report => { expect(report.accepted).toBeGreaterThan(report.inputs / 20) }
  })
})
