// Phones for the signaling attack tests (tampered-signaling, replayed-signaling): a real
// supernode over the in-memory network with a fake clock (the harness of
// test/overlay/bad-input.test.ts), call signaling on real hosts, and a fake MediaPort (sans-IO);
// a forged or replayed envelope goes out through a hand-driven link, exactly as built.
//
// Use: `const phones = createPhones()` in a describe, `h = await phones.open()` in beforeEach and
// `await phones.close()` in afterEach; the other functions work on the harness open at the time.
import { expect } from 'vitest'
import { isCallBody } from '../../node/calls/call-bodies.js'
import { createCallSignaling, type CallEvent, type CallSignaling, type MediaPort } from '../../node/calls/signaling/signaling.js'
import type { Envelope } from '../../common/wire/signed-envelope.js'
import { checkRemoteSdp } from '../../node/media/sdp-guard.js'
import { flushAsync } from '../../node/net/fake-clock.js'
import { createSupernodeCache } from '../../node/overlay/supernode-cache.js'
import { handleDelivery } from '../../node/overlay/host/deliveries.js'
import { createSeenOneShots } from '../../node/overlay/seen-one-shots.js'
import { createHost, type Host, type HostEvent } from '../../node/overlay/host.js'
import { createPresenceBook } from '../../node/overlay/presence-book.js'
import { createHarness, recordingLogger, type Device, type Harness, type LogEntry } from '../overlay/bad-input-harness.js'
import { expectLogged, newCallId, sdpOf } from './attack-kit.js'

/** The users of the fake-clock phones: each holds the others' lookup capabilities. */
export const PHONE_USERS = ['alice', 'bob', 'carol', 'mallory']

/** A user's device: a real host registered at the harness supernode, with call signaling and a fake MediaPort. */
export interface Phone {
  user: string
  device: Device
  host: Host
  logs: LogEntry[]
  hostEvents: HostEvent[]
  events: CallEvent[]
  /** What the call signaling asked of the media layer. */
  media: { offered: string[], answered: string[], accepted: string[], closed: Set<string> }
  calls: CallSignaling
}

export interface Phones {
  /** A fresh harness (supernode, in-memory network, fake clock) that the phones live on. */
  open: () => Promise<Harness>
  /** Closes every phone, then the harness. */
  close: () => Promise<void>
  /** A new device of `user`, attached to the supernode. */
  phone: (user: string) => Promise<Phone>
  /** Runs the fake clock `ms`, then awaits `work`. */
  settle: <T>(work: Promise<T>, ms?: number) => Promise<T>
  /** Sends a signal as `from`'s host would (signed by its device); resolves with the devices reached. */
  send: (from: Phone, to: string, body: Record<string, string | number | boolean>) => Promise<number>
  /** Routes `envelope` exactly as it is through the supernode, from a fresh registered device of `user`. */
  replay: (user: string, to: string, envelope: Envelope) => Promise<number>
  /** Hands `envelope` straight to `p`'s delivery check, as a rogue supernode could. */
  deliverDirectly: (p: Phone, envelope: Envelope) => void
  stateOf: (p: Phone, callId: string) => string | undefined
  /** `caller` invites by hand and `callee` answers: the callee waits for an offer. */
  invitedAndAnswered: (caller: Phone, callee: Phone) => Promise<string>
  /** `caller`'s signaling calls; `callee`'s device accepts by hand: the caller waits for an answer. */
  calledAndAcceptedByHand: (caller: Phone, callee: Phone) => Promise<string>
  /** A proper call between the two connects, and ends with a hangup for both. */
  expectProperCall: (caller: Phone, callee: Phone) => Promise<void>
}

export function createPhones (): Phones {
  let h: Harness
  const phones: Phone[] = []

  const open = async (): Promise<Harness> => { h = await createHarness(); return h }
  const close = async (): Promise<void> => {
    for (const p of phones.splice(0)) p.host.close()
    h.close()
    await flushAsync()
  }

  const phone = async (user: string): Promise<Phone> => await openPhone(h, phones, user)

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

  const deliverDirectly = (p: Phone, envelope: Envelope): void => { deliverToPhone(h, p, envelope) }

  const stateOf = (p: Phone, callId: string): string | undefined => p.calls.calls().find(c => c.id === callId)?.state

  /** `caller` invites by hand (its own signaling knows nothing of the call) and `callee` answers: the callee waits for an offer. */
  async function invitedAndAnswered (caller: Phone, callee: Phone): Promise<string> {
    const callId = newCallId()
    expect(await send(caller, callee.user, { type: 'call-invite', callId, at: h.clock.now() })).toBe(1)
    expect(callee.events).toContainEqual({ event: 'incoming', callId, from: caller.user })
    await settle(callee.calls.answer(callId))
    expect(stateOf(callee, callId)).toBe('connecting')
    return callId
  }

  /** `caller`'s signaling calls; `callee`'s device accepts by hand: the caller sent its offer and waits for an answer. */
  async function calledAndAcceptedByHand (caller: Phone, callee: Phone): Promise<string> {
    const callId = await settle(caller.calls.call(callee.user))
    expect(callee.events).toContainEqual({ event: 'incoming', callId, from: caller.user })
    await send(callee, caller.user, { type: 'call-accept', callId })
    expect(caller.media.offered).toEqual([callId])
    expect(stateOf(caller, callId)).toBe('connecting')
    // The callee's own signaling never answered: it ignores the offer, and says so.
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

  return { open, close, phone, settle, send, replay, deliverDirectly, stateOf, invitedAndAnswered, calledAndAcceptedByHand, expectProperCall }
}

/** A new device of `user` on `h`, attached to the supernode; `phones` are all the phones there (a good answer connects them). */
async function openPhone (h: Harness, phones: Phone[], user: string): Promise<Phone> {
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

/** Hands `envelope` straight to `p`'s delivery check, as a rogue supernode could. */
function deliverToPhone (h: Harness, p: Phone, envelope: Envelope): void {
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
