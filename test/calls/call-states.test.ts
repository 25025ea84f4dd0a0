// Call states over the real overlay (in-memory network, fake clock), with the
// media behind the MediaPort interface faked: it "connects" once the caller has
// applied the callee's answer. Media itself is tested in test/media.
import { isCallBody } from '../../node/calls/call-bodies.js'
import { afterEach, describe, expect, it } from 'vitest'
import { createTestnet, type Testnet, type TestnetHost } from '../../node/testing/testnet.js'
import { createCallSignaling, type CallEvent, type CallSignaling, type CallSignalingComponents, type MediaPort } from '../../node/calls/signaling/signaling.js'
import { DEFAULT_RING_TIMEOUT_MS } from '../../node/calls/constants.js'
import { silentLogger } from '../../common/logger.js'

/** received: the types of the call bodies that reached this device, in order. */
interface Phone { host: TestnetHost, calls: CallSignaling, events: CallEvent[], received: string[], media: { offers: number, answers: number, closed: Set<string>, answersApplied: number[] } }

let net: Testnet
afterEach(() => { net?.close() })

/**
 * A CallManager on a testnet host, with a fake MediaPort that reports 'direct' once both SDPs are applied.
 * inviteReach: what this phone's supernode says its invites reached (a lost forward result can under-count).
 */
function phone (host: TestnetHost, options: { contactsOnly?: boolean, peers: () => Phone[], inviteReach?: number } = { peers: () => [] }): Phone {
  const events: CallEvent[] = []
  const media = { offers: 0, answers: 0, closed: new Set<string>(), answersApplied: [] as number[] }
  const port: MediaPort = {
    offer: async call => { media.offers++; call.media = { close: () => { media.closed.add(call.id) } }; return `v=0 offer ${call.id}` },
    answer: async (call, offer) => {
      media.answers++
      call.media = { close: () => { media.closed.add(call.id) } }
      if (!offer.includes(call.id)) throw new Error('offer is for another call')
      return `v=0 answer ${call.id}`
    },
    accept: (call, answer) => {
      if (!answer.includes(call.id)) return
      // Both ends see media come up (as ICE would tell each side).
      self.calls.mediaConnected(call.id, { path: 'direct' })
      for (const peer of options.peers()) peer.calls.mediaConnected(call.id, { path: 'direct' })
    },
    answerApplied: (_call, generation) => { media.answersApplied.push(generation) }
  }
  const received: string[] = []
  const send: CallSignalingComponents['send'] = async (to, body) => {
    const result = await host.host.send(to, body)
    return body.type === 'call-invite' && options.inviteReach !== undefined ? { delivered: options.inviteReach } : result
  }
  const self: Phone = {
    host,
    events,
    received,
    media,
    calls: createCallSignaling(
      { sodium: net.sodium, clock: net.clock, log: silentLogger, media: port, send, deviceSecretKey: host.identity.secretKey },
      {
        user: host.user,
        deviceKey: host.identity.deviceKey,
        mayCall: from => options.contactsOnly !== true || (host.contacts?.has(from) ?? false),
        onEvent: event => { events.push(event) }
      }
    )
  }
  host.onEvent = event => {
    if (event.event !== 'application-body' || !isCallBody.Check(event.body)) return
    received.push(event.body.type)
    self.calls.handleSignal(event.from, event.body)
  }
  return self
}

async function twoPhones (): Promise<[Phone, Phone]> {
  net = await createTestnet()
  await net.addSupernode('super1')
  await net.addSupernode('super2')
  const phones: Phone[] = []
  const alice = phone(net.addHost('alice', { contacts: ['bob'], supernodes: [net.supernodes[0]!.supernode.ref] }), { peers: () => phones.filter(p => p.host.user !== 'alice') })
  const bob = phone(net.addHost('bob', { contacts: ['alice', 'carol'], supernodes: [net.supernodes[1]!.supernode.ref] }), { peers: () => phones.filter(p => p.host.user !== 'bob') })
  phones.push(alice, bob)
  await net.run(1500)
  return [alice, bob]
}

/** Alice on super1, bob's laptop on super1 and his phone on super2. */
async function aliceAndTwoBobs (inviteReach?: number): Promise<[Phone, Phone, Phone]> {
  net = await createTestnet()
  await net.addSupernode('super1')
  await net.addSupernode('super2')
  const phones: Phone[] = []
  const alice = phone(net.addHost('alice', { contacts: ['bob'], supernodes: [net.supernodes[0]!.supernode.ref] }), { peers: () => phones.filter(p => p.host.user === 'bob'), inviteReach })
  const bobLaptop = phone(net.addHost('bob', { contacts: ['alice'], supernodes: [net.supernodes[0]!.supernode.ref] }), { peers: () => [alice] })
  const bobPhone = phone(net.addHost('bob', { contacts: ['alice'], supernodes: [net.supernodes[1]!.supernode.ref] }), { peers: () => [alice] })
  phones.push(alice, bobLaptop, bobPhone)
  await net.run(1500)
  return [alice, bobLaptop, bobPhone]
}

const last = (p: Phone): CallEvent | undefined => p.events.at(-1)

/** Awaits protocol work while simulated time passes (the overlay moves on the fake clock). */
async function settle<T> (work: Promise<T>, ms = 300): Promise<T> {
  await net.run(ms)
  return await work
}

describe('call states', () => {
  it('rings, connects on answer, and ends on the caller\'s hangup for both', async () => {
    const [alice, bob] = await twoPhones()
    const id = await settle(alice.calls.call('bob'))
    expect(bob.events).toContainEqual({ event: 'incoming', callId: id, from: 'alice' })
    expect(alice.events).toContainEqual({ event: 'ringing', callId: id, peer: 'bob' })
    await settle(bob.calls.answer())
    expect(alice.events).toContainEqual(expect.objectContaining({ event: 'connected', callId: id, path: 'direct' }))
    expect(bob.events).toContainEqual(expect.objectContaining({ event: 'connected', callId: id, path: 'direct' }))
    expect(alice.calls.calls()[0]).toMatchObject({ state: 'connected', peer: 'bob', direction: 'outgoing' })
    // The invite rang one device, which answered: no "answered elsewhere" follows the offer.
    // The caller says it applied the answer, so the callee's media may reach it at once.
    expect(bob.received).toEqual(['call-invite', 'call-offer', 'call-answer-applied'])
    expect(bob.media.answersApplied).toEqual([0])
    expect(alice.media.answersApplied).toEqual([])
    await net.run(2000)
    alice.calls.hangup()
    await net.run(300)
    expect(last(alice)).toMatchObject({ event: 'ended', reason: 'hangup' })
    expect(last(bob)).toMatchObject({ event: 'ended', reason: 'hangup' })
    expect((last(alice) as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(2000)
    expect(alice.media.closed.has(id) && bob.media.closed.has(id)).toBe(true)
  })

  it('takes call-answer-applied only once it answered, only for its own device', async () => {
    const [alice, bob] = await twoPhones()
    const id = await settle(alice.calls.call('bob'))
    const applied = (device: string, generation: number): Record<string, string | number> => ({ type: 'call-answer-applied', from: 'alice', to: 'bob', callId: id, device, generation })
    // Still ringing: nothing of ours to release.
    await settle(alice.host.host.send('bob', applied(bob.host.identity.deviceKey, 0)))
    expect(bob.media.answersApplied).toEqual([])
    await settle(bob.calls.answer())
    expect(bob.media.answersApplied).toEqual([0])
    // Addressed to another device (alice's own key stands in for one).
    await settle(alice.host.host.send('bob', applied(alice.host.identity.deviceKey, 0)))
    expect(bob.media.answersApplied).toEqual([0])
    await settle(alice.host.host.send('bob', applied(bob.host.identity.deviceKey, 3)))
    expect(bob.media.answersApplied).toEqual([0, 3])
  })

  it('close() hangs up every call and resolves only once the hangup is out: the host can close right after', async () => {
    const [alice, bob] = await twoPhones()
    const id = await settle(alice.calls.call('bob'))
    await settle(bob.calls.answer())
    let closed = false
    void Promise.resolve(alice.calls.close()).then(() => { closed = true })
    await net.run(0)
    expect(last(alice)).toMatchObject({ event: 'ended', callId: id, reason: 'hangup' })
    // Until the supernode has taken the hangup, close() is still waiting.
    expect(closed).toBe(false)
    for (let waited = 0; !closed && waited < 1000; waited += 10) await net.run(10)
    expect(closed).toBe(true)
    alice.host.host.close()
    await net.run(300)
    expect(last(bob)).toMatchObject({ event: 'ended', callId: id, reason: 'hangup' })
  })

  it('ends for both when the callee hangs up', async () => {
    const [alice, bob] = await twoPhones()
    await settle(alice.calls.call('bob'))
    await settle(bob.calls.answer())
    bob.calls.hangup()
    await net.run(300)
    expect(last(alice)).toMatchObject({ event: 'ended', reason: 'hangup' })
    expect(last(bob)).toMatchObject({ event: 'ended', reason: 'hangup' })
  })

  it('reports a decline to the caller, with a message', async () => {
    const [alice, bob] = await twoPhones()
    await settle(alice.calls.call('bob'))
    bob.calls.decline()
    await net.run(300)
    expect(last(alice)).toMatchObject({ event: 'ended', reason: 'declined', message: 'bob declined the call' })
    expect(last(bob)).toMatchObject({ event: 'ended', reason: 'declined', message: 'you declined the call' })
    expect(alice.media.offers).toBe(0)
  })

  it('reports busy when the callee is already in a call', async () => {
    const [alice, bob] = await twoPhones()
    const carol = phone(net.addHost('carol', { contacts: ['bob'], supernodes: [net.supernodes[0]!.supernode.ref] }))
    await net.run(500)
    await settle(alice.calls.call('bob'))
    await settle(bob.calls.answer())
    await settle(carol.calls.call('bob'))
    expect(last(carol)).toMatchObject({ event: 'ended', reason: 'busy', message: 'bob is busy' })
    expect(bob.calls.calls().filter(c => c.state !== 'ended')).toHaveLength(1)
  })

  it('cancels before an answer: the callee stops ringing', async () => {
    const [alice, bob] = await twoPhones()
    await settle(alice.calls.call('bob'))
    alice.calls.hangup()
    await net.run(300)
    expect(last(alice)).toMatchObject({ event: 'ended', reason: 'cancelled' })
    expect(last(bob)).toMatchObject({ event: 'ended', reason: 'cancelled', message: 'missed call from alice (they hung up before you answered)' })
    expect(() => { bob.calls.decline() }).toThrow(/no incoming call/)
  })

  it('gives up with no-answer after the ring timeout', async () => {
    const [alice, bob] = await twoPhones()
    await settle(alice.calls.call('bob'), 100)
    await net.run(DEFAULT_RING_TIMEOUT_MS - 1100, 100)
    expect(alice.events.some(e => e.event === 'ended')).toBe(false)
    await net.run(1500, 100)
    expect(last(alice)).toMatchObject({ event: 'ended', reason: 'no-answer', message: 'bob did not answer' })
    // The callee missed it: not "alice did not answer".
    expect(last(bob)).toMatchObject({ event: 'ended', reason: 'no-answer', message: 'missed call from alice' })
  })

  it('says unreachable when the callee is offline', async () => {
    const [alice] = await twoPhones()
    await settle(alice.calls.call('nobody'))
    expect(last(alice)).toMatchObject({ event: 'ended', reason: 'unreachable', message: 'nobody is offline or unreachable' })
  })

  it('declines calls from non-contacts when the callee takes contacts only', async () => {
    const [, bob] = await twoPhones()
    // A non-contact cannot even find dave; a removed contact still holding dave's lookup capability can.
    const mallory = phone(net.addHost('mallory', { capabilitiesFor: ['dave'], supernodes: [net.supernodes[0]!.supernode.ref] }))
    const dave = phone(net.addHost('dave', { contacts: [], capabilitiesFor: ['mallory'], supernodes: [net.supernodes[1]!.supernode.ref] }), { contactsOnly: true, peers: () => [] })
    await net.run(500)
    await settle(mallory.calls.call('dave'))
    expect(last(mallory)).toMatchObject({ event: 'ended', reason: 'not-allowed', message: 'dave only takes calls from contacts' })
    expect(dave.events).toEqual([])
    expect(bob.events).toEqual([])
  })

  it('rings both devices of a user; the first to answer takes the call and the other stops', async () => {
    const [alice, bobLaptop, bobPhone] = await aliceAndTwoBobs()
    const id = await settle(alice.calls.call('bob'))
    expect(bobLaptop.events).toContainEqual({ event: 'incoming', callId: id, from: 'alice' })
    expect(bobPhone.events).toContainEqual({ event: 'incoming', callId: id, from: 'alice' })
    await settle(bobPhone.calls.answer())
    expect(last(bobLaptop)).toMatchObject({ event: 'ended', reason: 'answered-elsewhere' })
    expect(bobPhone.events).toContainEqual(expect.objectContaining({ event: 'connected', callId: id }))
    expect(alice.events).toContainEqual(expect.objectContaining({ event: 'connected', callId: id }))
    // Only the answering device got the (sealed) offer.
    expect(bobPhone.media.answers).toBe(1)
    expect(bobLaptop.media.answers).toBe(0)
  })

  it('tells the other device even when the invite\'s reach is under-counted as one: it heard that device ring', async () => {
    const [alice, bobLaptop, bobPhone] = await aliceAndTwoBobs(1)
    await settle(alice.calls.call('bob'))
    await settle(bobPhone.calls.answer())
    expect(last(bobLaptop)).toMatchObject({ event: 'ended', reason: 'answered-elsewhere' })
    expect([...bobPhone.received].sort()).toEqual(['call-answer-applied', 'call-end', 'call-invite', 'call-offer'])
  })
})
