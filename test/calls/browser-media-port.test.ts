// The media port of a browser call (browser-media-port.ts), sans-IO on a manual clock: the steps
// it sends the page as browser-media events, the page's replies (SDP through the guard, its
// media's state and stats), its timeouts, its close, and byMediaEnd's routing.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { byMediaEnd, createBrowserMediaPort, type BrowserMediaPort } from '../../node/calls/browser-media-port.js'
import { Call, type CallInit } from '../../node/calls/call.js'
import type { BrowserMediaEvent, CallPath, CallProgressEvent } from '../../node/calls/call-types.js'
import { BROWSER_SDP_TIMEOUT_MS } from '../../node/calls/constants.js'
import type { MediaPort } from '../../node/calls/signaling/context.js'
import type { CallSignaling } from '../../node/calls/signaling/signaling.js'
import { checkRemoteSdp } from '../../node/media/sdp-guard.js'
import type { TurnServerCredentials } from '../../node/overlay/host.js'
import { FakeClock, flushAsync } from '../../node/net/fake-clock.js'

import { ANSWER, BAD_SDP, OFFER } from '../media/sdp-fixtures.js'

const TURN: TurnServerCredentials = { host: '198.18.0.1', port: 3478, username: 'user1', password: 'secret1', ttlSeconds: 600 }

interface Harness {
  clock: FakeClock
  port: BrowserMediaPort
  events: Array<BrowserMediaEvent | CallProgressEvent>
  connected: Array<{ callId: string, info: { path: CallPath, relay?: string } }>
  failed: Array<{ callId: string, reason: string }>
  newCall: (init?: Partial<CallInit>) => Call
}

function setup (turnCredentials: () => Promise<TurnServerCredentials | undefined> = async () => TURN): Harness {
  const clock = new FakeClock()
  const events: Harness['events'] = []
  const connected: Harness['connected'] = []
  const failed: Harness['failed'] = []
  const signaling: Pick<CallSignaling, 'mediaConnected' | 'mediaFailed'> = {
    mediaConnected: (callId, info) => { connected.push({ callId, info }) },
    mediaFailed: (callId, reason) => { failed.push({ callId, reason }) }
  }
  const port = createBrowserMediaPort({ clock, log: silentLogger, turnCredentials, signaling: () => signaling as CallSignaling, emit: event => { events.push(event) } })
  let next = 1
  const newCall = (init: Partial<CallInit> = {}): Call =>
    new Call(clock, silentLogger, { id: `call-${next++}`, direction: 'outgoing', peer: 'bob', state: 'connecting', relayOnly: false, mediaPage: 'page-1', ...init })
  return { clock, port, events, connected, failed, newCall }
}

/** Lets the port's awaits (the TURN credentials) run, so the event it sends is out. */
async function settle (): Promise<void> { await flushAsync() }

/** A promise's outcome without awaiting it: what it settled to so far. */
function track<T> (promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected', value?: T, error?: unknown } {
  const outcome: { state: 'pending' | 'resolved' | 'rejected', value?: T, error?: unknown } = { state: 'pending' }
  promise.then(value => { outcome.state = 'resolved'; outcome.value = value }, (error: unknown) => { outcome.state = 'rejected'; outcome.error = error })
  return outcome
}

describe('a browser call\'s offer', () => {
  it('asks the page once, with its page id, relayOnly and the TURN relay, and resolves with the page\'s SDP', async () => {
    const { port, events, newCall } = setup()
    const call = newCall({ relayOnly: true })
    const offer = port.offer(call, { relayOnly: true })
    await settle()
    expect(events).toEqual([{
      event: 'browser-media', page: 'page-1', callId: call.id, step: 'offer', relayOnly: true,
      iceServers: [{ urls: 'turn:198.18.0.1:3478?transport=udp', username: 'user1', credential: 'secret1' }]
    }])
    port.reply(call, { page: 'page-1', step: 'sdp', sdp: OFFER })
    expect(await offer).toBe(OFFER)
    expect(events).toHaveLength(1)
  })

  it('names an IPv6 relay in brackets', async () => {
    const { port, events, newCall } = setup(async () => ({ ...TURN, host: '2001:db8::1' }))
    const call = newCall()
    void port.offer(call, { relayOnly: false }).catch(() => {})
    await settle()
    expect(events[0]).toMatchObject({ step: 'offer', iceServers: [{ urls: 'turn:[2001:db8::1]:3478?transport=udp' }] })
  })

  it('gives no ICE servers when there are no TURN credentials, or asking for them fails', async () => {
    for (const turn of [async () => undefined, async () => { throw new Error('no supernode') }]) {
      const { port, events, newCall } = setup(turn)
      const call = newCall()
      const offer = port.offer(call, { relayOnly: false })
      await settle()
      expect(events[0]).toMatchObject({ step: 'offer', relayOnly: false, iceServers: [] })
      port.reply(call, { page: 'page-1', step: 'sdp', sdp: OFFER })
      expect(await offer).toBe(OFFER)
    }
  })

  it('rejects a page SDP the guard refuses, with "refused" in the message', async () => {
    const { port, newCall } = setup()
    const call = newCall()
    const offer = port.offer(call, { relayOnly: false })
    await settle()
    expect(checkRemoteSdp(BAD_SDP, 'offer').ok).toBe(false)
    port.reply(call, { page: 'page-1', step: 'sdp', sdp: BAD_SDP })
    await expect(offer).rejects.toThrow(/refused/)
  })

  it('rejects when the page gives no SDP within BROWSER_SDP_TIMEOUT_MS', async () => {
    const { clock, port, newCall } = setup()
    const call = newCall()
    const outcome = track(port.offer(call, { relayOnly: false }))
    await settle()
    clock.advance(BROWSER_SDP_TIMEOUT_MS - 1)
    await settle()
    expect(outcome.state).toBe('pending')
    clock.advance(1)
    await settle()
    expect(outcome.state).toBe('rejected')
    expect(String(outcome.error)).toMatch(/no SDP within 20 s/)
    // Late SDP finds nothing waiting.
    expect(() => { port.reply(call, { page: 'page-1', step: 'sdp', sdp: OFFER }) }).toThrow(expect.objectContaining({ code: 'not_expected' }))
  })

  it('refuses to recover: a generation 1 offer rejects', async () => {
    const { port, events, newCall } = setup()
    const call = newCall()
    await expect(port.offer(call, { relayOnly: false, generation: 1 })).rejects.toThrow(/does not recover/)
    expect(events).toEqual([])
  })

  it('uses the offer prepare() asked for while the call rang: the page is asked once', async () => {
    const { port, events, newCall } = setup()
    const call = newCall({ state: 'ringing' })
    port.prepare?.(call)
    port.prepare?.(call)
    await settle()
    expect(events.filter(event => event.event === 'browser-media' && event.step === 'offer')).toHaveLength(1)
    port.reply(call, { page: 'page-1', step: 'sdp', sdp: OFFER })
    expect(await port.offer(call, { relayOnly: false })).toBe(OFFER)
    expect(events).toHaveLength(1)
  })

  it('prepares nothing for an incoming call', async () => {
    const { port, events, newCall } = setup()
    port.prepare?.(newCall({ direction: 'incoming', state: 'ringing' }))
    await settle()
    expect(events).toEqual([])
  })
})

describe('a browser call\'s answer and accept', () => {
  it('asks the page to answer the peer\'s offer and resolves with its answer', async () => {
    const { port, events, newCall } = setup(async () => undefined)
    const call = newCall({ direction: 'incoming' })
    const answer = port.answer(call, OFFER, { relayOnly: true })
    await settle()
    expect(events).toEqual([{ event: 'browser-media', page: 'page-1', callId: call.id, step: 'answer', offer: OFFER, relayOnly: true, iceServers: [] }])
    port.reply(call, { page: 'page-1', step: 'sdp', sdp: ANSWER })
    expect(await answer).toBe(ANSWER)
  })

  it('refuses a page answer with a=setup:actpass', async () => {
    const { port, newCall } = setup()
    const call = newCall({ direction: 'incoming' })
    const answer = port.answer(call, OFFER, { relayOnly: false })
    await settle()
    port.reply(call, { page: 'page-1', step: 'sdp', sdp: OFFER })
    await expect(answer).rejects.toThrow(/refused/)
  })

  it('rejects a bad offer from the peer before any event goes to the page', async () => {
    const { port, events, newCall } = setup()
    const call = newCall({ direction: 'incoming' })
    await expect(port.answer(call, BAD_SDP, { relayOnly: false })).rejects.toThrow(/offer refused/)
    await settle()
    expect(events).toEqual([])
    expect(call.media).toBeUndefined()
  })

  it('refuses a generation 1 answer or accept', async () => {
    const { port, events, newCall } = setup()
    const call = newCall()
    await expect(port.answer(call, OFFER, { relayOnly: false, generation: 1 })).rejects.toThrow(/does not recover/)
    expect(() => { port.accept(call, ANSWER, 1) }).toThrow(/does not recover/)
    expect(events).toEqual([])
  })

  it('accept passes the peer\'s answer to the page, and throws on one the guard refuses', () => {
    const { port, events, newCall } = setup()
    const call = newCall()
    expect(() => { port.accept(call, OFFER) }).toThrow(/actpass/)
    expect(events).toEqual([])
    port.accept(call, ANSWER)
    expect(events).toEqual([{ event: 'browser-media', page: 'page-1', callId: call.id, step: 'accept', answer: ANSWER }])
  })
})

describe('the page\'s replies', () => {
  /** A call whose media side is open at the page (the peer's answer was passed on). */
  function acceptedCall (harness: Harness): Call {
    const call = harness.newCall()
    harness.port.accept(call, ANSWER)
    return call
  }

  it('reply \'sdp\' when none was asked throws not_expected', () => {
    const harness = setup()
    const call = acceptedCall(harness)
    expect(() => { harness.port.reply(call, { page: 'page-1', step: 'sdp', sdp: OFFER }) }).toThrow(expect.objectContaining({ code: 'not_expected' }))
  })

  it('a reply for a call with no browser media, or one that ended, throws no_such_call', () => {
    const harness = setup()
    const fresh = harness.newCall()
    expect(() => { harness.port.reply(fresh, { page: 'page-1', step: 'connected', path: 'direct' }) }).toThrow(expect.objectContaining({ code: 'no_such_call' }))
    const ended = acceptedCall(harness)
    ended.state = 'ended'
    expect(() => { harness.port.reply(ended, { page: 'page-1', step: 'connected', path: 'direct' }) }).toThrow(expect.objectContaining({ code: 'no_such_call' }))
    expect(harness.connected).toEqual([])
  })

  it('\'connected\' tells the signaling once, however often the page says it', () => {
    const harness = setup()
    const call = acceptedCall(harness)
    harness.port.reply(call, { page: 'page-1', step: 'connected', path: 'direct' })
    harness.port.reply(call, { page: 'page-1', step: 'connected', path: 'direct' })
    expect(harness.connected).toEqual([{ callId: call.id, info: { path: 'direct', relay: undefined } }])
  })

  it('\'connected\' over a relay names it', () => {
    const harness = setup()
    const call = acceptedCall(harness)
    harness.port.reply(call, { page: 'page-1', step: 'connected', path: 'relay' })
    expect(harness.connected).toHaveLength(1)
    expect(harness.connected[0]?.info).toMatchObject({ path: 'relay', relay: expect.any(String) })
  })

  it('\'failed\' tells the signaling the media failed', () => {
    const harness = setup()
    const call = acceptedCall(harness)
    harness.port.reply(call, { page: 'page-1', step: 'failed', reason: 'ICE failed' })
    expect(harness.failed).toEqual([{ callId: call.id, reason: 'browser media: ICE failed' }])
    expect(harness.connected).toEqual([])
  })

  it('\'stats\' emits call-stats with a MOS in 1–4.5, and statsOf returns them', () => {
    const harness = setup()
    const call = acceptedCall(harness)
    expect(harness.port.statsOf(call)).toBeUndefined()
    harness.port.reply(call, { page: 'page-1', step: 'stats', path: 'direct', rttMs: 40, jitterMs: 3, lossPct: 1, bitrateKbps: 32, bufferDelayMs: 60, packetsSent: 500, packetsReceived: 495 })
    const stats = harness.events.filter(event => event.event === 'call-stats')
    expect(stats).toHaveLength(1)
    const event = stats[0] as CallProgressEvent & { event: 'call-stats' }
    expect(event).toMatchObject({ callId: call.id, path: 'direct', rttMs: 40, jitterMs: 3, lossPct: 1, bitrateKbps: 32, packetsSent: 500, packetsReceived: 495 })
    expect(event.mos).toBeGreaterThanOrEqual(1)
    expect(event.mos).toBeLessThanOrEqual(4.5)
    expect(event).not.toHaveProperty('bufferDelayMs')
    const { event: _, callId: __, ...figures } = event
    expect(harness.port.statsOf(call)).toEqual(figures)
  })

  it('a worse link gets a lower MOS', () => {
    const harness = setup()
    const good = acceptedCall(harness)
    const bad = acceptedCall(harness)
    const base = { page: 'page-1', step: 'stats' as const, path: 'direct' as const, jitterMs: 3, bitrateKbps: 32, packetsSent: 500, packetsReceived: 495 }
    harness.port.reply(good, { ...base, rttMs: 20, lossPct: 0, bufferDelayMs: 40 })
    harness.port.reply(bad, { ...base, rttMs: null, lossPct: 20, bufferDelayMs: 400 })
    expect(harness.port.statsOf(bad)?.mos).toBeLessThan(harness.port.statsOf(good)?.mos as number)
    expect(harness.port.statsOf(bad)?.mos).toBeGreaterThanOrEqual(1)
  })

  it('statsOf is undefined for a call whose media is not the page\'s', () => {
    const harness = setup()
    const call = harness.newCall({ mediaPage: undefined })
    call.media = { close: () => {} }
    expect(harness.port.statsOf(call)).toBeUndefined()
  })
})

describe('closing a browser call', () => {
  it('call.close() tells the page (once) and rejects the SDP it waits for', async () => {
    const { clock, port, events, newCall } = setup()
    const call = newCall()
    const outcome = track(port.offer(call, { relayOnly: false }))
    await settle()
    await call.close()
    await call.close()
    await settle()
    expect(outcome.state).toBe('rejected')
    expect(String(outcome.error)).toMatch(/ended/)
    expect(events.filter(event => event.event === 'browser-media' && event.step === 'close')).toEqual([{ event: 'browser-media', page: 'page-1', callId: call.id, step: 'close' }])
    // The SDP timer went with it.
    expect(clock.pending).toBe(0)
  })

  it('closing the media side itself does the same', async () => {
    const { port, events, newCall } = setup()
    const call = newCall({ direction: 'incoming' })
    const outcome = track(port.answer(call, OFFER, { relayOnly: false }))
    await settle()
    await call.media?.close()
    await settle()
    expect(outcome.state).toBe('rejected')
    expect(events.at(-1)).toEqual({ event: 'browser-media', page: 'page-1', callId: call.id, step: 'close' })
  })

  it('a call the page never opened media for closes without an event', async () => {
    const { events, newCall } = setup()
    await newCall().close()
    expect(events).toEqual([])
  })
})

describe('byMediaEnd', () => {
  /** A port that records which steps it was given. */
  function recordingPort (name: string, log: string[]): MediaPort {
    return {
      prepare: call => { log.push(`${name} prepare ${call.id}`) },
      offer: async call => { log.push(`${name} offer ${call.id}`); return `${name}-offer` },
      answer: async call => { log.push(`${name} answer ${call.id}`); return `${name}-answer` },
      accept: call => { log.push(`${name} accept ${call.id}`) },
      answerApplied: (call, generation) => { log.push(`${name} answer-applied ${call.id} ${generation}`) }
    }
  }

  it('routes a call with a mediaPage to the browser port, one without to the node port', async () => {
    const log: string[] = []
    const port = byMediaEnd(recordingPort('node', log), recordingPort('browser', log))
    const { newCall } = setup()
    const browserCall = newCall({ id: 'b', mediaPage: 'page-1' })
    const nodeCall = newCall({ id: 'n', mediaPage: undefined })
    for (const call of [browserCall, nodeCall]) {
      port.prepare?.(call)
      port.accept(call, ANSWER)
      port.answerApplied?.(call, 0)
    }
    expect(await port.offer(browserCall, { relayOnly: false })).toBe('browser-offer')
    expect(await port.offer(nodeCall, { relayOnly: false })).toBe('node-offer')
    expect(await port.answer(browserCall, OFFER, { relayOnly: false })).toBe('browser-answer')
    expect(await port.answer(nodeCall, OFFER, { relayOnly: false })).toBe('node-answer')
    expect(log).toEqual([
      'browser prepare b', 'browser accept b', 'browser answer-applied b 0', 'node prepare n', 'node accept n', 'node answer-applied n 0',
      'browser offer b', 'node offer n', 'browser answer b', 'node answer n'
    ])
  })

  it('follows mediaPage when it is set after the call was made (an answer from the page)', async () => {
    const log: string[] = []
    const port = byMediaEnd(recordingPort('node', log), recordingPort('browser', log))
    const call = setup().newCall({ id: 'c', mediaPage: undefined, direction: 'incoming' })
    call.mediaPage = 'page-2'
    expect(await port.answer(call, OFFER, { relayOnly: false })).toBe('browser-answer')
    expect(log).toEqual(['browser answer c'])
  })
})
