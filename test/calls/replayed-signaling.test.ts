// Replayed call signaling: invites replayed late or twice, and accepts, answers, offers and ends
// replayed into finished, unknown or connected calls or sent by a third party. Every refusal must
// be logged with its reason (recording loggers), and service must go on: a proper call still
// connects afterwards. Runs on the fake-clock phones of signaling-phones.ts (a real supernode
// over the in-memory network, a fake MediaPort).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sealEnvelope } from '../../common/wire/signed-envelope.js'
import { INVITE_MAX_AGE_MS } from '../../node/calls/constants.js'
import { sealSdp } from '../../node/calls/sealed-sdp.js'
import type { Harness } from '../overlay/bad-input-harness.js'
import { expectLogged, expectNoUnhandledRejections, newCallId, sdpOf } from './attack-kit.js'
import { createPhones, type Phone } from './signaling-phones.js'

expectNoUnhandledRejections()

describe('call signaling under attack (real supernode, in-memory network, fake clock)', () => {
  const phones = createPhones()
  const { phone, settle, send, replay, stateOf, expectProperCall } = phones
  let h: Harness

  beforeEach(async () => { h = await phones.open() })
  afterEach(async () => { await phones.close() })

  describe('replayed signaling', () => {
    it('a replayed invite older than INVITE_MAX_AGE_MS does not ring: "stale call invite"', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = newCallId()
      const invite = sealEnvelope(h.sodium, alice.device.identity, { type: 'call-invite', from: 'alice', to: 'bob', callId, at: h.clock.now() })
      expect(await replay('alice', 'bob', invite)).toBe(1)
      expect(bob.events).toEqual([{ event: 'incoming', callId, from: 'alice' }])
      bob.calls.decline(callId)
      await h.run(50)
      // Long enough that bob has forgotten the call: only the invite's signed age stops it now.
      await h.run(2 * INVITE_MAX_AGE_MS + 1000, 100)
      expect(bob.calls.calls()).toEqual([])
      const eventsBefore = bob.events.length
      expect(await replay('alice', 'bob', invite)).toBe(1)
      expectLogged(bob.logs, 'warn', /^ignoring a stale call invite \(replayed\?\)$/, { callId, from: 'alice' })
      expect(bob.events).toHaveLength(eventsBefore)
      expect(bob.calls.calls()).toEqual([])
      // A fresh invite made to look old is refused the same way.
      await send(alice, 'bob', { type: 'call-invite', callId: newCallId(), at: h.clock.now() - INVITE_MAX_AGE_MS - 1 })
      expect(bob.logs.filter(l => l.msg.startsWith('ignoring a stale call invite'))).toHaveLength(2)
      expect(bob.events).toHaveLength(eventsBefore)
      await expectProperCall(alice, bob)
    })

    it('the same invite delivered twice rings once', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = newCallId()
      const invite = sealEnvelope(h.sodium, alice.device.identity, { type: 'call-invite', from: 'alice', to: 'bob', callId, at: h.clock.now() })
      expect(await replay('alice', 'bob', invite)).toBe(1)
      expect(await replay('alice', 'bob', invite)).toBe(1)
      expect(bob.events).toEqual([{ event: 'incoming', callId, from: 'alice' }])
      expect(bob.calls.calls()).toHaveLength(1)
      expectLogged(bob.logs, 'debug', /^ignoring a call invite already seen/, { callId })
      // Rang once: one call-ringing went back.
      expect(alice.hostEvents.filter(e => e.event === 'application-body' && e.body.type === 'call-ringing')).toHaveLength(1)
      bob.calls.decline(callId)
      await h.run(50)
      await expectProperCall(alice, bob)
    })

    it('replayed call-accept, call-answer and call-end for a finished or an unknown call change nothing', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await settle(alice.calls.call('bob'))
      await settle(bob.calls.answer(callId))
      expect(alice.events).toContainEqual(expect.objectContaining({ event: 'connected', callId }))
      alice.calls.hangup(callId)
      await h.run(100)
      const snapshot = (p: Phone): unknown => ({ events: [...p.events], calls: p.calls.calls(), offered: [...p.media.offered], answered: [...p.media.answered], accepted: [...p.media.accepted] })
      const [aliceBefore, bobBefore] = [snapshot(alice), snapshot(bob)]
      const unknown = newCallId()
      for (const id of [callId, unknown]) {
        for (const body of <Array<Record<string, string>>>[
          { type: 'call-accept' },
          { type: 'call-answer', device: alice.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('answer', id), alice.device.deviceKey) },
          { type: 'call-end', reason: 'hangup' }
        ]) {
          expect(await replay('bob', 'alice', sealEnvelope(h.sodium, bob.device.identity, { ...body, from: 'bob', to: 'alice', callId: id }))).toBe(1)
        }
        for (const body of <Array<Record<string, string | boolean>>>[
          { type: 'call-offer', device: bob.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('offer', id), bob.device.deviceKey), relayOnly: false },
          { type: 'call-end', reason: 'hangup' }
        ]) {
          expect(await replay('alice', 'bob', sealEnvelope(h.sodium, alice.device.identity, { ...body, from: 'alice', to: 'bob', callId: id }))).toBe(1)
        }
      }
      expect(snapshot(alice)).toEqual(aliceBefore)
      expect(snapshot(bob)).toEqual(bobBefore)
      for (const type of ['call-accept', 'call-answer', 'call-end']) {
        expectLogged(alice.logs, 'debug', new RegExp(`^ignoring a ${type} for a call that has ended$`), { callId })
        expectLogged(alice.logs, 'debug', new RegExp(`^ignoring a ${type} for an unknown call$`), { callId: unknown })
      }
      for (const type of ['call-offer', 'call-end']) {
        expectLogged(bob.logs, 'debug', new RegExp(`^ignoring a ${type} for a call that has ended$`), { callId })
        expectLogged(bob.logs, 'debug', new RegExp(`^ignoring a ${type} for an unknown call$`), { callId: unknown })
      }
      await expectProperCall(alice, bob)
    })

    it('a replayed call-accept, call-answer or call-offer during a connected call changes nothing', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await settle(alice.calls.call('bob'))
      await settle(bob.calls.answer(callId))
      expect(alice.events).toContainEqual(expect.objectContaining({ event: 'connected', callId }))
      const accepted = alice.media.accepted.length
      expect(await replay('bob', 'alice', sealEnvelope(h.sodium, bob.device.identity, { type: 'call-accept', from: 'bob', to: 'alice', callId }))).toBe(1)
      expect(await replay('bob', 'alice', sealEnvelope(h.sodium, bob.device.identity,
        { type: 'call-answer', from: 'bob', to: 'alice', callId, device: alice.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('answer', callId), alice.device.deviceKey) }))).toBe(1)
      expect(await replay('alice', 'bob', sealEnvelope(h.sodium, alice.device.identity,
        { type: 'call-offer', from: 'alice', to: 'bob', callId, device: bob.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('offer', callId), bob.device.deviceKey), relayOnly: false }))).toBe(1)
      expectLogged(alice.logs, 'debug', /^ignoring a call-accept: the call was answered already$/, { callId })
      expectLogged(alice.logs, 'warn', /^ignoring a call-answer: the call is connected, not waiting for an answer$/, { callId })
      expectLogged(bob.logs, 'warn', /^ignoring a call-offer: the call is connected, not answered here$/, { callId })
      expect(alice.media.accepted).toHaveLength(accepted)
      expect(bob.media.answered).toHaveLength(1)
      expect(stateOf(alice, callId)).toBe('connected')
      expect(stateOf(bob, callId)).toBe('connected')
      alice.calls.hangup(callId)
      await h.run(100)
      expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'hangup' })
    })

    it('a call-end from a third party (or from a device not in the call) for someone else\'s call is ignored', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const mallory = await phone('mallory')
      const callId = await settle(alice.calls.call('bob'))
      await settle(bob.calls.answer(callId))
      expect(stateOf(alice, callId)).toBe('connected')
      expect(await send(mallory, 'alice', { type: 'call-end', callId, reason: 'hangup' })).toBe(1)
      expect(await send(mallory, 'bob', { type: 'call-end', callId, reason: 'hangup' })).toBe(1)
      expectLogged(alice.logs, 'warn', /^ignoring a call-end from mallory: the call is with bob$/, { callId })
      expectLogged(bob.logs, 'warn', /^ignoring a call-end from mallory: the call is with alice$/, { callId })
      // Another device of bob's (not the one in the call), and one of alice's.
      const bobTablet = await phone('bob')
      const aliceTablet = await phone('alice')
      await send(bobTablet, 'alice', { type: 'call-end', callId, reason: 'hangup' })
      await send(aliceTablet, 'bob', { type: 'call-end', callId, reason: 'hangup' })
      expectLogged(alice.logs, 'debug', /^ignoring a call-end from a device that is not in the call$/, { callId, device: bobTablet.device.deviceKey })
      expectLogged(bob.logs, 'warn', /^ignoring a call-end from a device of alice that did not place the call$/, { callId, device: aliceTablet.device.deviceKey })
      expect(stateOf(alice, callId)).toBe('connected')
      expect(stateOf(bob, callId)).toBe('connected')
      expect(alice.events.some(e => e.event === 'ended') || bob.events.some(e => e.event === 'ended')).toBe(false)
      bob.calls.hangup(callId)
      await h.run(100)
      expect(alice.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'hangup' })
    })
  })
})
