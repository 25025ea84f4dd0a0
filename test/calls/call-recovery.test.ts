// Recovery of a connected call whose media went silent, on a FakeClock: the state
// machine alone (recovery.ts: who re-offers, how often, for how long, what it
// refuses), the resend helper, and two call signaling machines wired to each other
// with a fake media port (the bodies, sealed SDP, checks on who sends what).
import { beforeAll, describe, expect, it } from 'vitest'
import { toBase64url } from '../../common/base64url.js'
import type { Logger } from '../../common/logger.js'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { MAX_MEDIA_SESSIONS_PER_CALL, type CallBody } from '../../node/calls/call-bodies.js'
import { CALL_END_RESEND_MS, CALL_END_SENDS, CALLEE_RECOVER_WAIT_MS, REOFFER_ATTEMPTS, REOFFER_WAIT_MS } from '../../node/calls/constants.js'
import { CallRecovery, type RecoveryActions } from '../../node/calls/signaling/recovery.js'
import { resendUntilAcked } from '../../node/calls/signaling/resend.js'
import { createCallSignaling, type CallEvent, type CallSignaling, type MediaPort, type Sender } from '../../node/calls/signaling/signaling.js'
import { FakeClock, flushAsync } from '../../node/net/fake-clock.js'
import { seededRandomBytes } from '../helpers/random.js'

type Done = Array<[string, ...unknown[]]>

function machine (role: 'caller' | 'callee') {
  const clock = new FakeClock()
  const done: Done = []
  const actions: RecoveryActions = {
    reoffer: generation => { done.push(['reoffer', generation]) },
    askReoffer: generation => { done.push(['ask', generation]) },
    recovering: reason => { done.push(['recovering', reason]) },
    recovered: (generation, ms) => { done.push(['recovered', generation, ms]) },
    giveUp: reason => { done.push(['giveUp', reason]) }
  }
  return { clock, done, recovery: new CallRecovery(role, clock, actions) }
}

describe('call recovery state machine', () => {
  it('caller: an interruption re-offers a new generation; its connection recovers the call, counted from the last packet', () => {
    const { clock, done, recovery } = machine('caller')
    expect(recovery.interrupted(0, 'no audio for 1.5 s', 1500)).toBe('reconnecting')
    expect(done).toEqual([['recovering', 'no audio for 1.5 s'], ['reoffer', 1]])
    // Another report of the same silence changes nothing.
    expect(recovery.interrupted(0, 'media failed')).toBe('ignored: already reconnecting')
    clock.advance(700)
    expect(recovery.connected(1)).toBe(true)
    expect(done.at(-1)).toEqual(['recovered', 1, 2200])
    expect(recovery.current).toBe(1)
    expect(recovery.recovering).toBe(false)
    // The old session's late failure no longer matters; the new one's starts the next recovery.
    expect(recovery.interrupted(0, 'late')).toMatch(/^ignored/)
    recovery.interrupted(1, 'no audio for 1.5 s')
    expect(done.at(-1)).toEqual(['reoffer', 2])
  })

  it(`caller: re-offers ${REOFFER_ATTEMPTS} times, ${REOFFER_WAIT_MS / 1000} s each (or at once when one fails), then gives up`, () => {
    const { clock, done, recovery } = machine('caller')
    recovery.interrupted(0, 'no audio')
    clock.advance(REOFFER_WAIT_MS - 1)
    expect(done.filter(([what]) => what === 'reoffer')).toEqual([['reoffer', 1]])
    clock.advance(1)
    expect(done.at(-1)).toEqual(['reoffer', 2])
    // A failure of an older attempt is stale; of the pending one, the next attempt at once.
    recovery.attemptFailed(1, 'old')
    expect(done.at(-1)).toEqual(['reoffer', 2])
    recovery.interrupted(2, 'media failed')
    expect(done.at(-1)).toEqual(['reoffer', 3])
    clock.advance(REOFFER_WAIT_MS)
    expect(done.at(-1)).toEqual(['giveUp', `no audio after ${REOFFER_ATTEMPTS} attempts to reconnect`])
    // Over: nothing more happens, and a late connection is not a recovery.
    expect(recovery.connected(3)).toBe(false)
    clock.advance(60_000)
    expect(done.filter(([what]) => what === 'giveUp')).toHaveLength(1)
  })

  it('caller: a callee\'s ask starts a recovery only for the session that carries the call, once', () => {
    const { clock, done, recovery } = machine('caller')
    expect(recovery.peerAsked(3)).toBe('it is about session 3, and session 0 carries the call')
    expect(done).toEqual([])
    // Our own audio stopped 1.2 s ago too: the recovery counts from then.
    expect(recovery.peerAsked(0, 1200)).toBeUndefined()
    expect(done).toEqual([['recovering', 'the other side hears no audio'], ['reoffer', 1]])
    expect(recovery.peerAsked(0)).toBe('already reconnecting')
    clock.advance(300)
    recovery.connected(1)
    expect(done.at(-1)).toEqual(['recovered', 1, 1500])
  })

  it('callee: asks for a re-offer (again while it waits), answers newer generations only, gives up after 10 s', () => {
    const { clock, done, recovery } = machine('callee')
    recovery.interrupted(0, 'no audio for 1.5 s')
    expect(done).toEqual([['recovering', 'no audio for 1.5 s'], ['ask', 0]])
    clock.advance(2000)
    expect(done.at(-1)).toEqual(['ask', 0])
    expect(recovery.reoffered(2)).toEqual({ ok: true })
    expect(recovery.reoffered(2)).toEqual({ ok: false, reason: 'stale generation 2 (latest 2)' })
    expect(recovery.reoffered(1)).toEqual({ ok: false, reason: 'stale generation 1 (latest 2)' })
    const asks = done.filter(([what]) => what === 'ask').length
    clock.advance(CALLEE_RECOVER_WAIT_MS - 1)
    expect(done.filter(([what]) => what === 'ask')).toHaveLength(asks) // a re-offer came: no more asking
    expect(done.some(([what]) => what === 'giveUp')).toBe(false)
    clock.advance(1)
    expect(done.at(-1)).toEqual(['giveUp', `the caller did not reconnect within ${CALLEE_RECOVER_WAIT_MS / 1000} s`])
  })

  it('callee: a re-offer it did not ask for starts the recovery; its connection ends it', () => {
    const { clock, done, recovery } = machine('callee')
    expect(recovery.reoffered(1)).toEqual({ ok: true })
    expect(done).toEqual([['recovering', 'the other side lost our audio and reconnects']])
    clock.advance(300)
    expect(recovery.connected(1)).toBe(true)
    expect(done.at(-1)).toEqual(['recovered', 1, 300])
    clock.advance(CALLEE_RECOVER_WAIT_MS * 2)
    expect(done.some(([what]) => what === 'giveUp')).toBe(false)
  })

  it(`refuses a re-offer beyond ${MAX_MEDIA_SESSIONS_PER_CALL} sessions per call; the caller gives up there too`, () => {
    const callee = machine('callee')
    for (let g = 1; g < MAX_MEDIA_SESSIONS_PER_CALL; g++) {
      expect(callee.recovery.reoffered(g)).toEqual({ ok: true })
      callee.recovery.connected(g)
    }
    expect(callee.recovery.sessions).toBe(MAX_MEDIA_SESSIONS_PER_CALL)
    expect(callee.recovery.reoffered(MAX_MEDIA_SESSIONS_PER_CALL)).toEqual({ ok: false, reason: `the call used up its ${MAX_MEDIA_SESSIONS_PER_CALL} media sessions` })
    const caller = machine('caller')
    for (let g = 1; g < MAX_MEDIA_SESSIONS_PER_CALL; g++) {
      caller.recovery.interrupted(g - 1, 'silent')
      expect(caller.recovery.connected(g)).toBe(true)
    }
    caller.recovery.interrupted(MAX_MEDIA_SESSIONS_PER_CALL - 1, 'silent')
    expect(caller.done.at(-1)).toEqual(['giveUp', `the call used up its ${MAX_MEDIA_SESSIONS_PER_CALL} media sessions`])
  })

  it('stop() ends every timer', () => {
    const { clock, recovery } = machine('callee')
    recovery.interrupted(0, 'silent')
    recovery.stop()
    expect(clock.pending).toBe(0)
    expect(recovery.reoffered(1)).toEqual({ ok: false, reason: 'the call is over' })
  })
})

describe('resendUntilAcked', () => {
  it(`sends at once, then every interval up to the most sends, until stopped`, () => {
    const clock = new FakeClock()
    const sent: number[] = []
    const resend = resendUntilAcked(clock, { intervalMs: CALL_END_RESEND_MS, maxSends: CALL_END_SENDS }, attempt => { sent.push(attempt) })
    expect(sent).toEqual([1])
    clock.advance(CALL_END_RESEND_MS * 10)
    expect(sent).toEqual([1, 2, 3, 4, 5])
    const other = resendUntilAcked(clock, { intervalMs: 100, maxSends: 5 }, (attempt, stop) => { if (attempt === 2) stop() })
    clock.advance(1000)
    expect(other.sends).toBe(2)
    expect(resend.sends).toBe(CALL_END_SENDS)
    expect(clock.pending).toBe(0)
  })
})

describe('call recovery between two signaling machines', () => {
  let sodium: Sodium
  beforeAll(async () => { sodium = await loadSodium() })

  /** Alice calls bob; the network is a function call (when `up`), media a fake that connects what it is told to. */
  function pair () {
    const clock = new FakeClock()
    const logs: string[] = []
    const log: Logger = { debug: (_f: object, m: string) => { logs.push(m) }, info: () => {}, warn: (_f: object, m: string) => { logs.push(m) }, error: () => {}, child: () => log }
    const keys = { alice: sodium.crypto_sign_keypair(), bob: sodium.crypto_sign_keypair() }
    const device = (user: 'alice' | 'bob'): string => toBase64url(keys[user].publicKey)
    const net = { up: true, sent: [] as Array<Record<string, unknown>> }
    const events: { alice: CallEvent[], bob: CallEvent[] } = { alice: [], bob: [] }
    const machines: Record<string, CallSignaling> = {}
    const opened: Record<string, number[]> = { alice: [], bob: [] }
    const make = (user: 'alice' | 'bob'): CallSignaling => {
      const other = user === 'alice' ? 'bob' : 'alice'
      const media: MediaPort = {
        offer: async (_call, { generation = 0 }) => { opened[user]?.push(generation); return `offer ${generation}` },
        answer: async (_call, _sdp, { generation = 0 }) => { opened[user]?.push(generation); return `answer ${generation}` },
        // The caller applies the answer: both ends' sessions of that generation connect.
        accept: (call, _sdp, generation = 0) => {
          for (const m of Object.values(machines)) m.mediaConnected(call.id, { path: 'relay', generation })
        }
      }
      return createCallSignaling({
        sodium,
        clock,
        log,
        media,
        deviceSecretKey: keys[user].privateKey,
        randomBytes: seededRandomBytes(user),
        send: async (to, body) => {
          const full = { ...body, from: user, to }
          net.sent.push(full)
          if (!net.up) return { delivered: 0 }
          queueMicrotask(() => { machines[other]?.handleSignal({ user, deviceKey: device(user) }, full as CallBody) })
          return { delivered: 1 }
        }
      }, { user, deviceKey: device(user), mayCall: () => true, onEvent: event => { events[user].push(event) } })
    }
    machines.alice = make('alice')
    machines.bob = make('bob')
    const run = async (ms: number): Promise<void> => { for (let t = 0; t < ms; t += 50) { clock.advance(50); await flushAsync() } }
    const connect = async (): Promise<string> => {
      const callId = await (machines.alice as CallSignaling).call('bob')
      await run(100)
      await (machines.bob as CallSignaling).answer(callId)
      await run(100)
      expect((machines.alice as CallSignaling).get(callId)?.state).toBe('connected')
      expect((machines.bob as CallSignaling).get(callId)?.state).toBe('connected')
      return callId
    }
    return { clock, logs, net, events, machines: machines as { alice: CallSignaling, bob: CallSignaling }, opened, device, run, connect }
  }

  it('the caller notices: re-offer, re-answer, both sides recovered, the call goes on', async () => {
    const p = pair()
    const callId = await p.connect()
    p.machines.alice.mediaInterrupted(callId, 0, 'no audio for 1.5 s', 1500)
    await p.run(200)
    expect(p.opened).toEqual({ alice: [0, 1], bob: [0, 1] })
    expect(p.net.sent.filter(b => b.type === 'call-reoffer')).toEqual([expect.objectContaining({ generation: 1, device: p.device('bob') })])
    for (const user of ['alice', 'bob'] as const) {
      expect(p.events[user]).toContainEqual(expect.objectContaining({ event: 'recovering', callId }))
      expect(p.events[user]).toContainEqual(expect.objectContaining({ event: 'recovered', callId, path: 'relay' }))
      expect(p.machines[user].get(callId)?.state).toBe('connected')
    }
    expect(p.events.alice.find(e => e.event === 'recovered')).toMatchObject({ recoveryMs: expect.any(Number) })
  })

  it('the callee notices: it asks, the caller re-offers', async () => {
    const p = pair()
    const callId = await p.connect()
    p.machines.bob.mediaInterrupted(callId, 0, 'no audio for 1.5 s')
    await p.run(200)
    expect(p.net.sent.filter(b => b.type === 'call-recover')).toEqual([expect.objectContaining({ generation: 0 })])
    expect(p.events.alice).toContainEqual(expect.objectContaining({ event: 'recovered', callId }))
    expect(p.events.bob).toContainEqual(expect.objectContaining({ event: 'recovered', callId }))
  })

  it('a re-offer that cannot be delivered (between supernodes) is sent again until it is', async () => {
    const p = pair()
    const callId = await p.connect()
    p.net.up = false
    p.machines.alice.mediaInterrupted(callId, 0, 'no audio')
    await p.run(1200)
    const tries = p.net.sent.filter(b => b.type === 'call-reoffer').length
    expect(tries).toBeGreaterThan(1)
    p.net.up = true
    await p.run(1000)
    expect(p.events.bob).toContainEqual(expect.objectContaining({ event: 'recovered', callId }))
  })

  it('refuses a re-offer from the wrong peer, for an unknown call, or with a stale generation, and says why', async () => {
    const p = pair()
    const callId = await p.connect()
    const reoffer = (generation: number, id = callId) => ({ type: 'call-reoffer', from: 'alice', to: 'bob', callId: id, device: p.device('bob'), sdp: 'AAAA', relayOnly: true, generation }) as CallBody
    p.machines.bob.handleSignal({ user: 'alice', deviceKey: p.device('bob') }, reoffer(1))
    p.machines.bob.handleSignal({ user: 'mallory', deviceKey: p.device('bob') }, { ...reoffer(1), from: 'mallory' } as CallBody)
    p.machines.bob.handleSignal({ user: 'alice', deviceKey: p.device('alice') }, reoffer(1, 'A'.repeat(16)))
    // Sealed for bob, so it opens: generation 1 is taken, then 1 again is stale.
    const sealed = (await import('../../node/calls/sealed-sdp.js')).sealSdp(sodium, 'v=0', p.device('bob'))
    const alice: Sender = { user: 'alice', deviceKey: p.device('alice') }
    p.machines.bob.handleSignal(alice, { ...reoffer(1), sdp: sealed } as CallBody)
    p.machines.bob.handleSignal(alice, { ...reoffer(1), sdp: sealed } as CallBody)
    await p.run(100)
    expect(p.logs).toContain('ignoring a call-reoffer from a device of alice that did not place the call')
    expect(p.logs).toContain('ignoring a call-reoffer from mallory: the call is with alice')
    expect(p.logs).toContain('ignoring a call-reoffer for an unknown call')
    expect(p.logs).toContain('refusing a call-reoffer: stale generation 1 (latest 1)')
  })

  it(`gives up after ${REOFFER_ATTEMPTS} unanswered re-offers and ends the call for both, with the reason`, async () => {
    const p = pair()
    const callId = await p.connect()
    p.net.up = false
    p.machines.alice.mediaInterrupted(callId, 0, 'no audio')
    await p.run(REOFFER_ATTEMPTS * REOFFER_WAIT_MS + 500)
    expect(p.events.alice.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'connection-lost', message: 'the connection to bob was lost and could not be restored' })
  })

  it(`a call-end is resent every ${CALL_END_RESEND_MS} ms until acknowledged, at most ${CALL_END_SENDS} times`, async () => {
    const p = pair()
    const callId = await p.connect()
    p.net.up = false
    p.machines.alice.hangup(callId)
    await p.run(CALL_END_RESEND_MS * 2 + 100)
    const hangups = (): number => p.net.sent.filter(b => b.type === 'call-end' && b.reason === 'hangup').length
    expect(hangups()).toBe(3)
    // The path is back: the next copy arrives, bob's call ends and he acknowledges; no more copies.
    p.net.up = true
    await p.run(CALL_END_RESEND_MS * 10)
    expect(p.events.bob.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'hangup' })
    expect(hangups()).toBe(4)
    expect(p.net.sent.filter(b => b.type === 'call-end-ack')).toHaveLength(1)
  })
})
