// Fuzz: the messages inside an overlay link's frames (decodeLinkMessage, the only way a peer's
// plaintext becomes a message): every type of message, valid and mutated, and random bytes.
import { describe, expect } from 'vitest'
import { decodeLinkMessage, LinkMessage } from '../../node/overlay/messages.js'
import { jsonInput } from './kit/mutate.js'
import { bytesFixtures, type FuzzTarget } from './kit/runner.js'
import { validValue } from './kit/schema-values.js'
import { fuzzSuite } from './kit/suite.js'

const SCHEMAS = LinkMessage.anyOf as unknown as Array<Record<string, unknown>>

export const linkMessages: FuzzTarget<Uint8Array> = {
  parser: 'link-messages',
  generate: rng => jsonInput(rng, validValue(rng, rng.pick(SCHEMAS))),
  check: bytes => {
    const decoded = decodeLinkMessage(bytes)
    return decoded.ok ? { ok: true } : { ok: false, reason: decoded.reason }
  },
  ...bytesFixtures
}

describe('fuzz: link messages', () => {
  fuzzSuite(linkMessages, {
    slice: 3000,
    after: report => { expect(report.accepted, 'the generator builds valid messages of every type').toBeGreaterThan(report.inputs / 20) }
  })
})
