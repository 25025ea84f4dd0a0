// Fuzz: TURN over TCP's stream decoder (node/relay/stun/stream.ts), what a relay's TCP edge and a
// host's bridge read from the other end: streams of real STUN messages and ChannelData frames,
// mutated at the byte level, cut into chunks of every size. Each stream must decode to whole
// frames or stop with a reason; the decoder never holds a whole frame's worth of bytes.
import { describe, expect } from 'vitest'
import { encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { encodeStunMessage } from '../../node/relay/stun/message.js'
import { DEFAULT_MAX_STREAM_FRAME_BYTES, streamFrameSize, toStreamFrame, TurnStreamDecoder } from '../../node/relay/stun/stream.js'
import { METHOD } from '../../node/relay/constants.js'
import { concat, mutateBytes } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { bytesFixtures, type Verdict } from './kit/runner.js'
import { randomAttributes } from './kit/stun-values.js'
import { fuzzSuite } from './kit/suite.js'

/** How a stream is cut into reads: fixed from the bytes, so a saved input replays the same way. */
const CHUNK_SIZES = [1, 7, 2, 100, 3, 1500, 20, 4]

function frame (rng: Rng): Uint8Array {
  if (rng.bool(0.5)) return toStreamFrame(encodeChannelData(rng.int(0x4000, 0x7fff), rng.bytes(rng.length(1200)))) ?? new Uint8Array(4)
  try {
    return encodeStunMessage({ method: rng.pick(Object.values(METHOD)), class: 'request', transactionId: rng.bytes(12), attributes: randomAttributes(rng, 4) }, { fingerprint: rng.bool() })
  } catch {
    return new Uint8Array(20)
  }
}

function generate (rng: Rng): Uint8Array {
  const stream = concat(...Array.from({ length: rng.int(1, 8) }, () => frame(rng)))
  const r = rng.float()
  if (r < 0.3) return stream
  if (r < 0.9) return mutateBytes(rng, stream)
  return rng.bytes(rng.length(3000))
}

function check (bytes: Uint8Array): Verdict {
  const decoder = new TurnStreamDecoder()
  const frames: Uint8Array[] = []
  let at = 0
  for (let i = 0; at < bytes.length; i++) {
    const size = CHUNK_SIZES[i % CHUNK_SIZES.length] as number
    const result = decoder.push(bytes.subarray(at, at + size))
    at += size
    frames.push(...result.frames)
    expect(decoder.buffered).toBeLessThan(DEFAULT_MAX_STREAM_FRAME_BYTES)
    if (!result.ok) return { ok: false, reason: result.reason }
  }
  // Every frame is whole, and together with what is held they are the stream, byte for byte.
  for (const f of frames) expect(streamFrameSize(f)).toEqual({ ok: true, size: f.length })
  expect(frames.reduce((n, f) => n + f.length, 0) + decoder.buffered).toBe(bytes.length)
  return decoder.buffered === 0 ? { ok: true } : { ok: false, reason: `stream ends inside a message (${decoder.buffered} bytes held)` }
}

describe('fuzz: TURN over TCP stream decoder', () => {
  fuzzSuite({ parser: 'turn-stream', generate, check, ...bytesFixtures }, {
    slice: 3000,
    after: report => { expect(report.accepted).toBeGreaterThan(report.inputs / 10) }
  })
})
