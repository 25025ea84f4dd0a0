// Tampered call signaling: offers (a callee's call-accept carries its offer, to the caller) and
// answers (the caller's call-answer, to the callee that accepted) altered, forged, mis-sealed,
// mis-addressed or sent by the wrong device. Every refusal must be logged with its reason
// (recording loggers), and service must go on: a proper call still connects afterwards. Runs on
// the fake-clock phones of signaling-phones.ts (a real supernode over the in-memory network, a
// fake MediaPort).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { toBase64url } from '../../common/base64url.js'
import { reachTokenOf } from '../../common/lookup-keys.js'
import { canonicalEncode } from '../../common/canonical.js'
import { ENVELOPE_DOMAIN, sealEnvelope, type Envelope } from '../../common/wire/signed-envelope.js'
import { sealSignedRecord, type SignedBody } from '../../common/wire/signed-record.js'
import { sealSdp } from '../../node/calls/sealed-sdp.js'
import type { Harness } from '../overlay/bad-input-harness.js'
import { expectLogged, expectNoUnhandledRejections, sdpOf, withSecondMLine, withoutFingerprint } from './attack-kit.js'
import { createPhones, type Phone } from './signaling-phones.js'

expectNoUnhandledRejections()

describe('call signaling under attack (real supernode, in-memory network, fake clock)', () => {
  const phones = createPhones()
  const { phone, send, replay, deliverDirectly, stateOf, received, calledAndRinging, invitedAndAnswered, calledAndAcceptedByHand, expectProperCall } = phones
  let h: Harness

  beforeEach(async () => { h = await phones.open() })
  afterEach(async () => { await phones.close() })

  /** What a forged offer or answer changes: its SDP, the device it is addressed to, the device it is sealed to (by default, the one addressed). */
  interface Forged { sdp?: string, device?: string, sealedTo?: string }
  /** A call-accept for `caller`'s call: addressed to its device, with an offer (tagged with the call id) sealed to it. */
  const acceptFor = (caller: Phone, callId: string, forged: Forged = {}): Record<string, string> => {
    const device = forged.device ?? caller.device.deviceKey
    return { type: 'call-accept', callId, device, sdp: sealSdp(h.sodium, forged.sdp ?? sdpOf('offer', callId), forged.sealedTo ?? device) }
  }
  /** A call-answer for `callee`'s accept: addressed to its device, with an answer (tagged with the call id) sealed to it. */
  const answerFor = (callee: Phone, callId: string, forged: Forged = {}): Record<string, string> => {
    const device = forged.device ?? callee.device.deviceKey
    return { type: 'call-answer', callId, device, sdp: sealSdp(h.sodium, forged.sdp ?? sdpOf('answer', callId), forged.sealedTo ?? device) }
  }
  /** Whether `p`'s host was sent a call-end with `reason` for the call. */
  const toldEnded = (p: Phone, callId: string, reason: string): boolean => received(p, 'call-end', callId).some(body => body.reason === reason)

  describe('tampered offers (with a call-accept, at the caller)', () => {
    it('an offer sealed to another device of the caller is not answered: "does not open", the call fails, the callee is told, a proper call still connects', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndRinging(alice, bob)
      await send(bob, 'alice', acceptFor(alice, callId, { sealedTo: h.device('alice').deviceKey }))
      expect(alice.media.answered).toEqual([])
      expectLogged(alice.logs, 'warn', /^offer SDP does not open for this device$/, { callId })
      expect(alice.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      // Alice never opened media for it; the call itself is closed.
      expect(alice.media.closed.has(callId)).toBe(false)
      expect(alice.calls.get(callId)?.closed).toBe(true)
      // The callee is told, and stops.
      expect(toldEnded(bob, callId, 'failed')).toBe(true)
      expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      await expectProperCall(alice, bob)
    })

    it('an offer whose body was altered after signing: the supernode refuses to route or forward it, with the reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndRinging(alice, bob)
      const body = { ...acceptFor(alice, callId), from: 'bob', to: 'alice' }
      const signed = sealEnvelope(h.sodium, bob.device.identity, body)
      // A man in the middle swaps in an SDP of its own (its DTLS fingerprint), keeping bob's signature.
      const tampered: Envelope = { ...signed, body: toBase64url(canonicalEncode({ ...body, sdp: sealSdp(h.sodium, sdpOf('offer', 'mitm'), alice.device.deviceKey) })) }

      // Routed by a device of bob's: refused, and that device is disconnected.
      const rogue = await h.registeredAttacker(h.device('bob'))
      rogue.sendJson({ t: 'route', id: 1, to: 'alice', envelope: tampered })
      await h.run(50)
      expect(rogue.closedReason).toMatch(/routed envelope rejected: bad_signature/)
      // Forwarded by a peer supernode: refused the same way.
      const peer = await h.attacker('roguesn')
      peer.sendJson(h.peerHello(peer.device, '198.18.77.1:7701'))
      peer.sendJson({ t: 'forward', id: 1, to: 'alice', envelope: tampered, token: reachTokenOf(h.capabilityFor('alice').sealKey) })
      await h.run(50)
      expect(peer.closedReason).toMatch(/forwarded envelope rejected: bad_signature/)
      expect(h.disconnects().map(l => l.msg)).toEqual([
        expect.stringMatching(/^disconnecting peer: message route was refused: routed envelope rejected: bad_signature: signature does not verify/),
        expect.stringMatching(/^disconnecting peer: message forward was refused: forwarded envelope rejected: bad_signature: signature does not verify/)
      ])
      expect(alice.media.answered).toEqual([])
      expect(stateOf(alice, callId)).toBe('ringing')

      // The untouched envelope still goes through, and alice answers that offer.
      expect(await replay('bob', 'alice', signed)).toBe(1)
      expect(alice.media.answered).toEqual([sdpOf('offer', callId)])
      expect(stateOf(alice, callId)).toBe('connecting')
      alice.calls.hangup(callId)
      await h.run(50)
      await h.expectStillServing()
      await expectProperCall(alice, bob)
    })

    it('an altered offer delivered anyway (a rogue supernode): the caller\'s host drops it with the reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndRinging(alice, bob)
      const body = { ...acceptFor(alice, callId), from: 'bob', to: 'alice' }
      const signed = sealEnvelope(h.sodium, bob.device.identity, body)
      deliverDirectly(alice, { ...signed, body: toBase64url(canonicalEncode({ ...body, sdp: sealSdp(h.sodium, sdpOf('offer', 'mitm'), alice.device.deviceKey) })) })
      expectLogged(alice.logs, 'warn', /^dropped a delivered envelope that does not verify: signature does not verify/, { reason: 'bad_signature' })
      expect(alice.media.answered).toEqual([])
      expect(stateOf(alice, callId)).toBe('ringing')
      deliverDirectly(alice, signed)
      expect(alice.media.answered).toEqual([sdpOf('offer', callId)])
      expect(stateOf(alice, callId)).toBe('connecting')
      alice.calls.hangup(callId)
      await h.run(50)
      await expectProperCall(alice, bob)
    })

    it('an offer signed by a third user\'s device is ignored with the reason; the callee\'s own offer still works', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const mallory = await phone('mallory')
      const callId = await calledAndRinging(alice, bob)

      // Signed by mallory, as mallory (she learnt the call id): routed, but not for this call.
      expect(await send(mallory, 'alice', acceptFor(alice, callId, { sdp: sdpOf('offer', 'mallory') }))).toBe(1)
      expectLogged(alice.logs, 'warn', /^ignoring a call-accept from mallory: the call is with bob$/, { callId })
      // Signed by mallory, claiming to be bob: the supernode refuses it, and so would alice's host.
      const forged = sealSignedRecord(h.sodium, mallory.device.identity, ENVELOPE_DOMAIN, { ...acceptFor(alice, callId, { sdp: sdpOf('offer', 'forged') }), from: 'bob', to: 'alice' } as SignedBody)
      const rogue = await h.registeredAttacker(h.device('mallory'))
      rogue.sendJson({ t: 'route', id: 1, to: 'alice', envelope: forged })
      await h.run(50)
      expect(rogue.closedReason).toMatch(/routed envelope rejected: signer_mismatch/)
      deliverDirectly(alice, forged)
      expectLogged(alice.logs, 'warn', /^dropped a delivered envelope that does not verify: body.from "bob" but signed by mallory/, { reason: 'signer_mismatch' })
      expect(alice.media.answered).toEqual([])
      expect(stateOf(alice, callId)).toBe('ringing')

      expect(await send(bob, 'alice', acceptFor(alice, callId))).toBe(1)
      expect(alice.media.answered).toEqual([sdpOf('offer', callId)])
      alice.calls.hangup(callId)
      await h.run(50)
      await expectProperCall(alice, bob)
    })

    it('an accept addressed to another device of the caller is ignored with the reason; one addressed to the calling device is answered', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndRinging(alice, bob)
      const other = h.device('alice')
      await send(bob, 'alice', acceptFor(alice, callId, { device: other.deviceKey }))
      expectLogged(alice.logs, 'warn', /^ignoring a call-accept: it is addressed to another device$/, { callId, device: bob.device.deviceKey })
      expect(alice.media.answered).toEqual([])
      expect(stateOf(alice, callId)).toBe('ringing')
      expect(received(bob, 'call-answer', callId)).toEqual([])
      await send(bob, 'alice', acceptFor(alice, callId))
      expect(alice.media.answered).toEqual([sdpOf('offer', callId)])
      expect(stateOf(alice, callId)).toBe('connecting')
      alice.calls.hangup(callId)
      await h.run(100)
      await expectProperCall(alice, bob)
    })

    it('an accept from a second device of the callee, once one accepted, is ignored: only the first device is answered', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await calledAndAcceptedByHand(alice, bob)
      const bobTablet = await phone('bob')
      await send(bobTablet, 'alice', acceptFor(alice, callId, { sdp: sdpOf('offer', 'tablet') }))
      expectLogged(alice.logs, 'debug', /^ignoring a call-accept: the call was answered already$/, { callId, state: 'connecting' })
      expect(alice.media.answered).toEqual([sdpOf('offer', callId)])
      expect(alice.calls.get(callId)?.peerDevice).toBe(bob.device.deviceKey)
      expect(stateOf(alice, callId)).toBe('connecting')
      // An answer for the tablet would have reached it (signals go to every device of bob's): none did.
      expect(received(bobTablet, 'call-answer', callId)).toEqual([])
      expect(received(bob, 'call-answer', callId)).toHaveLength(1)
      alice.calls.hangup(callId)
      await h.run(100)
      await expectProperCall(alice, bob)
    })

    it('an offer the SDP guard refuses (two m-lines; no fingerprint) fails the call with the guard\'s reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      for (const [bad, reason] of [[withSecondMLine, 'more than one m-line'], [withoutFingerprint, 'no a=fingerprint:sha-256']] as const) {
        const callId = await calledAndRinging(alice, bob)
        await send(bob, 'alice', acceptFor(alice, callId, { sdp: bad(sdpOf('offer', callId)) }))
        expectLogged(alice.logs, 'warn', new RegExp(`^media answer failed: offer refused: ${reason}$`), { callId })
        expect(alice.media.answered).toEqual([])
        expect(alice.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
        // The media side opened for the offer is closed with the call; no answer went out.
        expect(alice.media.closed.has(callId)).toBe(true)
        expect(received(bob, 'call-answer', callId)).toEqual([])
        expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      }
      await expectProperCall(alice, bob)
    })
  })

  describe('tampered answers (with a call-answer, at the callee)', () => {
    it('an answer from a device of the caller other than the one that called is ignored with the reason; the calling device\'s answer connects', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await invitedAndAnswered(alice, bob)
      const aliceTablet = await phone('alice')
      await send(aliceTablet, 'bob', answerFor(bob, callId, { sdp: sdpOf('answer', 'tablet') }))
      expectLogged(bob.logs, 'warn', /^ignoring a call-answer from a device of alice that did not place the call$/, { callId, device: aliceTablet.device.deviceKey })
      expect(bob.media.accepted).toEqual([])
      expect(stateOf(bob, callId)).toBe('connecting')
      // The device that called answers: the call goes on.
      await send(alice, 'bob', answerFor(bob, callId))
      expect(bob.media.accepted).toEqual([sdpOf('answer', callId)])
      expect(bob.events).toContainEqual(expect.objectContaining({ event: 'connected', callId }))
      bob.calls.hangup(callId)
      await h.run(100)
      await expectProperCall(alice, bob)
    })

    it('an answer addressed to another device of the callee is ignored with the reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await invitedAndAnswered(alice, bob)
      await send(alice, 'bob', answerFor(bob, callId, { device: h.device('bob').deviceKey }))
      expectLogged(bob.logs, 'warn', /^ignoring a call-answer: it is addressed to another device$/, { callId })
      expect(bob.media.accepted).toEqual([])
      expect(stateOf(bob, callId)).toBe('connecting')
      bob.calls.hangup(callId)
      await h.run(100)
      await expectProperCall(alice, bob)
    })

    it('an answer sealed to another device fails the call: "does not open", not applied, the caller is told', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      const callId = await invitedAndAnswered(alice, bob)
      await send(alice, 'bob', answerFor(bob, callId, { sealedTo: h.device('bob').deviceKey }))
      expectLogged(bob.logs, 'warn', /^answer SDP does not open for this device$/, { callId })
      expect(bob.media.accepted).toEqual([])
      expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
      expect(bob.media.closed.has(callId)).toBe(true)
      expect(toldEnded(alice, callId, 'failed')).toBe(true)
      await expectProperCall(alice, bob)
    })

    it('an answer the SDP guard refuses (two m-lines; no fingerprint) fails the call with the guard\'s reason', async () => {
      const alice = await phone('alice')
      const bob = await phone('bob')
      for (const [bad, reason] of [[withSecondMLine, 'more than one m-line'], [withoutFingerprint, 'no a=fingerprint:sha-256']] as const) {
        const callId = await invitedAndAnswered(alice, bob)
        await send(alice, 'bob', answerFor(bob, callId, { sdp: bad(sdpOf('answer', callId)) }))
        expectLogged(bob.logs, 'warn', new RegExp(`^answer SDP refused: ${reason}$`), { callId })
        expect(bob.media.accepted).toEqual([])
        expect(bob.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'failed' })
        expect(bob.media.closed.has(callId)).toBe(true)
        expect(toldEnded(alice, callId, 'failed')).toBe(true)
      }
      await expectProperCall(alice, bob)
    })
  })
})
