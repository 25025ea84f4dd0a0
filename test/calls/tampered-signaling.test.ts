// Tampered call signaling: offers and answers altered, forged, mis-sealed or sent by the wrong
// device. Every refusal must be logged with its reason (recording loggers), and service must go
// on: a proper call still connects afterwards. Runs on the fake-clock phones of
// signaling-phones.ts (a real supernode over the in-memory network, a fake MediaPort).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { toBase64url } from '../../common/base64url.js'
import { reachTokenOf } from '../../common/lookup-keys.js'
import { canonicalEncode } from '../../common/canonical.js'
import { ENVELOPE_DOMAIN, sealEnvelope, type Envelope } from '../../common/wire/signed-envelope.js'
import { sealSignedRecord, type SignedBody } from '../../common/wire/signed-record.js'
import { sealSdp } from '../../node/calls/sealed-sdp.js'
import type { Harness } from '../overlay/bad-input-harness.js'
import { expectLogged, expectNoUnhandledRejections, sdpOf, withSecondMLine, withoutFingerprint } from './attack-kit.js'
import { createPhones } from './signaling-phones.js'

expectNoUnhandledRejections()

describe('call signaling under attack (real supernode, in-memory network, fake clock)', () => {
  const phones = createPhones()
  const { phone, settle, send, replay, deliverDirectly, stateOf, invitedAndAnswered, calledAndAcceptedByHand, expectProperCall } = phones
  let h: Harness

  beforeEach(async () => { h = await phones.open() })
  afterEach(async () => { await phones.close() })

  describe('tampered offers', () => {
    it('an offer sealed to another device is not answered: "does not open", the call fails, a proper call still connects', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await invitedAndAnswered(alice, bob)
      const elsewhere = h.device('bob')
      await send(alice, 'bob', { type: 'call-offer', callId, device: bob.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('offer', callId), elsewhere.deviceKey), relayOnly: false })
      expect(bob.media.answered).toEqual([])
      expectLogged(bob.logs, 'warn', /^offer SDP does not open for this device$/, { callId })
      expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      // Bob never opened media for it; the call itself is closed.
      expect(bob.calls.get(callId)?.closed).toBe(true)
      // The caller is told.
      expect(alice.hostEvents).toContainEqual(expect.objectContaining({ event: 'application-body', body: expect.objectContaining({ type: 'call-end', callId, reason: 'failed' }) }))
      await expectProperCall(alice, bob)
    })

    it('an offer whose body was altered after signing: the supernode refuses to route or forward it, with the reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await invitedAndAnswered(alice, bob)
      const body = { type: 'call-offer', from: 'alice', to: 'bob', callId, device: bob.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('offer', callId), bob.device.deviceKey), relayOnly: false }
      const signed = sealEnvelope(h.sodium, alice.device.identity, body)
      // A man in the middle swaps in an SDP of its own (its DTLS fingerprint), keeping alice's signature.
      const tampered: Envelope = { ...signed, body: toBase64url(canonicalEncode({ ...body, sdp: sealSdp(h.sodium, sdpOf('offer', 'mitm'), bob.device.deviceKey) })) }

      // Routed by a device of alice's: refused, and that device is disconnected.
      const rogue = await h.registeredAttacker(h.device('alice'))
      rogue.sendJson({ t: 'route', id: 1, to: 'bob', envelope: tampered })
      await h.run(50)
      expect(rogue.closedReason).toMatch(/routed envelope rejected: bad_signature/)
      // Forwarded by a peer supernode: refused the same way.
      const peer = await h.attacker('roguesn')
      peer.sendJson(h.peerHello(peer.device, '198.18.77.1:7701'))
      peer.sendJson({ t: 'forward', id: 1, to: 'bob', envelope: tampered, token: reachTokenOf(h.capabilityFor('bob').sealKey) })
      await h.run(50)
      expect(peer.closedReason).toMatch(/forwarded envelope rejected: bad_signature/)
      expect(h.disconnects().map(l => l.msg)).toEqual([
        expect.stringMatching(/^disconnecting peer: message route was refused: routed envelope rejected: bad_signature: signature does not verify/),
        expect.stringMatching(/^disconnecting peer: message forward was refused: forwarded envelope rejected: bad_signature: signature does not verify/)
      ])
      expect(bob.media.answered).toEqual([])
      expect(stateOf(bob, callId)).toBe('connecting')

      // The untouched envelope still goes through, and bob answers that offer.
      expect(await replay('alice', 'bob', signed)).toBe(1)
      expect(bob.media.answered).toEqual([sdpOf('offer', callId)])
      bob.calls.hangup(callId)
      await h.run(50)
      await h.expectStillServing()
      await expectProperCall(alice, bob)
    })

    it('an altered offer delivered anyway (a rogue supernode): the callee\'s host drops it with the reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await invitedAndAnswered(alice, bob)
      const body = { type: 'call-offer', from: 'alice', to: 'bob', callId, device: bob.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('offer', callId), bob.device.deviceKey), relayOnly: false }
      const signed = sealEnvelope(h.sodium, alice.device.identity, body)
      deliverDirectly(bob, { ...signed, body: toBase64url(canonicalEncode({ ...body, relayOnly: true })) })
      expectLogged(bob.logs, 'warn', /^dropped a delivered envelope that does not verify: signature does not verify/, { reason: 'bad_signature' })
      expect(bob.media.answered).toEqual([])
      expect(stateOf(bob, callId)).toBe('connecting')
      deliverDirectly(bob, signed)
      expect(bob.media.answered).toEqual([sdpOf('offer', callId)])
      bob.calls.hangup(callId)
      await h.run(50)
      await expectProperCall(alice, bob)
    })

    it('an offer signed by a third user\'s device is ignored with the reason; the caller\'s own offer still works', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const mallory = await phone('mallory')
      const callId = await invitedAndAnswered(alice, bob)
      const offer = (tag: string): Record<string, string | boolean> =>
        ({ type: 'call-offer', callId, device: bob.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('offer', tag), bob.device.deviceKey), relayOnly: false })

      // Signed by mallory, as mallory (she learnt the call id): routed, but not for this call.
      expect(await send(mallory, 'bob', offer('mallory'))).toBe(1)
      expectLogged(bob.logs, 'warn', /^ignoring a call-offer from mallory: the call is with alice$/, { callId })
      // Signed by mallory, claiming to be alice: the supernode refuses it, and so would bob's host.
      const forged = sealSignedRecord(h.sodium, mallory.device.identity, ENVELOPE_DOMAIN, { ...offer('forged'), from: 'alice', to: 'bob' } as SignedBody)
      const rogue = await h.registeredAttacker(h.device('mallory'))
      rogue.sendJson({ t: 'route', id: 1, to: 'bob', envelope: forged })
      await h.run(50)
      expect(rogue.closedReason).toMatch(/routed envelope rejected: signer_mismatch/)
      deliverDirectly(bob, forged)
      expectLogged(bob.logs, 'warn', /^dropped a delivered envelope that does not verify: body.from "alice" but signed by mallory/, { reason: 'signer_mismatch' })
      expect(bob.media.answered).toEqual([])
      expect(stateOf(bob, callId)).toBe('connecting')

      expect(await send(alice, 'bob', offer(callId))).toBe(1)
      expect(bob.media.answered).toEqual([sdpOf('offer', callId)])
      bob.calls.hangup(callId)
      await h.run(50)
      await expectProperCall(alice, bob)
    })

    it('an offer from another device of the caller (not the one that called) is ignored with the reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await invitedAndAnswered(alice, bob)
      const aliceTablet = await phone('alice')
      await send(aliceTablet, 'bob', { type: 'call-offer', callId, device: bob.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('offer', 'tablet'), bob.device.deviceKey), relayOnly: false })
      expectLogged(bob.logs, 'warn', /^ignoring a call-offer from a device of alice that did not place the call$/, { callId, device: aliceTablet.device.deviceKey })
      expect(bob.media.answered).toEqual([])
      expect(stateOf(bob, callId)).toBe('connecting')
      bob.calls.hangup(callId)
      await h.run(50)
      await expectProperCall(alice, bob)
    })
  })

  describe('tampered answers', () => {
    it('an answer from a device other than the one that accepted is ignored; the right device\'s answer connects', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndAcceptedByHand(alice, bob)
      const bobTablet = await phone('bob')
      const answer = { type: 'call-answer', callId, device: alice.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('answer', callId), alice.device.deviceKey) }
      await send(bobTablet, 'alice', answer)
      expectLogged(alice.logs, 'warn', /^ignoring a call-answer: it comes from a device that did not accept the call$/, { callId, device: bobTablet.device.deviceKey })
      expect(alice.media.accepted).toEqual([])
      expect(stateOf(alice, callId)).toBe('connecting')
      // The device that accepted answers: the call goes on.
      await send(bob, 'alice', answer)
      expect(alice.media.accepted).toHaveLength(1)
      expect(alice.events).toContainEqual(expect.objectContaining({ event: 'connected', callId }))
      alice.calls.hangup(callId)
      await h.run(100)
      await expectProperCall(alice, bob)
    })

    it('an answer addressed to another device of the caller is ignored with the reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndAcceptedByHand(alice, bob)
      const other = h.device('alice')
      await send(bob, 'alice', { type: 'call-answer', callId, device: other.deviceKey, sdp: sealSdp(h.sodium, sdpOf('answer', callId), other.deviceKey) })
      expectLogged(alice.logs, 'warn', /^ignoring a call-answer: it is addressed to another device$/, { callId })
      expect(alice.media.accepted).toEqual([])
      expect(stateOf(alice, callId)).toBe('connecting')
      alice.calls.hangup(callId)
      await h.run(100)
      await expectProperCall(alice, bob)
    })

    it('an answer sealed to another device fails the call: "does not open", not applied', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndAcceptedByHand(alice, bob)
      await send(bob, 'alice', { type: 'call-answer', callId, device: alice.device.deviceKey, sdp: sealSdp(h.sodium, sdpOf('answer', callId), h.device('alice').deviceKey) })
      expectLogged(alice.logs, 'warn', /^answer SDP does not open for this device$/, { callId })
      expect(alice.media.accepted).toEqual([])
      expect(alice.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      expect(alice.media.closed.has(callId)).toBe(true)
      // Bob's ringing device hears of it and stops.
      expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      await expectProperCall(alice, bob)
    })

    it('an answer the SDP guard refuses (two m-lines; no fingerprint) fails the call with the guard\'s reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      for (const [bad, reason] of [[withSecondMLine, 'more than one m-line'], [withoutFingerprint, 'no a=fingerprint:sha-256']] as const) {
        const callId = await settle(alice.calls.call('bob'))
        await send(bob, 'alice', { type: 'call-accept', callId })
        await send(bob, 'alice', { type: 'call-answer', callId, device: alice.device.deviceKey, sdp: sealSdp(h.sodium, bad(sdpOf('answer', callId)), alice.device.deviceKey) })
        expectLogged(alice.logs, 'warn', new RegExp(`^answer SDP refused: ${reason}$`), { callId })
        expect(alice.media.accepted).toEqual([])
        expect(alice.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
        expect(alice.media.closed.has(callId)).toBe(true)
        expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      }
      await expectProperCall(alice, bob)
    })
  })
})
