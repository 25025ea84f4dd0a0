// Fuzz: DHT messages (node/overlay/dht/messages.ts), as they arrive inside a link's 'dht' and
// 'dht-reply' messages (already JSON), requests and responses, valid and mutated; and one DHT
// node answering a long run of them, its record store and routing table staying within bounds.
import { afterAll, describe, expect, it } from 'vitest'
import { DhtError } from '../../node/overlay/dht/errors.js'
import {
  DhtRequestSchema, DhtResponseSchema, parseRequest, parseResponse, type DhtRequest
} from '../../node/overlay/dht/messages.js'
import { keyFor } from '../../node/overlay/dht/ids.js'
import { createNetwork } from '../dht/harness.js'
import { mutateText, mutateValue } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { fuzzConfig, fuzzTimeout, jsonFixtures, replayFixtures, runFuzz, type FuzzTarget, type Verdict } from './kit/runner.js'
import { validValue } from './kit/schema-values.js'
import { expectHeapFlat, fuzzSuite } from './kit/suite.js'

type Schema = Record<string, unknown>
const REQUESTS = DhtRequestSchema.anyOf as unknown as Schema[]
const RESPONSES = DhtResponseSchema.anyOf as unknown as Schema[]

/**
 * The JSON text of a valid message, or of a structural or textual mutation of one; text, so
 * values nested deeper than JSON.stringify can recurse (a peer can send them) stay inputs.
 */
function messageText (rng: Rng, schema: Schema): string {
  const value = validValue(rng, schema)
  const r = rng.float()
  if (r < 0.2) return JSON.stringify(value)
  if (r < 0.8) return JSON.stringify(mutateValue(rng, value))
  const text = mutateText(rng, JSON.stringify(value))
  try {
    JSON.parse(text)
    return text
  } catch {
    return JSON.stringify(mutateValue(rng, value))
  }
}

/** A DhtError is a refusal with its reason; anything else thrown escapes (a failure). */
function refusal (err: unknown): Verdict {
  if (err instanceof DhtError) return { ok: false, reason: `${err.code}: ${err.message}` }
  throw err
}

/** JSON texts of a request and, when the input is a response, of the response to it. */
interface DhtInput { request: string, response?: string }

const dhtMessages: FuzzTarget<DhtInput> = {
  parser: 'dht-messages',
  generate: rng => {
    if (rng.bool()) return { request: messageText(rng, rng.pick(REQUESTS)) }
    // A response to a valid request of the kind the response answers (or another kind).
    return { request: JSON.stringify(validValue(rng, rng.pick(REQUESTS))), response: messageText(rng, rng.pick(RESPONSES)) }
  },
  check: ({ request, response }) => {
    try {
      if (response === undefined) parseRequest(JSON.parse(request))
      else parseResponse(JSON.parse(request) as DhtRequest, JSON.parse(response))
      return { ok: true }
    } catch (err) {
      return refusal(err)
    }
  },
  ...jsonFixtures<DhtInput>()
}

describe('fuzz: DHT messages', () => {
  fuzzSuite(dhtMessages, { slice: 3000, after: report => { expect(report.accepted).toBeGreaterThan(report.inputs / 20) } })
})

describe('fuzz: one DHT node answering a long run of requests', () => {
  const network = createNetwork({ init: { maxRecords: 300, maxStoreBytes: 256 * 1024 } })
  const node = network.add('fuzzed')
  afterAll(() => { network.closeAll() })
  const config = fuzzConfig(3000)

  /** Senders: a few hundred valid peers, sometimes a mutated one. */
  const sender = (rng: Rng): unknown => {
    const peer = { id: keyFor(`peer-${rng.int(0, 400)}`), address: `198.18.${rng.int(0, 255)}.${rng.int(1, 254)}:${rng.int(1, 65535)}` }
    return rng.bool(0.9) ? peer : mutateValue(rng, peer)
  }
  /** A store of a live record (under a few keys, so per-key and total caps are met), sometimes mutated. */
  const storeText = (rng: Rng): string => {
    const record = { key: keyFor(`key-${rng.int(0, 40)}`), subkey: `d${rng.int(0, 30)}`, value: validValue(rng, {}), seq: rng.int(0, 5), expiresAt: network.clock.now() + rng.int(1, 3_600_000) }
    return JSON.stringify({ t: 'store', record: rng.bool(0.8) ? record : mutateValue(rng, record) })
  }
  const dhtNode: FuzzTarget<{ from: unknown, request: string }> = {
    parser: 'dht-node',
    generate: rng => ({ from: sender(rng), request: rng.bool(0.3) ? storeText(rng) : messageText(rng, rng.pick(REQUESTS)) }),
    check: async ({ from, request }) => {
      try {
        await node.handleRequest(from as never, JSON.parse(request))
        return { ok: true }
      } catch (err) {
        return refusal(err)
      }
    },
    ...jsonFixtures<{ from: unknown, request: string }>()
  }

  it('replays the saved failing inputs (fixtures) without a crash', async () => {
    await replayFixtures(dhtNode)
  })

  it(`answers ${config.inputs} requests; records, bytes and peers stay under their caps`, async () => {
    const report = await runFuzz(dhtNode, config)
    expectHeapFlat(report)
    await network.settle()
    const stats = node.stats()
    console.log(`dht-node after the run: ${JSON.stringify(stats)}`)
    expect(report.accepted).toBeGreaterThan(0)
    expect(stats.records).toBeLessThanOrEqual(300)
    expect(stats.bytes).toBeLessThanOrEqual(256 * 1024)
    // 256 buckets of k = 8 at most
    expect(stats.peers).toBeLessThanOrEqual(256 * node.k)
  }, fuzzTimeout(config))
})
