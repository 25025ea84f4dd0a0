// Fuzz: SDP on its way to the native binding. The guard (node/media/sdp-guard.ts) must refuse,
// with a reason, anything node-datachannel's parser might choke on; nothing random reaches the
// binding here (the unit slice never loads it). And sealed SDP (node/calls/sealed-sdp.ts) as a
// call-offer/answer carries it: sealed to us (mutated SDP inside), sealed to someone else, or
// damaged sealed text.
import { beforeAll, describe, expect } from 'vitest'
import { toBase64url } from '../../common/base64url.js'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { openSealedSdp, sealSdp } from '../../node/calls/sealed-sdp.js'
import { checkCandidate, checkRemoteSdp, MAX_REMOTE_SDP_BYTES, splitSdpCandidates } from '../../node/media/sdp-guard.js'
import { mutateText } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { jsonFixtures, type Verdict } from './kit/runner.js'
import { sdpInput } from './kit/sdp.js'
import { fuzzSuite } from './kit/suite.js'

interface SdpInput { type: unknown, sdp: unknown }

/** The guard's verdict; an approved SDP must also hold together the way the media session uses it. */
function guard ({ type, sdp }: SdpInput): Verdict {
  const check = checkRemoteSdp(sdp, type)
  if (!check.ok) return check
  const text = sdp as string
  expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(MAX_REMOTE_SDP_BYTES)
  const { candidates } = splitSdpCandidates(text)
  expect(candidates.length).toBe(check.summary.candidates)
  for (const candidate of candidates) expect(checkCandidate(candidate).ok, candidate).toBe(true)
  return { ok: true }
}

function generateSdp (rng: Rng): SdpInput {
  const type = rng.pick(['offer', 'answer'] as const)
  const r = rng.float()
  // Rarely not a string or not a known type: the guard takes `unknown`.
  if (r < 0.03) return { type, sdp: rng.pick([undefined, null, 17, {}, [], ''] as unknown[]) }
  if (r < 0.06) return { type: rng.pick(['pranswer', 'rollback', '', 1]), sdp: sdpInput(rng, type) }
  return { type, sdp: sdpInput(rng, type) }
}

describe('fuzz: the SDP guard', () => {
  fuzzSuite({ parser: 'sdp-guard', generate: generateSdp, check: guard, ...jsonFixtures<SdpInput>() }, {
    slice: 3000,
    after: report => { expect(report.accepted).toBeGreaterThan(report.inputs / 20) }
  })
})

describe('fuzz: sealed SDP', () => {
  let sodium: Sodium
  let me: { publicKey: Uint8Array, privateKey: Uint8Array }
  let other: { publicKey: Uint8Array, privateKey: Uint8Array }
  beforeAll(async () => {
    sodium = await loadSodium()
    me = sodium.crypto_sign_keypair()
    other = sodium.crypto_sign_keypair()
  })

  const generate = (rng: Rng): { type: 'offer' | 'answer', sealed: string } => {
    const type = rng.pick(['offer', 'answer'] as const)
    const sdp = sdpInput(rng, type)
    const r = rng.float()
    if (new TextEncoder().encode(sdp).length > 16 * 1024) return { type, sealed: toBase64url(rng.bytes(rng.length(4096))) }
    const sealed = sealSdp(sodium, sdp, toBase64url(r < 0.9 ? me.publicKey : other.publicKey))
    if (r < 0.8) return { type, sealed }
    return { type, sealed: rng.bool() ? mutateText(rng, sealed) : toBase64url(rng.bytes(rng.length(256))) }
  }
  const check = ({ type, sealed }: { type: 'offer' | 'answer', sealed: string }): Verdict => {
    const sdp = openSealedSdp(sodium, sealed, me.privateKey)
    if (sdp === undefined) return { ok: false, reason: 'SDP does not open for this device' }
    return guard({ type, sdp })
  }

  fuzzSuite({ parser: 'sealed-sdp', generate, check, ...jsonFixtures<{ type: 'offer' | 'answer', sealed: string }>() }, {
    slice: 2000,
    after: report => { expect(report.accepted).toBeGreaterThan(report.inputs / 20) }
  })
})
