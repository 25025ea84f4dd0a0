// Fuzz: the link handshake (common/wire/link-handshake.ts), the first bytes a stranger sends.
// Real hello, welcome and auth frames from real ends, mutated (in canonical JSON, so mutations
// get past the canonical check) and fed to a fresh end in the state that expects them.
import { beforeAll, describe, expect } from 'vitest'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { canonicalEncode, type CanonicalValue } from '../../common/canonical.js'
import { createLinkHandshake, type HandshakeStep, type LinkHandshake } from '../../common/wire/link-handshake.js'
import { loadFixture, NOW, type Fixture, type TestDevice } from '../wire/fixtures.js'
import { jsonInput } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import type { FuzzTarget } from './kit/runner.js'
import { fuzzSuite } from './kit/suite.js'

type Stage = 'hello' | 'welcome' | 'auth'
interface HandshakeInput { stage: Stage, frame: Uint8Array }

const REASONS = new Set(['malformed', 'unexpected', 'bad_certificate', 'bad_signature', 'wrong_peer', 'self'])
const STAGES: Stage[] = ['hello', 'welcome', 'auth']

let fx: Fixture
let alice: TestDevice
let sn: TestDevice
const pool: Record<Stage, CanonicalValue[]> = { hello: [], welcome: [], auth: [] }
let aliceHello: Uint8Array

const end = (role: 'initiator' | 'responder', device: TestDevice): LinkHandshake =>
  createLinkHandshake(fx.sodium, { role, identity: device.identity, issuerKey: fx.issuer.publicKey, nowSeconds: () => NOW })
const parse = (frame: Uint8Array | undefined): CanonicalValue => JSON.parse(new TextDecoder().decode(frame)) as CanonicalValue

beforeAll(async () => {
  fx = await loadFixture()
  alice = fx.device('alice')
  sn = fx.device('sn-one')
  const strangers = [
    alice, fx.device('bob'), fx.device('old', { issued: NOW - 7200, expires: NOW - 3600 }),
    fx.device('forged', { issuerSecretKey: fx.sodium.crypto_sign_keypair().privateKey }), { ...sn, user: 'sn-one' }
  ]
  for (const device of strangers) {
    const initiator = end('initiator', device)
    const hello = initiator.start()[0] as Uint8Array
    pool.hello.push(parse(hello))
    const welcome = end('responder', sn).receive(hello).send[0]
    if (welcome === undefined) continue
    pool.welcome.push(parse(welcome))
    const auth = initiator.receive(welcome).send[0]
    if (auth !== undefined) pool.auth.push(parse(auth))
  }
  aliceHello = end('initiator', alice).start()[0] as Uint8Array
  expect(pool.auth.length).toBeGreaterThan(0)
})

const canonicalText = (value: unknown): string => {
  try {
    return new TextDecoder().decode(canonicalEncode(value as CanonicalValue))
  } catch {
    return JSON.stringify(value) // a mutation canonical JSON cannot carry (null, a float): plain JSON then
  }
}

function generate (rng: Rng): HandshakeInput {
  const from = rng.pick(STAGES)
  // Mostly the frame the stage expects; sometimes another stage's frame (out of order).
  const stage = rng.bool(0.9) ? from : rng.pick(STAGES)
  return { stage, frame: jsonInput(rng, rng.pick(pool[from]), canonicalText) }
}

function verdictOf (step: HandshakeStep): { ok: true } | { ok: false, reason: string } {
  if (step.error === undefined) return { ok: true }
  expect(REASONS.has(step.error.reason), `unknown handshake error reason ${step.error.reason}`).toBe(true)
  return { ok: false, reason: `${step.error.reason}: ${step.error.message}` }
}

const handshake: FuzzTarget<HandshakeInput> = {
  parser: 'handshake',
  generate,
  check: ({ stage, frame }) => {
    let receiver: LinkHandshake
    if (stage === 'hello') {
      receiver = end('responder', sn)
    } else if (stage === 'welcome') {
      receiver = end('initiator', alice)
      receiver.start()
    } else {
      receiver = end('responder', sn)
      expect(receiver.receive(aliceHello).error).toBeUndefined()
    }
    const verdict = verdictOf(receiver.receive(frame))
    // Whatever happened, the end accepts nothing after finishing and says so.
    if (receiver.done) expect(receiver.receive(frame).error?.reason).toBe('unexpected')
    return verdict
  },
  save: input => ({ ext: 'json', data: JSON.stringify({ stage: input.stage, frame: toBase64url(input.frame) }) }),
  load: data => {
    const { stage, frame } = JSON.parse(data.toString('utf8')) as { stage: Stage, frame: string }
    return { stage, frame: fromBase64url(frame) ?? new Uint8Array() }
  }
}

describe('fuzz: link handshake', () => {
  fuzzSuite(handshake, {
    slice: 1500,
    after: report => { expect(report.accepted, 'real hellos are answered').toBeGreaterThan(0) }
  })
})
