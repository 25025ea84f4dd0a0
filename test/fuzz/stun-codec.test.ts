// Fuzz: the STUN/TURN codec (node/relay/stun), what a relay's socket reads from anyone:
// messages the real encoder builds (every attribute type, integrity, fingerprint) mutated at
// the STUN level (length fields, duplicated and trailing attributes, too many attributes) and
// at the byte level, ChannelData frames, and random datagrams.
import { describe, expect } from 'vitest'
import { METHOD } from '../../node/relay/constants.js'
import { decodeChannelData, encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { packetKind } from '../../node/relay/stun/header.js'
import { longTermKey, verifyIntegrity } from '../../node/relay/stun/integrity.js'
import { decodeStunMessage, encodeStunMessage } from '../../node/relay/stun/message.js'
import { concat, mutateBytes } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { bytesFixtures, type Verdict } from './kit/runner.js'
import { randomAttributes } from './kit/stun-values.js'
import { fuzzSuite } from './kit/suite.js'

const KEY = longTermKey('1700000000:alice', 'sn1.voxmesh.test', 'password')
const CLASSES = ['request', 'indication', 'success', 'error'] as const

/** A message the real encoder accepts, or undefined when the drawn attributes do not fit the wire. */
function validMessage (rng: Rng): Uint8Array | undefined {
  try {
    return encodeStunMessage({
      method: rng.pick([...Object.values(METHOD), 0, 0xfff, rng.int(0, 0xfff)]),
      class: rng.pick(CLASSES),
      transactionId: rng.bytes(12),
      attributes: randomAttributes(rng, rng.bool(0.05) ? 80 : 6)
    }, {
      integrityKey: rng.bool(0.6) ? KEY : undefined,
      integrity: rng.pick(['sha1', 'sha256', 'both'] as const),
      fingerprint: rng.bool(0.6)
    })
  } catch {
    return undefined // an attribute value out of its range: the encoder refuses it
  }
}

/** A STUN-aware mutation: length fields, attribute blocks duplicated or moved. */
function mutateStun (rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes)
  const view = new DataView(out.buffer)
  switch (rng.int(0, 4)) {
    case 0: if (out.length >= 4) view.setUint16(2, rng.pick([0, 4, out.length - 20, out.length - 16, 0xfffc, rng.int(0, 0xffff)])); return out
    case 1: if (out.length >= 24) view.setUint16(22, rng.pick([0, 1, 3, 0xffff, rng.int(0, 0x200)])); return out // first attribute's length
    case 2: { // a first attribute block repeated (duplicate attributes), header length fixed up
      if (out.length < 24) return out
      const block = out.subarray(20, Math.min(out.length, 24 + ((view.getUint16(22) + 3) & ~3)))
      const repeated = concat(out, ...Array.from({ length: rng.pick([1, 2, 70]) }, () => block))
      if (repeated.length - 20 <= 0xffff) new DataView(repeated.buffer).setUint16(2, repeated.length - 20)
      return repeated
    }
    case 3: { // an attribute after FINGERPRINT / integrity, length fixed up
      const extra = concat(out, Uint8Array.of(0x80, 0x22, 0, 4, 1, 2, 3, 4))
      new DataView(extra.buffer).setUint16(2, extra.length - 20)
      return extra
    }
    default: if (out.length >= 20) view.setUint32(4, rng.pick([0x2112a442, 0, 0x2112a443])); return out
  }
}

function generate (rng: Rng): Uint8Array {
  const r = rng.float()
  if (r < 0.1) return encodeChannelData(rng.int(0x4000, 0x7fff), rng.bytes(rng.length(1500)), { pad: rng.bool() })
  if (r < 0.15) return mutateBytes(rng, encodeChannelData(rng.int(0x4000, 0x7fff), rng.bytes(rng.length(200))))
  if (r < 0.2) return rng.bytes(rng.length(1500))
  const valid = validMessage(rng) ?? rng.bytes(20)
  const s = rng.float()
  if (s < 0.25) return valid
  if (s < 0.6) return mutateStun(rng, valid)
  return mutateBytes(rng, valid)
}

function check (bytes: Uint8Array): Verdict {
  const kind = packetKind(bytes)
  if (kind === 'channel-data') {
    const decoded = decodeChannelData(bytes)
    return decoded.ok ? { ok: true } : decoded
  }
  if (kind === 'unknown') return { ok: false, reason: 'neither STUN nor ChannelData' }
  const decoded = decodeStunMessage(bytes)
  if (!decoded.ok) return { ok: false, reason: decoded.reason }
  // A decoded message's integrity is checked next by a server: that must not throw either.
  const integrity = verifyIntegrity(decoded.message, KEY)
  expect(typeof integrity.ok).toBe('boolean')
  return { ok: true }
}

describe('fuzz: STUN/TURN codec', () => {
  fuzzSuite({ parser: 'stun-codec', generate, check, ...bytesFixtures }, {
    slice: 5000,
    after: report => { expect(report.accepted).toBeGreaterThan(report.inputs / 10) }
  })
})
