// Fuzz: an established overlay link (node/overlay/link.ts) taking frames from its peer: messages
// of every type, valid and mutated, sealed with the peer's real session key (so they get past
// authentication to the decoder and the dispatch), replies to requests in flight and stray ones,
// and raw, tampered or replayed frames. A bad frame closes the link with a logged reason; then
// the peer dials again. Its request and early-message tables stay within their caps throughout.
import { beforeAll, describe, expect, it } from 'vitest'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import type { Logger } from '../../common/logger.js'
import { createLinkHandshake } from '../../common/wire/link-handshake.js'
import type { FrameCipher } from '../../common/wire/frame-cipher.js'
import { FakeClock, flushAsync } from '../../node/net/fake-clock.js'
import type { Connection } from '../../node/net/transport.js'
import { MAX_PENDING_REQUESTS, openLink, type Link } from '../../node/overlay/link.js'
import { LinkMessage } from '../../node/overlay/messages.js'
import { connectionPair } from '../helpers/connection-pair.js'
import { loadFixture, type Fixture, type TestDevice } from '../wire/fixtures.js'
import { jsonInput, mutateBytes } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { fuzzConfig, fuzzTimeout, heapGrowth, MAX_HEAP_GROWTH_BYTES, replayFixtures, runFuzz, type FuzzTarget, type Verdict } from './kit/runner.js'
import { validValue } from './kit/schema-values.js'

/** A frame from the peer: a plaintext sealed with its session key, or raw bytes as they are. */
interface FrameInput { sealed: boolean, bytes: Uint8Array }

const SCHEMAS = LinkMessage.anyOf as unknown as Array<Record<string, unknown>>

describe('fuzz: an established link taking frames from its peer', () => {
  const clock = new FakeClock()
  const config = fuzzConfig(3000)
  let fx: Fixture
  let sn: TestDevice
  let alice: TestDevice
  let closedWith: string | undefined
  let links = 0
  let current: { link: Link, peerCipher: FrameCipher, peerConnection: Connection } | undefined
  const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => log }

  beforeAll(async () => {
    fx = await loadFixture()
    sn = fx.device('sn-one')
    alice = fx.device('alice')
  })

  /** A new link: the peer (alice) dials, the real link code answers. */
  const dial = async (): Promise<NonNullable<typeof current>> => {
    const [ours, theirs] = connectionPair()
    const opening = openLink({ sodium: fx.sodium, clock, identity: sn.identity, issuerKey: fx.issuer.publicKey, log }, ours, 'responder')
    const peer = createLinkHandshake(fx.sodium, { role: 'initiator', identity: alice.identity, issuerKey: fx.issuer.publicKey, nowSeconds: () => Math.floor(clock.now() / 1000) })
    let peerCipher: FrameCipher | undefined
    theirs.setHandlers({
      onFrame: frame => {
        if (peerCipher !== undefined) return // what our side sends on the link: not looked at
        const step = peer.receive(frame)
        for (const out of step.send) theirs.send(out)
        peerCipher = step.established?.cipher
      },
      onClose: () => {}
    })
    for (const out of peer.start()) theirs.send(out)
    const link = await opening
    links++
    closedWith = undefined
    link.onClose = reason => { closedWith = reason }
    // Half the links have an owner from the start; the others keep early messages until their cap.
    if (links % 2 === 0) link.onMessage = () => {}
    // Requests of ours in flight, which the peer's replies (and stray ones) meet.
    for (let id = 0; id < 40; id++) link.request({ t: 'ping', id: link.nextId() }, 'pong', 60_000).catch(() => {})
    return { link, peerCipher: peerCipher as FrameCipher, peerConnection: theirs }
  }

  const generate = (rng: Rng): FrameInput => {
    const r = rng.float()
    if (r < 0.06) return { sealed: false, bytes: rng.bytes(rng.length(300)) }
    const message = validValue(rng, rng.pick(SCHEMAS)) as Record<string, unknown>
    // Replies mostly to requests in flight (ids 1..40 of the link), else stray.
    if ('id' in message && rng.bool(0.5)) message.id = rng.int(1, 40)
    const plaintext = rng.bool(0.6) ? new TextEncoder().encode(JSON.stringify(message)) : jsonInput(rng, message)
    if (r < 0.1) return { sealed: false, bytes: mutateBytes(rng, plaintext) }
    return { sealed: true, bytes: plaintext }
  }

  const check = async (input: FrameInput): Promise<Verdict> => {
    current ??= await dial()
    const { link, peerCipher, peerConnection } = current
    let frame = input.bytes
    if (input.sealed) {
      try {
        frame = peerCipher.seal(input.bytes)
      } catch (err) {
        return { ok: false, reason: `the peer cannot seal it: ${(err as Error).message}` } // over the frame bound
      }
    }
    peerConnection.send(frame)
    await flushAsync()
    const internals = link as unknown as { pending: Map<string, unknown> | undefined, early: unknown[] }
    expect(internals.pending?.size ?? 0).toBeLessThanOrEqual(MAX_PENDING_REQUESTS)
    expect(internals.early.length).toBeLessThanOrEqual(16)
    if (!link.closed) return { ok: true }
    current = undefined
    expect(closedWith, 'a closed link says why').toBeTypeOf('string')
    return { ok: false, reason: `link closed: ${closedWith as string}` }
  }

  const target: FuzzTarget<FrameInput> = {
    parser: 'link-session',
    generate,
    check,
    save: input => ({ ext: 'json', data: JSON.stringify({ sealed: input.sealed, bytes: toBase64url(input.bytes) }) }),
    load: data => {
      const { sealed, bytes } = JSON.parse(data.toString('utf8')) as { sealed: boolean, bytes: string }
      return { sealed, bytes: fromBase64url(bytes) ?? new Uint8Array() }
    }
  }

  it('replays the saved failing inputs (fixtures) without a crash', async () => {
    await replayFixtures(target)
  })

  it(`takes ${config.inputs} frames: each dispatched or the link closed with a reason, tables within caps`, async () => {
    const report = await runFuzz(target, config)
    const growth = heapGrowth(report)
    if (typeof growth === 'number') expect(growth, `heap grew by ${growth} bytes along the run`).toBeLessThan(MAX_HEAP_GROWTH_BYTES)
    console.log(`link-session: ${links} links opened over the run`)
    expect(report.accepted).toBeGreaterThan(report.inputs / 10)
    current?.link.close('done')
  }, fuzzTimeout(config, 5))
})
