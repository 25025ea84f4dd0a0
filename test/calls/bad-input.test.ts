// Bad input for calls: tampered offers and answers, replayed signaling, malformed SDP handed
// to real media sessions, and STUN/TURN abuse of a real supernode's relay. Every refusal must
// be logged with its reason (recording loggers), and service must go on: a proper call still
// connects afterwards. test/turn/ covers the TURN server alone; this file covers it on a
// running supernode, next to the calls it serves.
//
// Signaling cases run on a real supernode over the in-memory network with a fake clock (the
// harness of test/overlay/bad-input.test.ts), call managers on real hosts, and a fake MediaPort
// (sans-IO); a forged or replayed envelope goes out through a hand-driven link, exactly as
// built. Media and TURN cases use real node-datachannel sessions, real UDP and real nodes.
import { isCallBody, type CallBodyOf } from '../../node/calls/call-bodies.js'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { toBase64url } from '../../common/base64url.js'
import { reachTokenOf } from '../../common/lookup-keys.js'
import { canonicalEncode } from '../../common/canonical.js'
import { systemClock } from '../../common/clock.js'
import { LoginClient } from '../../common/login-client.js'
import { loadSodium } from '../../common/sodium.js'
import { ENVELOPE_DOMAIN, sealEnvelope, type Envelope } from '../../common/wire/signed-envelope.js'
import { sealSignedRecord, type SignedBody } from '../../common/wire/signed-record.js'
import type { RunningLoginServer } from '../../login-server/server.js'
import { createCallSignaling, type CallEvent, type CallSignaling, type MediaPort } from '../../node/calls/signaling/signaling.js'
import { INVITE_MAX_AGE_MS } from '../../node/calls/constants.js'
import { openSealedSdp, sealSdp } from '../../node/calls/sealed-sdp.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { readWavFile } from '../../node/media/audio/wav.js'
import { createMediaSession, shutdownMedia, type MediaSession, type MediaState } from '../../node/media/media-session.js'
import { MAX_REMOTE_SDP_BYTES, checkRemoteSdp } from '../../node/media/sdp-guard.js'
import { METHOD } from '../../node/relay/constants.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute } from '../../node/relay/stun/attributes.js'
import { decodeStunMessage, encodeStunMessage, type StunMessage } from '../../node/relay/stun/message.js'
import { flushAsync } from '../../node/net/fake-clock.js'
import { createWsTransport } from '../../node/net/ws-transport.js'
import { createSupernodeCache, supernodeRef } from '../../node/overlay/supernode-cache.js'
import { handleDelivery } from '../../node/overlay/host/deliveries.js'
import { createSeenOneShots } from '../../node/overlay/seen-one-shots.js'
import { createHost, type Host, type HostEvent } from '../../node/overlay/host.js'
import { createPresenceBook } from '../../node/overlay/presence-book.js'
import type { NodeEvent, NodeStatus } from '../../node/runtime/api.js'
import { openDataDir } from '../../node/runtime/data-dir.js'
import { openLoginSession, type LoginSession } from '../../node/runtime/login-session.js'
import type { RunningNode } from '../../node/runtime/node.js'
import { freePort } from '../helpers/ports.js'
import { createHarness, recordingLogger, type Device, type Harness, type LogEntry } from '../overlay/bad-input-harness.js'
import { newTransactionId } from '../turn/helpers.js'
import { closeAllSockets, Inbox, UdpTurnClient, udpSocket } from '../turn/udp-client.js'
import { waitUntil } from '../helpers/wait.js'
import { startInProcessNet, type InProcessNet } from '../helpers/in-process-net.js'
import { TEST_PASSWORD } from '../helpers/voxmesh-net.js'

// ---------------------------------------------------------------- shared

/** A rejection nobody handles would take a real node down: none may happen in this file. */
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
beforeAll(() => { process.on('unhandledRejection', onUnhandled) })
afterEach(() => { expect(unhandled, 'unhandled rejections').toEqual([]) })
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  shutdownMedia()
})

const newCallId = (): string => randomBytes(12).toString('base64url')
/** The users of the fake-clock phones: each holds the others' lookup capabilities. */
const PHONE_USERS = ['alice', 'bob', 'carol', 'mallory']

/**
 * An SDP the guard accepts, as node-datachannel writes one (no candidates), tagged with `tag`
 * in its s= line so a fake media port can tell which call it belongs to.
 */
function sdpOf (type: 'offer' | 'answer', tag: string): string {
  return [
    'v=0',
    'o=rtc 3864157758 0 IN IP4 127.0.0.1',
    `s=${tag}`,
    't=0 0',
    'a=group:BUNDLE audio',
    'a=msid-semantic:WMS *',
    'a=fingerprint:sha-256 CD:23:5B:5A:77:DF:22:FA:FE:1E:82:A3:18:1D:BE:D6:6D:4B:FB:EB:16:9E:A0:C2:DD:B6:6D:90:0C:A7:56:55',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=mid:audio',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`,
    'a=ice-ufrag:/EXV',
    'a=ice-pwd:cp0u4aqV2s+i+PERuk1SNV',
    ''
  ].join('\r\n')
}

/** `sdp` with a second m-line after everything else. */
const withSecondMLine = (sdp: string): string => `${sdp.endsWith('\n') ? sdp : `${sdp}\r\n`}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:second\r\n`
/** `sdp` without its a=fingerprint line. */
const withoutFingerprint = (sdp: string): string => {
  const out = sdp.split('\r\n').filter(line => !line.startsWith('a=fingerprint:')).join('\r\n')
  if (out === sdp) throw new Error('the SDP had no fingerprint to remove')
  return out
}

/** At least one log line at `level` whose message matches `msg`. */
function expectLogged (logs: LogEntry[], level: LogEntry['level'], msg: RegExp, fields: Record<string, unknown> = {}): void {
  expect(logs, `a ${level} line matching ${String(msg)}`).toContainEqual(expect.objectContaining({ level, msg: expect.stringMatching(msg), fields: expect.objectContaining(fields) }))
}

// ---------------------------------------------------------------- 1-3: signaling (fake clock)

/** A user's device: a real host registered at the harness supernode, with a call manager and a fake MediaPort. */
interface Phone {
  user: string
  device: Device
  host: Host
  logs: LogEntry[]
  hostEvents: HostEvent[]
  events: CallEvent[]
  /** What the call manager asked of the media layer. */
  media: { offered: string[], answered: string[], accepted: string[], closed: Set<string> }
  calls: CallSignaling
}

describe('call signaling under attack (real supernode, in-memory network, fake clock)', () => {
  let h: Harness
  let phones: Phone[] = []

  beforeEach(async () => { h = await createHarness() })
  afterEach(async () => {
    for (const p of phones) p.host.close()
    phones = []
    h.close()
    await flushAsync()
  })

  /** A new device of `user`, attached to the supernode. */
  async function phone (user: string): Promise<Phone> {
    const device = h.device(user)
    const logs: LogEntry[] = []
    const log = recordingLogger(logs, { user })
    const cache = createSupernodeCache()
    cache.add([h.sn.ref], h.clock.now())
    const self = { user, device, logs, hostEvents: [], events: [], media: { offered: [], answered: [], accepted: [], closed: new Set() } } as unknown as Phone
    // Like the node's port: the media layer's SDP guard decides on an answer, and a refusal
    // throws with its reason. "Connects" both ends once the caller applied a good answer.
    const port: MediaPort = {
      offer: async call => { self.media.offered.push(call.id); call.media = { close: () => { self.media.closed.add(call.id) } }; return sdpOf('offer', call.id) },
      answer: async (call, offer) => { self.media.answered.push(offer); call.media = { close: () => { self.media.closed.add(call.id) } }; return sdpOf('answer', call.id) },
      accept: (call, answer) => {
        const check = checkRemoteSdp(answer, 'answer')
        if (!check.ok) throw new Error(check.reason)
        self.media.accepted.push(answer)
        for (const p of phones) p.calls.mediaConnected(call.id, { path: 'direct' })
      }
    }
    self.host = createHost(
      { sodium: h.sodium, clock: h.clock, transport: h.network.transport('198.18.1.'), identity: device.identity, issuerKey: h.issuer.publicKey, log, cache },
      {
        user,
        deviceKey: device.deviceKey,
        // Everyone here is everyone's contact: an attacker must be one to reach anybody at all.
        audience: PHONE_USERS.filter(other => other !== user),
        lookup: h.lookupFor(user),
        capabilities: PHONE_USERS.filter(other => other !== user).map(h.capabilityFor),
        onEvent: event => {
          self.hostEvents.push(event)
          if (event.event === 'application-body' && isCallBody.Check(event.body)) self.calls.handleSignal(event.from, event.body)
        }
      }
    )
    self.calls = createCallSignaling(
      { sodium: h.sodium, clock: h.clock, log, media: port, send: (to, body) => self.host.send(to, body), deviceSecretKey: device.identity.secretKey },
      { user, deviceKey: device.deviceKey, mayCall: () => true, onEvent: event => { self.events.push(event) } }
    )
    phones.push(self)
    self.host.start()
    await h.run(100)
    expect(self.host.supernode?.deviceKey, `${user} attached`).toBe(h.sn.ref.deviceKey)
    return self
  }

  const settle = async <T>(work: Promise<T>, ms = 200): Promise<T> => {
    await h.run(ms)
    return await work
  }

  /** Sends a signal as `from`'s host would (signed by its device); resolves with the devices reached. */
  const send = async (from: Phone, to: string, body: Record<string, string | number | boolean>): Promise<number> =>
    (await settle(from.host.send(to, body), 50)).delivered

  /**
   * Routes `envelope` exactly as it is through the supernode, from a fresh registered device of
   * `user` (any device of a user may route that user's envelopes): a captured envelope replayed.
   */
  async function replay (user: string, to: string, envelope: Envelope): Promise<number> {
    const rogue = await h.registeredAttacker(h.device(user), [to])
    rogue.sendJson({ t: 'route', id: 1, to, envelope })
    await h.run(50)
    const result = rogue.received('route-result')[0]
    rogue.close()
    await h.run(10)
    return result?.delivered ?? 0
  }

  /** Hands `envelope` straight to `p`'s delivery check, as a rogue supernode could. */
  function deliverDirectly (p: Phone, envelope: Envelope): void {
    handleDelivery({
      sodium: h.sodium,
      clock: h.clock,
      issuerKey: h.issuer.publicKey,
      log: recordingLogger(p.logs, { user: p.user }),
      presence: createPresenceBook(),
      seen: createSeenOneShots(),
      device: { deviceKey: p.device.deviceKey, secretKey: p.device.identity.secretKey },
      emit: event => { if (event.event === 'application-body' && isCallBody.Check(event.body)) p.calls.handleSignal(event.from, event.body) },
      user: p.user,
      accepts: () => true,
      reply: () => {}
    }, envelope)
  }

  const stateOf = (p: Phone, callId: string): string | undefined => p.calls.calls().find(c => c.id === callId)?.state

  /** `caller` invites by hand (its own manager knows nothing of the call) and `callee` answers: the callee waits for an offer. */
  async function invitedAndAnswered (caller: Phone, callee: Phone): Promise<string> {
    const callId = newCallId()
    expect(await send(caller, callee.user, { type: 'call-invite', callId, at: h.clock.now() })).toBe(1)
    expect(callee.events).toContainEqual({ event: 'incoming', callId, from: caller.user })
    await settle(callee.calls.answer(callId))
    expect(stateOf(callee, callId)).toBe('connecting')
    return callId
  }

  /** `caller`'s manager calls; `callee`'s device accepts by hand: the caller sent its offer and waits for an answer. */
  async function calledAndAcceptedByHand (caller: Phone, callee: Phone): Promise<string> {
    const callId = await settle(caller.calls.call(callee.user))
    expect(callee.events).toContainEqual({ event: 'incoming', callId, from: caller.user })
    await send(callee, caller.user, { type: 'call-accept', callId })
    expect(caller.media.offered).toEqual([callId])
    expect(stateOf(caller, callId)).toBe('connecting')
    // The callee's own manager never answered: it ignores the offer, and says so.
    expectLogged(callee.logs, 'warn', /^ignoring a call-offer: the call is ringing/)
    return callId
  }

  /** A proper call between the two connects, and ends with a hangup for both. */
  async function expectProperCall (caller: Phone, callee: Phone): Promise<void> {
    const callId = await settle(caller.calls.call(callee.user))
    expect(callee.events).toContainEqual({ event: 'incoming', callId, from: caller.user })
    await settle(callee.calls.answer(callId))
    expect(caller.events).toContainEqual(expect.objectContaining({ event: 'connected', callId }))
    expect(callee.events).toContainEqual(expect.objectContaining({ event: 'connected', callId }))
    caller.calls.hangup(callId)
    await h.run(100)
    expect(callee.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'hangup' })
    expect(caller.events.at(-1)).toMatchObject({ event: 'ended', callId, reason: 'hangup' })
  }

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

// ---------------------------------------------------------------- 4: malformed SDP into real media sessions

describe('malformed SDP into real media sessions', () => {
  const sessions: MediaSession[] = []
  afterEach(() => { for (const s of sessions.splice(0)) s.close() })

  function session (role: 'offerer' | 'answerer', logs: LogEntry[]): { session: MediaSession, states: MediaState[] } {
    const states: MediaState[] = []
    const created = createMediaSession({
      role, iceServers: [], bindAddress: '127.0.0.1', log: recordingLogger(logs, { role }), onAudio: () => {}, onState: state => { states.push(state) }
    })
    sessions.push(created)
    return { session: created, states }
  }

  /** A live offerer and its complete offer (every candidate inside, as calls send it). */
  async function liveOffer (logs: LogEntry[]): Promise<{ offerer: { session: MediaSession, states: MediaState[] }, offer: string }> {
    const offerer = session('offerer', logs)
    offerer.session.start()
    return { offerer, offer: await offerer.session.gathered() }
  }

  /** The answerer takes the real offer, the offerer the real answer: both connect. */
  async function expectConnects (offerer: MediaSession, answerer: MediaSession, offer: string): Promise<void> {
    expect(answerer.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    const answer = await answerer.gathered()
    expect(offerer.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitUntil('both sessions connected', () => offerer.state() === 'connected' && answerer.state() === 'connected', 10_000)
  }

  it('garbage, oversized and non-text offers: {ok:false, reason}, logged; the same session then connects', async () => {
    const logs: LogEntry[] = []
    const { offerer, offer } = await liveOffer(logs)
    const answerer = session('answerer', logs)
    const garbage: Array<[unknown, RegExp]> = [
      [randomBytes(600).toString('latin1'), /printable ASCII|does not start with v=0|<type>=<value>/],
      ['\u0000\u0001\u0002 not sdp at all', /does not start with v=0/],
      ['', /empty SDP/],
      [`${offer}${'a=ssrc:1 cname:x\r\n'.repeat(2000)}`, /longer than 16384 bytes/],
      ['v=0\r\n'.repeat(300), /more than 256 lines|a second v= line/],
      [42, /SDP is not a string/],
      [{ sdp: offer }, /SDP is not a string/],
      [offer.slice(0, Math.floor(offer.length / 2)), /./]
    ]
    expect(`${offer}${'a=ssrc:1 cname:x\r\n'.repeat(2000)}`.length).toBeGreaterThan(MAX_REMOTE_SDP_BYTES)
    for (const [bad, reason] of garbage) {
      const result = answerer.session.setRemoteDescription(bad as string, 'offer')
      expect(result.ok, `refused: ${JSON.stringify(bad).slice(0, 60)}`).toBe(false)
      expect(result.ok ? '' : result.reason).toMatch(reason)
      expectLogged(logs, 'warn', /^refused the remote offer: /, { role: 'answerer', reason: result.ok ? '' : result.reason })
    }
    expect(answerer.session.setRemoteDescription(offer, 'answer')).toEqual({ ok: false, reason: 'the answerer takes an offer, not answer' })
    expect(answerer.session.state()).toBe('new')
    await expectConnects(offerer.session, answerer.session, offer)
  })

  it('an offer with two m-lines or without a fingerprint is refused with the guard\'s reason; the session then connects', async () => {
    const logs: LogEntry[] = []
    const { offerer, offer } = await liveOffer(logs)
    const answerer = session('answerer', logs)
    expect(answerer.session.setRemoteDescription(withSecondMLine(offer), 'offer')).toEqual({ ok: false, reason: 'more than one m-line' })
    expect(answerer.session.setRemoteDescription(withoutFingerprint(offer), 'offer')).toEqual({ ok: false, reason: 'no a=fingerprint:sha-256' })
    expectLogged(logs, 'warn', /^refused the remote offer: more than one m-line$/, { role: 'answerer' })
    expectLogged(logs, 'warn', /^refused the remote offer: no a=fingerprint:sha-256$/, { role: 'answerer' })
    await expectConnects(offerer.session, answerer.session, offer)
  })

  it('an answer with two m-lines, without a fingerprint, or with setup:actpass is refused by the offerer; the real answer then connects', async () => {
    const logs: LogEntry[] = []
    const { offerer, offer } = await liveOffer(logs)
    const answerer = session('answerer', logs)
    expect(answerer.session.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    const answer = await answerer.session.gathered()
    expect(offerer.session.setRemoteDescription(withSecondMLine(answer), 'answer')).toEqual({ ok: false, reason: 'more than one m-line' })
    expect(offerer.session.setRemoteDescription(withoutFingerprint(answer), 'answer')).toEqual({ ok: false, reason: 'no a=fingerprint:sha-256' })
    expect(offerer.session.setRemoteDescription(answer.replace(/a=setup:\w+/, 'a=setup:actpass'), 'answer')).toEqual({ ok: false, reason: 'an answer with a=setup:actpass' })
    for (const reason of ['more than one m-line', 'no a=fingerprint:sha-256', 'an answer with a=setup:actpass']) {
      expectLogged(logs, 'warn', new RegExp(`^refused the remote answer: ${reason}$`), { role: 'offerer' })
    }
    expect(offerer.session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitUntil('both sessions connected', () => offerer.session.state() === 'connected' && answerer.session.state() === 'connected', 10_000)
    expect(offerer.states).not.toContain('failed')
  })
})

// ---------------------------------------------------------------- 5: a real supernode's TURN relay under abuse

describe('a real supernode\'s STUN/TURN relay under abuse, then a relayed call', () => {
  const PASSWORD = TEST_PASSWORD
  const CALL_SECONDS = 3
  let net: InProcessNet
  let dir: string
  let login: RunningLoginServer
  let sn: RunningNode, alice: RunningNode, bob: RunningNode
  let turnServer: TransportAddress
  const logs = new Map<string, LogEntry[]>()
  let events: Map<RunningNode, NodeEvent[]>
  /** Mallory: a plain host on the real network, driven by hand (no call service of her own). */
  let mallory: Host
  let malloryDevice: { deviceKey: string, secretKey: Uint8Array }
  let mallorySession: LoginSession
  const malloryEvents: HostEvent[] = []
  const logsOf = (user: string): LogEntry[] => {
    let list = logs.get(user)
    if (list === undefined) logs.set(user, list = [])
    return list
  }

  const nodeEvent = async <E extends NodeEvent['event']>(node: RunningNode, event: E, match: (e: Extract<NodeEvent, { event: E }>) => boolean = () => true): Promise<Extract<NodeEvent, { event: E }>> =>
    await net.waitForEvent(node, e => e.event === event && match(e as Extract<NodeEvent, { event: E }>), 15_000) as Extract<NodeEvent, { event: E }>
  const signalToMallory = async (type: string, callId: string): Promise<Extract<HostEvent, { event: 'application-body' }>> =>
    await waitUntil(`${type} for mallory`, () => malloryEvents.find((e): e is Extract<HostEvent, { event: 'application-body' }> => e.event === 'application-body' && e.body.type === type && e.body.callId === callId), 15_000)
  const relay = (): NonNullable<NodeStatus['relay']> => {
    const counters = sn.status().relay
    if (counters === null) throw new Error('the supernode runs no relay')
    return counters
  }

  const node: InProcessNet['startNode'] = async (user, extra) => await net.startNode(user, extra)

  beforeAll(async () => {
    net = await startInProcessNet({ dirPrefix: 'voxmesh-bad-calls-', users: ['super1', 'alice', 'bob', 'mallory'], log: user => recordingLogger(logsOf(user)) })
    dir = net.dir
    login = net.login
    events = net.events
    // Mallory attacks as a contact: nobody else can find alice or bob at all.
    await makeContacts(login.url, PASSWORD, [['alice', 'bob'], ['alice', 'mallory'], ['bob', 'mallory']])
    // On 127.0.0.2, as in audio-call.test.ts: a relay-only session cannot sneak a direct path.
    // loopback peers: the lab flag.
    sn = await node('super1', { role: 'supernode', listen: `127.0.0.2:${await freePort()}`, relayAllowPrivate: true })
    const [host, port] = (sn.status().listen as string).split(':') as [string, string]
    turnServer = { address: host, port: Number(port) }
    alice = await node('alice')
    bob = await node('bob', { calls: { autoAnswer: true, anyone: true, recordDir: join(dir, 'recordings') } })

    const sodium = await loadSodium()
    const dataDir = openDataDir(sodium, join(dir, 'mallory'))
    malloryDevice = { deviceKey: dataDir.device.deviceKey, secretKey: dataDir.device.secretKey }
    mallorySession = await openLoginSession({ url: login.url, user: 'mallory', password: PASSWORD, dataDir, log: recordingLogger(logsOf('mallory')) })
    const cache = createSupernodeCache()
    cache.add(mallorySession.supernodes.map(supernodeRef), Date.now())
    const malloryContacts = (await mallorySession.contactsAndBlocks()).contacts
    mallory = createHost(
      { sodium, clock: systemClock, transport: createWsTransport(), identity: { certificate: mallorySession.certificate, secretKey: dataDir.device.secretKey }, issuerKey: mallorySession.issuerKey, log: recordingLogger(logsOf('mallory')), cache },
      {
        user: 'mallory',
        deviceKey: dataDir.device.deviceKey,
        audience: malloryContacts.map(c => c.username),
        lookup: mallorySession.lookup,
        capabilities: malloryContacts.flatMap(c => c.lookupKey === undefined || c.sealKey === undefined ? [] : [{ user: c.username, lookupKey: c.lookupKey, sealKey: c.sealKey }]),
        onEvent: event => { malloryEvents.push(event) }
      }
    )
    mallory.start()
    for (const user of [alice, bob]) await nodeEvent(user, 'attached')
    await waitUntil('mallory attached', () => mallory.supernode, 15_000)
  }, 60_000)

  afterAll(async () => {
    mallory?.close()
    mallorySession?.close()
    await net?.close()
    await closeAllSockets()
  }, 30_000)

  it('garbage and truncated UDP packets to its TURN port: dropped as malformed or answered 400, counted and logged; Binding still answered', async () => {
    const before = relay()
    const socket = await udpSocket()
    const inbox = new Inbox(socket)
    const junk = [
      Buffer.alloc(1, 0xff),
      Buffer.alloc(64, 0xff),
      Buffer.from('\xffGET / HTTP/1.1\r\nHost: voxmesh\r\n\r\n', 'latin1'),
      Buffer.concat([Buffer.from([0xc0]), randomBytes(500)]),
      Buffer.alloc(1200, 0x80)
    ]
    const request = (transactionId: Uint8Array): Uint8Array =>
      encodeStunMessage({ method: METHOD.BINDING, class: 'request', transactionId, attributes: [{ type: 'SOFTWARE', value: 'x'.repeat(40) }] }, { fingerprint: true })
    const cut = newTransactionId()
    const truncatedHeader = request(newTransactionId()).subarray(0, 12)
    const truncatedBody = request(cut).subarray(0, 40)
    for (const bytes of [...junk, truncatedHeader, truncatedBody]) socket.send(bytes, turnServer.port, turnServer.address)
    const fine = newTransactionId()
    socket.send(request(fine), turnServer.port, turnServer.address)

    const sameTransaction = (id: Uint8Array) => (bytes: Buffer): boolean => bytes.length >= 20 && bytes.subarray(8, 20).equals(Buffer.from(id))
    const decode = (bytes: Buffer): StunMessage => {
      const decoded = decodeStunMessage(bytes)
      if (!decoded.ok) throw new Error(decoded.reason)
      return decoded.message
    }
    const refused = decode((await inbox.next(5000, sameTransaction(cut))).bytes)
    expect(findAttribute(refused, 'ERROR-CODE')?.value).toEqual({ code: 400, reason: expect.stringMatching(/^Bad Request: truncated/) })
    const binding = decode((await inbox.next(5000, sameTransaction(fine))).bytes)
    expect(binding.class).toBe('success')
    expect(findAttribute(binding, 'XOR-MAPPED-ADDRESS')?.value).toEqual(inbox.address)
    expect(await inbox.quiet(200), 'no answer to garbage').toBe(true)

    const after = relay()
    expect((after.dropped.malformed ?? 0) - (before.dropped.malformed ?? 0)).toBe(junk.length + 1)
    expect((after.errorResponses[400] ?? 0) - (before.errorResponses[400] ?? 0)).toBe(1)
    const turnLogs = logsOf('super1').filter(l => l.fields.component === 'turn')
    expectLogged(turnLogs, 'debug', /^turn: packet dropped$/, { reason: 'malformed', detail: expect.stringMatching(/is neither STUN nor ChannelData/) })
    expectLogged(turnLogs, 'debug', /^turn: packet dropped$/, { reason: 'malformed', detail: expect.stringMatching(/truncated/) })
    expectLogged(turnLogs, 'debug', /^turn: bad request$/, { reason: expect.stringMatching(/^truncated/) })
  })

  it('an Allocate with wrong TURN credentials gets 401 with the reason, counted and logged; no allocation is made', async () => {
    const before = relay()
    const issued = await mallory.turnCredentials()
    expect(issued).toBeDefined()
    const { username, password } = issued as { username: string, password: string }
    const expiry = Number(username.split(':')[0])
    const wrong = [
      { username, password: `${password}x` }, // her own user name, a guessed password
      { username: `${expiry}:alice`, password }, // another user's name with her password
      { username: `${expiry + 86_400}:mallory`, password } // a longer life than was issued
    ]
    for (const credentials of wrong) {
      const client = await UdpTurnClient.open(turnServer, { ...credentials, expiresAt: expiry * 1000, user: 'mallory' }, 'voxmesh')
      const response = await client.allocate()
      expect(findAttribute(response, 'ERROR-CODE')?.value).toEqual({ code: 401, reason: 'Unauthenticated: wrong credentials (MESSAGE-INTEGRITY does not match)' })
      expect(findAttribute(response, 'XOR-RELAYED-ADDRESS')).toBeUndefined()
    }
    const after = relay()
    // Each: the challenge (no MESSAGE-INTEGRITY yet), then the refusal.
    expect((after.errorResponses[401] ?? 0) - (before.errorResponses[401] ?? 0)).toBe(2 * wrong.length)
    expect(after.allocations).toBe(before.allocations)
    const refusals = logsOf('super1').filter(l => l.msg === 'turn: unauthenticated request' && l.fields.reason === 'wrong credentials (MESSAGE-INTEGRITY does not match)')
    expect(refusals).toHaveLength(wrong.length)
  })

  it('an allocation flood from one user (credentials from her host, the legit way) hits the per-user quota: 486, counted and logged', async () => {
    const before = relay()
    const issued = await mallory.turnCredentials() as { username: string, password: string }
    const clients: UdpTurnClient[] = []
    const codes: Array<number | undefined> = []
    for (let i = 0; i < 13; i++) {
      const client = await UdpTurnClient.open(turnServer, { username: issued.username, password: issued.password, expiresAt: 0, user: 'mallory' }, 'voxmesh')
      clients.push(client)
      const response = await client.allocate()
      codes.push(findAttribute(response, 'ERROR-CODE')?.value.code)
    }
    expect(codes.filter(code => code === undefined)).toHaveLength(10) // DEFAULT_MAX_ALLOCATIONS_PER_USER
    expect(codes.slice(10)).toEqual([486, 486, 486])
    const flooded = relay()
    expect(flooded.allocations - before.allocations).toBe(10)
    expect((flooded.errorResponses[486] ?? 0) - (before.errorResponses[486] ?? 0)).toBe(3)
    expectLogged(logsOf('super1'), 'info', /^turn: allocation quota reached$/, { component: 'turn', user: 'mallory', allocations: 10 })
    // She can give them back (Refresh with LIFETIME 0); the relay is as it was.
    for (const client of clients.slice(0, 10)) {
      const response = await client.request(METHOD.REFRESH, [{ type: 'LIFETIME', value: 0 }])
      expect(findAttribute(response, 'ERROR-CODE')).toBeUndefined()
    }
    expect(relay().allocations).toBe(before.allocations)
  })

  it('turn-release from a host ends only its own allocations at the addresses it names', async () => {
    const before = relay()
    const issued = await mallory.turnCredentials() as { username: string, password: string }
    const client = await UdpTurnClient.open(turnServer, { username: issued.username, password: issued.password, expiresAt: 0, user: 'mallory' }, 'voxmesh')
    const relayed = findAttribute(await client.allocate(), 'XOR-RELAYED-ADDRESS')?.value as TransportAddress
    expect(relay().allocations).toBe(before.allocations + 1)
    // Someone else's relayed port on the same relay IP, and one nobody holds: nothing happens to them.
    mallory.releaseTurn([{ ip: relayed.address, port: relayed.port === 65535 ? 65534 : relayed.port + 1 }])
    await waitUntil('the refused release', () => logsOf('super1').find(l => l.msg === 'TURN allocations released after a call' && l.fields.ended === 0), 15_000)
    expect(relay().allocations).toBe(before.allocations + 1)
    mallory.releaseTurn([{ ip: relayed.address, port: relayed.port }])
    await waitUntil('the release', () => relay().allocations === before.allocations || undefined, 15_000)
  })

  it('a tampered answer (two m-lines) to a real caller: its media session refuses it, the call fails at once with the reason logged', async () => {
    const { callId } = await alice.placeCall('mallory')
    await signalToMallory('call-invite', callId)
    expect((await mallory.send('alice', { type: 'call-accept', callId })).delivered).toBe(1)
    const offer = await signalToMallory('call-offer', callId)
    const body = offer.body as unknown as CallBodyOf<'call-offer'>
    expect(body.device).toBe(malloryDevice.deviceKey)
    const offerSdp = openSealedSdp(await loadSodium(), body.sdp, malloryDevice.secretKey) as string
    expect(checkRemoteSdp(offerSdp, 'offer').ok).toBe(true)
    const answer = withSecondMLine(offerSdp.replace('a=setup:actpass', 'a=setup:active'))
    await mallory.send('alice', { type: 'call-answer', callId, device: alice.deviceKey, sdp: sealSdp(await loadSodium(), answer, alice.deviceKey) })
    const ended = await nodeEvent(alice, 'call-ended', e => e.callId === callId)
    expect(ended).toMatchObject({ reason: 'failed', peer: 'mallory' })
    expectLogged(logsOf('alice'), 'warn', /^answer SDP refused: more than one m-line$/, { callId })
    expectLogged(logsOf('alice'), 'warn', /^refused the remote answer: more than one m-line$/)
    expect(events.get(alice)?.some(e => e.event === 'call-connected' && e.callId === callId)).toBe(false)
    await signalToMallory('call-end', callId)
  })

  it('a tampered offer (no fingerprint) to a real callee: not answered, the call fails with the reason logged', async () => {
    const callId = newCallId()
    expect((await mallory.send('bob', { type: 'call-invite', callId, at: Date.now() })).delivered).toBe(1)
    await nodeEvent(bob, 'call-incoming', e => e.callId === callId) // bob answers by himself
    await signalToMallory('call-accept', callId)
    const offer = withoutFingerprint(sdpOf('offer', 'mallory'))
    await mallory.send('bob', { type: 'call-offer', callId, device: bob.deviceKey, sdp: sealSdp(await loadSodium(), offer, bob.deviceKey), relayOnly: false })
    const ended = await nodeEvent(bob, 'call-ended', e => e.callId === callId)
    expect(ended).toMatchObject({ reason: 'failed', peer: 'mallory' })
    expectLogged(logsOf('bob'), 'warn', /^media answer failed: offer refused: no a=fingerprint:sha-256$/, { callId })
    expectLogged(logsOf('bob'), 'warn', /^refused the remote offer: no a=fingerprint:sha-256$/)
    expect(malloryEvents.some(e => e.event === 'application-body' && e.body.type === 'call-answer' && e.body.callId === callId)).toBe(false)
    const end = await signalToMallory('call-end', callId)
    expect(end.body).toMatchObject({ reason: 'failed' })
  })

  it('afterwards a relay-only call between two users connects through the same relay and carries a 440 Hz tone', async () => {
    const before = relay()
    const { callId } = await alice.placeCall('bob', { tone: 440, relayOnly: true })
    const connected = await nodeEvent(alice, 'call-connected', e => e.callId === callId)
    expect(connected.path).toBe('relay')
    await new Promise(resolve => setTimeout(resolve, CALL_SECONDS * 1000))
    alice.hangup(callId)
    const ended = await nodeEvent(bob, 'call-ended', e => e.callId === callId)
    expect(ended.reason).toBe('hangup')
    const after = relay()
    expect(after.toPeer.packets + after.fromPeer.packets - before.toPeer.packets - before.fromPeer.packets).toBeGreaterThan(CALL_SECONDS * 50)

    const wav = readWavFile(ended.recording as string)
    expect(wav.sampleRate).toBe(48_000)
    const steady = wav.samples.subarray(wav.sampleRate / 2, wav.sampleRate / 2 + wav.sampleRate)
    expect(Math.abs(dominantFrequency(steady, wav.sampleRate) - 440)).toBeLessThan(3)
    expect(levelDbfs(steady)).toBeGreaterThan(-20)
  })
})

/** Makes each pair contacts through the login server's API (a request and its acceptance). */
async function makeContacts (url: string, password: string, pairs: Array<[string, string]>): Promise<void> {
  const sodium = await loadSodium()
  const clients = new Map<string, LoginClient>()
  const clientOf = async (user: string): Promise<LoginClient> => {
    let client = clients.get(user)
    if (client === undefined) {
      client = new LoginClient(url)
      await client.createSession(user, password, toBase64url(sodium.crypto_sign_keypair().publicKey))
      clients.set(user, client)
    }
    return client
  }
  for (const [from, to] of pairs) {
    await (await clientOf(from)).sendContactRequest(to)
    const addressee = await clientOf(to)
    const request = (await addressee.contactRequests()).incoming.find(r => r.from === from)
    if (request === undefined) throw new Error(`no request from ${from} to ${to}`)
    await addressee.acceptRequest(request.id)
  }
}
