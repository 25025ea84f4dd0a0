// Fuzz: call signaling bodies (node/calls/call-bodies.ts) into one device's call state machine
// (node/calls/signaling), as the overlay hands them over: from a few senders, invites, ringing,
// accepts, offers and answers with sealed SDP (mutated inside), ends and their acks, and a connected
// call's recovery (re-offers, re-answers, asks to re-offer, with any generation), valid and mutated,
// with our own calls placed, media going silent and time passing. The fake media port guards SDP as
// the real one does, and connects what it answers or accepts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toBase64url } from '../../common/base64url.js'
import type { Logger } from '../../common/logger.js'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { isCallBody } from '../../node/calls/call-bodies.js'
import { sealSdp } from '../../node/calls/sealed-sdp.js'
import { createCallSignaling, type CallSignaling, type MediaPort } from '../../node/calls/signaling/signaling.js'
import { checkRemoteSdp } from '../../node/media/sdp-guard.js'
import { FakeClock, flushAsync } from '../../node/net/fake-clock.js'
import { isDeliverableBody } from '../../node/overlay/envelope-bodies.js'
import { seededRandomBytes } from '../helpers/random.js'
import { jsonInput } from './kit/mutate.js'
import type { Rng } from './kit/rng.js'
import { fuzzConfig, fuzzTimeout, heapGrowth, jsonFixtures, MAX_HEAP_GROWTH_BYTES, replayFixtures, runFuzz, type FuzzTarget, type Verdict } from './kit/runner.js'
import { sdpInput } from './kit/sdp.js'

type Step =
  | { kind: 'signal', sender: number, body: string }
  | { kind: 'place', to: string }
  | { kind: 'time', ms: number }
  | { kind: 'silence' }

const ME = 'mike'
const TYPES = ['call-invite', 'call-ringing', 'call-accept', 'call-offer', 'call-answer', 'call-end', 'call-end-ack', 'call-reoffer', 'call-reanswer', 'call-recover', 'call-answer-applied'] as const
const GENERATIONS = [0, 1, 2, 3, 5, 31, 32, -1, 1.5]
const REASONS = ['hangup', 'declined', 'busy', 'no-answer', 'cancelled', 'unreachable', 'failed', 'answered-elsewhere', 'not-allowed', 'x']

describe('fuzz: call signaling bodies into one device', () => {
  const clock = new FakeClock()
  const config = fuzzConfig(2000)
  let sodium: Sodium
  let device: { publicKey: Uint8Array, privateKey: Uint8Array }
  let signaling: CallSignaling
  /** Senders: [user, device key]; alice has two devices, mallory may not call. */
  let senders: Array<{ user: string, deviceKey: string }>
  const callIds: string[] = []
  let said: string | undefined
  const log: Logger = {
    debug: (_f: object, msg: string) => { said = msg },
    info: (_f: object, msg: string) => { said = msg },
    warn: (_f: object, msg: string) => { said = msg },
    error: (_f: object, msg: string) => { said = msg },
    child: () => log
  }

  beforeAll(async () => {
    sodium = await loadSodium()
    device = sodium.crypto_sign_keypair()
    senders = ['alice', 'alice', 'bob', 'mallory'].map(user => ({ user, deviceKey: toBase64url(sodium.crypto_sign_keypair().publicKey) }))
    const guarded = (sdp: string, type: 'offer' | 'answer'): void => {
      const check = checkRemoteSdp(sdp, type)
      if (!check.ok) throw new Error(`remote ${type} refused: ${check.reason}`)
    }
    // What it answers or accepts connects a moment later (a re-offer's session as its generation).
    const connect = (callId: string, generation = 0): void => { queueMicrotask(() => { signaling.mediaConnected(callId, { path: 'relay', generation }) }) }
    const media: MediaPort = {
      offer: async () => 'v=0\r\n',
      answer: async (call, sdp, options) => { guarded(sdp, 'offer'); connect(call.id, options.generation); return 'v=0\r\n' },
      accept: (call, sdp, generation) => { guarded(sdp, 'answer'); connect(call.id, generation) },
      answerApplied: (call, generation) => { if (!Number.isInteger(generation) || generation < 0) throw new Error(`answerApplied got generation ${generation} of call ${call.id}`) }
    }
    signaling = createCallSignaling(
      { sodium, clock, log, media, send: async () => ({ delivered: 1 }), deviceSecretKey: device.privateKey, randomBytes: seededRandomBytes('calls') },
      {
        user: ME,
        deviceKey: toBase64url(device.publicKey),
        mayCall: from => from !== 'mallory',
        // Every other incoming call is answered here (so offers meet a call that waits for one).
        onEvent: event => { if (event.event === 'incoming' && callIds.push(event.callId) % 2 === 0) void signaling.answer(event.callId).catch(() => {}) }
      })
  })
  afterAll(async () => { await signaling.close() })

  const body = (rng: Rng, sender: { user: string }): Record<string, unknown> => {
    const type = rng.pick(TYPES)
    const callId = callIds.length > 0 && rng.bool(0.8) ? rng.pick(callIds.slice(-8)) : toBase64url(rng.bytes(12))
    const base = { type, from: sender.user, to: rng.bool(0.95) ? ME : 'bob', callId }
    const sdpType = type === 'call-offer' || type === 'call-reoffer' ? 'offer' : 'answer'
    const sealed = (): string => sealSdp(sodium, sdpInput(rng, sdpType).slice(0, 16 * 1024 - 64), rng.bool(0.9) ? toBase64url(device.publicKey) : senders[0]?.deviceKey as string)
    switch (type) {
      case 'call-invite': return { ...base, callId: rng.bool(0.7) ? toBase64url(rng.bytes(12)) : callId, at: clock.now() + rng.pick([0, -1000, -61_000, 61_000]) }
      case 'call-offer': return { ...base, device: toBase64url(device.publicKey), sdp: sealed(), relayOnly: rng.bool() }
      case 'call-answer': return { ...base, device: toBase64url(device.publicKey), sdp: sealed() }
      case 'call-reoffer': return { ...base, device: toBase64url(device.publicKey), sdp: sealed(), relayOnly: rng.bool(), generation: rng.pick(GENERATIONS) }
      case 'call-reanswer': return { ...base, device: toBase64url(device.publicKey), sdp: sealed(), generation: rng.pick(GENERATIONS) }
      case 'call-recover': return { ...base, generation: rng.pick(GENERATIONS) }
      case 'call-answer-applied': return { ...base, device: rng.bool(0.8) ? toBase64url(device.publicKey) : senders[0]?.deviceKey as string, generation: rng.pick(GENERATIONS) }
      case 'call-end': return { ...base, reason: rng.pick(REASONS), ...(rng.bool() ? { device: toBase64url(device.publicKey) } : {}) }
      default: return base
    }
  }

  const generate = (rng: Rng): Step => {
    const r = rng.float()
    if (r < 0.03) return { kind: 'time', ms: rng.pick([1000, 10_000, 50_000, 130_000]) }
    if (r < 0.08) return { kind: 'place', to: rng.pick(['alice', 'bob', ME]) }
    if (r < 0.1) return { kind: 'silence' }
    const sender = rng.int(0, senders.length - 1)
    const valid = body(rng, senders[sender] as { user: string })
    // Bodies arrive as JSON inside a signed envelope: mostly as built, else mutated.
    const text = rng.bool(0.7) ? JSON.stringify(valid) : new TextDecoder().decode(jsonInput(rng, valid))
    return { kind: 'signal', sender, body: text }
  }

  const check = async (step: Step): Promise<Verdict> => {
    said = undefined
    if (step.kind === 'time') { clock.advance(step.ms); await flushAsync(); return { ok: true } }
    if (step.kind === 'silence') {
      // The media of a connected call goes silent: it recovers (or gives up in time).
      const call = signaling.calls().find(c => c.state === 'connected')
      if (call !== undefined) signaling.mediaInterrupted(call.id, signaling.get(call.id)?.recovery?.current ?? 0, 'no audio for 1.5 s', 1500)
      await flushAsync()
      return { ok: true }
    }
    if (step.kind === 'place') {
      try {
        callIds.push(await signaling.call(step.to))
        return { ok: true }
      } catch (err) {
        return { ok: false, reason: `call refused: ${(err as Error).message}` }
      }
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(step.body)
    } catch {
      return { ok: false, reason: 'body is not JSON (the envelope would not open)' }
    }
    if (!isDeliverableBody.Check(parsed)) return { ok: false, reason: 'not a deliverable body (the overlay drops it)' }
    if (!isCallBody.Check(parsed)) return { ok: false, reason: 'not call signaling of a known shape (the call service drops it)' }
    signaling.handleSignal(senders[step.sender % senders.length] as { user: string, deviceKey: string }, parsed)
    await flushAsync()
    return said !== undefined && /^(ignoring|refusing|offer SDP|media answer failed|answer)/.test(said) ? { ok: false, reason: said } : { ok: true }
  }

  const target: FuzzTarget<Step> = { parser: 'call-signaling', generate, check, ...jsonFixtures<Step>() }

  it('replays the saved failing inputs (fixtures) without a crash', async () => {
    await replayFixtures(target)
  })

  it(`handles ${config.inputs} signals; at most one live call, ended calls forgotten`, async () => {
    const report = await runFuzz(target, config)
    const growth = heapGrowth(report)
    if (typeof growth === 'number') expect(growth, `heap grew by ${growth} bytes along the run`).toBeLessThan(MAX_HEAP_GROWTH_BYTES)
    const calls = signaling.calls()
    const states = calls.reduce<Record<string, number>>((out, call) => ({ ...out, [call.state]: (out[call.state] ?? 0) + 1 }), {})
    console.log(`call-signaling after the run: ${calls.length} calls remembered ${JSON.stringify(states)}`)
    expect(report.accepted).toBeGreaterThan(0)
    expect(calls.filter(call => call.state !== 'ended').length).toBeLessThanOrEqual(1)
    // Ended calls are forgotten two minutes after they end.
    clock.advance(3 * 60_000)
    await flushAsync()
    expect(signaling.calls().filter(call => call.state === 'ended')).toHaveLength(0)
  }, fuzzTimeout(config, 5))
})
