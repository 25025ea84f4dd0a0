// The control API's call routes through inject(): each route against the fake
// node, the bounds of every field, bad bodies, and how the node's refusals map.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UserError } from '../../common/user-error.js'
import { callError } from '../../node/calls/errors.js'
import { buildControlApp, type ControlApp } from '../../node/control/server.js'
import { MAX_PATH_CHARS } from '../../node/control/constants.js'
import type { NodeEvent } from '../../node/runtime/api.js'
import { FakeNodeApi } from './fake-node-api.js'
import { AUTH, TOKEN } from './helpers.js'
import { waitUntil } from '../helpers/wait.js'

let api: FakeNodeApi
let app: ControlApp
let events: NodeEvent[]

beforeEach(() => {
  api = new FakeNodeApi('alice')
  app = buildControlApp(api, TOKEN)
  events = []
  api.subscribe(event => { events.push(event) })
})
afterEach(async () => {
  await app.close()
  await api.close()
})

const post = async (url: string, payload: unknown) =>
  await app.inject({ method: 'POST', url, headers: AUTH, payload: payload as object })

describe('POST /v1/calls', () => {
  it('places a call to the lower-cased name and answers with its id', async () => {
    const res = await post('/v1/calls', { to: 'Bob' })
    expect(res.statusCode).toBe(200)
    const { callId } = res.json()
    expect(callId).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(Object.keys(res.json())).toEqual(['callId'])
    expect(api.invocations).toEqual(['placeCall bob'])
    expect(api.callOptions.get(callId)).toEqual({})
    expect(api.call(callId)?.peer).toBe('bob')
  })

  it('passes play, record and relayOnly through as given, and tone instead of play', async () => {
    const placed = await post('/v1/calls', { to: 'bob', play: '/tmp/hello.wav', record: 'relative/out.wav', overwrite: true, relayOnly: true })
    expect(placed.statusCode).toBe(200)
    expect(api.callOptions.get(placed.json().callId)).toEqual({ play: '/tmp/hello.wav', record: 'relative/out.wav', overwrite: true, relayOnly: true })
    const toned = await post('/v1/calls', { to: 'carol', tone: 440.5, relayOnly: false })
    expect(api.callOptions.get(toned.json().callId)).toEqual({ tone: 440.5 })
  })

  it('takes tones from 20 to 20000 Hz and paths up to the limit', async () => {
    for (const tone of [20, 20_000]) expect((await post('/v1/calls', { to: 'bob', tone })).statusCode).toBe(200)
    const longest = '/' + 'p'.repeat(MAX_PATH_CHARS - 1)
    expect((await post('/v1/calls', { to: 'bob', play: longest, record: longest })).statusCode).toBe(200)
    expect(api.invocations.filter(c => c === 'placeCall bob')).toHaveLength(3)
  })

  it('answers 200 with the id even when the call ended before placeCall returned (unreachable)', async () => {
    api.callOutcomes.set('dave', 'unreachable')
    const res = await post('/v1/calls', { to: 'dave' })
    expect(res.statusCode).toBe(200)
    expect(events).toEqual([expect.objectContaining({ event: 'call-ended', callId: res.json().callId, reason: 'unreachable' })])
  })

  it('streams the call\'s progress as events: ringing, then connected', async () => {
    const { callId } = (await post('/v1/calls', { to: 'bob' })).json()
    await waitUntil('the call to connect', () => events.length === 2, 5000)
    expect(events).toEqual([
      { event: 'call-ringing', callId, peer: 'bob' },
      { event: 'call-connected', callId, peer: 'bob', path: 'direct', setupMs: 85 }
    ])
  })
})

describe('the other call routes', () => {
  it('POST /v1/calls/answer answers the only ringing call, or the one a prefix names, with the audio given', async () => {
    const first = api.addIncomingCall('carol')
    const res = await post('/v1/calls/answer', {})
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ callId: first })
    expect(api.callOptions.get(first)).toBeUndefined()
    const second = api.addIncomingCall('dave')
    const prefixed = await post('/v1/calls/answer', { callId: second.slice(0, 8), tone: 1000, record: '/tmp/dave.wav', overwrite: true })
    expect(prefixed.json()).toEqual({ callId: second })
    expect(api.callOptions.get(second)).toEqual({ tone: 1000, record: '/tmp/dave.wav', overwrite: true })
    expect(api.invocations).toEqual(['answerCall', `answerCall ${second.slice(0, 8)}`])
  })

  it('POST /v1/calls/decline ends the ringing call as declined', async () => {
    const callId = api.addIncomingCall('carol')
    const res = await post('/v1/calls/decline', { callId })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'declined' })
    expect(api.call(callId)?.state).toBe('ended')
    expect(events.at(-1)).toMatchObject({ event: 'call-ended', callId, reason: 'declined' })
  })

  it('POST /v1/calls/hangup ends a connected call as a hang-up, and cancels a ringing one', async () => {
    const { callId } = (await post('/v1/calls', { to: 'bob' })).json()
    await waitUntil('the call to connect', () => api.call(callId)?.state === 'connected', 5000)
    const res = await post('/v1/calls/hangup', {})
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ended' })
    expect(events.at(-1)).toMatchObject({ event: 'call-ended', callId, reason: 'hangup' })
    api.callOutcomes.set('carol', 'ring')
    const ringing = (await post('/v1/calls', { to: 'carol' })).json().callId
    expect((await post('/v1/calls/hangup', { callId: ringing })).statusCode).toBe(200)
    expect(events.at(-1)).toMatchObject({ event: 'call-ended', callId: ringing, reason: 'cancelled' })
  })

  it('POST /v1/calls/mute mutes and unmutes', async () => {
    const callId = api.addIncomingCall('carol')
    const muted = await post('/v1/calls/mute', { callId, muted: true })
    expect(muted.statusCode).toBe(200)
    expect(muted.json()).toEqual({ muted: true })
    expect(api.call(callId)?.muted).toBe(true)
    expect((await post('/v1/calls/mute', { muted: false })).json()).toEqual({ muted: false })
    expect(api.call(callId)?.muted).toBe(false)
  })

  it('GET /v1/calls lists calls with their latest stats, and keeps fields it does not declare', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: AUTH })).json()).toEqual({ calls: [] })
    const callId = api.addIncomingCall('carol')
    api.emitStats(callId, { rttMs: null, mos: 3.9 })
    const res = await app.inject({ method: 'GET', url: '/v1/calls', headers: AUTH })
    expect(res.statusCode).toBe(200)
    const [call] = res.json().calls
    expect(call).toMatchObject({ callId, direction: 'incoming', peer: 'carol', state: 'ringing', muted: false })
    expect(call.stats).toEqual({ path: 'direct', rttMs: null, jitterMs: 3.1, lossPct: 0.5, bitrateKbps: 24, mos: 3.9, packetsSent: 50, packetsReceived: 49 })
    const extended = new FakeNodeApi('alice')
    extended.calls = () => [{ callId: 'x'.repeat(16), direction: 'outgoing', peer: 'bob', state: 'connected', startedAt: 1, muted: false, recording: '/r.wav' } as never]
    const extendedApp = buildControlApp(extended, TOKEN)
    expect((await extendedApp.inject({ method: 'GET', url: '/v1/calls', headers: AUTH })).json().calls[0].recording).toBe('/r.wav')
    await extendedApp.close()
  })
})

describe('bad call requests', () => {
  const long = 'p'.repeat(MAX_PATH_CHARS + 1)
  const cases: Array<[string, string, unknown, string]> = [
    ['a call without to', '/v1/calls', {}, 'invalid_request'],
    ['a call to an invalid name', '/v1/calls', { to: 'b!' }, 'invalid_username'],
    ['a call with an unknown field', '/v1/calls', { to: 'bob', video: true }, 'invalid_request'],
    ['a tone below 20 Hz', '/v1/calls', { to: 'bob', tone: 19.9 }, 'invalid_request'],
    ['a tone above 20000 Hz', '/v1/calls', { to: 'bob', tone: 20_001 }, 'invalid_request'],
    ['a tone as a string', '/v1/calls', { to: 'bob', tone: '440' }, 'invalid_request'],
    ['play and tone together', '/v1/calls', { to: 'bob', play: '/a.wav', tone: 440 }, 'invalid_request'],
    ['a play path over the limit', '/v1/calls', { to: 'bob', play: long }, 'invalid_request'],
    ['a record path over the limit', '/v1/calls', { to: 'bob', record: long }, 'invalid_request'],
    ['an empty play path', '/v1/calls', { to: 'bob', play: '' }, 'invalid_request'],
    ['a path with a NUL', '/v1/calls', { to: 'bob', record: '/tmp/a\u0000b.wav' }, 'invalid_request'],
    ['relayOnly as a string', '/v1/calls', { to: 'bob', relayOnly: 'yes' }, 'invalid_request'],
    ['overwrite as a string', '/v1/calls', { to: 'bob', record: '/a.wav', overwrite: 'yes' }, 'invalid_request'],
    ['an answer with play and tone', '/v1/calls/answer', { play: '/a.wav', tone: 440 }, 'invalid_request'],
    ['an answer with a tone out of range', '/v1/calls/answer', { tone: 5 }, 'invalid_request'],
    ['an answer with an unknown field', '/v1/calls/answer', { relayOnly: true }, 'invalid_request'],
    ['a call id with a slash', '/v1/calls/hangup', { callId: '../x' }, 'invalid_request'],
    ['an empty call id', '/v1/calls/decline', { callId: '' }, 'invalid_request'],
    ['a call id over 32 characters', '/v1/calls/hangup', { callId: 'a'.repeat(33) }, 'invalid_request'],
    ['a numeric call id', '/v1/calls/answer', { callId: 12345678 }, 'invalid_request'],
    ['mute without muted', '/v1/calls/mute', {}, 'invalid_request'],
    ['mute with muted as a string', '/v1/calls/mute', { muted: 'true' }, 'invalid_request'],
    ['a hangup with an unknown field', '/v1/calls/hangup', { all: true }, 'invalid_request']
  ]
  for (const [what, url, payload, code] of cases) {
    it(`answers 400 ${code} to ${what}, without calling the node`, async () => {
      const res = await post(url, payload)
      expect(res.statusCode).toBe(400)
      expect(res.json().error.code).toBe(code)
      expect(typeof res.json().error.message).toBe('string')
      expect(api.invocations).toEqual([])
    })
  }

  it('says which of play and tone to drop', async () => {
    const res = await post('/v1/calls', { to: 'bob', play: '/a.wav', tone: 440 })
    expect(res.json().error.message).toBe('give play or tone, not both')
  })

  it('words a bad username as a sentence about usernames, whichever check refused it', async () => {
    const rule = 'usernames are 3–32 characters of a-z, 0-9, ".", "_" or "-"'
    const cases: Array<[string, unknown, string]> = [
      ['/v1/calls', { to: 'b!' }, `"b!" is not a valid username: ${rule}`],
      ['/v1/calls', { to: 'x' }, `"x" is not a valid username: ${rule}`],
      ['/v1/calls', { to: ' ' }, `to is empty: ${rule}`],
      ['/v1/calls', { to: '' }, `to is empty: ${rule}`],
      ['/v1/calls', { to: 'b'.repeat(70) }, `that is too long for a username: ${rule}`],
      ['/v1/messages', { to: '\u001b[2Jx', text: 'hi' }, `"\\u001b[2Jx" is not a valid username: ${rule}`],
      ['/v1/contacts', { username: 'b'.repeat(65) }, `that is too long for a username: ${rule}`]
    ]
    for (const [url, payload, message] of cases) {
      const res = await post(url, payload)
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
      expect(res.json().error.message, JSON.stringify(payload)).toBe(message)
    }
    const inPath = await app.inject({ method: 'DELETE', url: `/v1/contacts/${'y'.repeat(70)}`, headers: AUTH })
    expect(inPath.json().error.message).toBe(`that is too long for a username: ${rule}`)
    expect(api.invocations).toEqual([])
  })

  it('needs a JSON body on the POST routes', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/calls/hangup', headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'x' })
    expect(res.statusCode).toBe(415)
  })
})

describe('refusals from the node', () => {
  it('maps "no call to act on" (a UserError) to 400 refused on answer, decline, hangup and mute', async () => {
    for (const [url, payload] of [['/v1/calls/answer', {}], ['/v1/calls/decline', {}], ['/v1/calls/hangup', {}], ['/v1/calls/mute', { muted: true }]] as const) {
      const res = await post(url, payload)
      expect(res.statusCode, url).toBe(400)
      expect(res.json(), url).toEqual({ error: { code: 'refused', message: 'no call to act on' } })
    }
    const named = await post('/v1/calls/hangup', { callId: 'nosuchcall' })
    expect(named.json().error).toEqual({ code: 'refused', message: 'no such call: nosuchcall' })
  })

  it('maps calling yourself to 400 with the refusal\'s code', async () => {
    const res = await post('/v1/calls', { to: 'alice' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toEqual({ code: 'self_call', message: 'you cannot call yourself' })
  })

  it('maps a refused call command to 400 with its code and message', async () => {
    api.failNext = callError('in_call')
    const res = await post('/v1/calls', { to: 'bob' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toEqual({ code: 'in_call', message: 'already in a call; hang up first' })
  })

  it('maps any other refusal to 400 refused', async () => {
    api.failNext = new UserError('no such contact')
    const res = await post('/v1/calls', { to: 'bob' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toEqual({ code: 'refused', message: 'no such contact' })
  })

  it('hides any other failure behind 500 internal', async () => {
    api.failNext = new Error('ICE agent exploded at 0xdeadbeef')
    const res = await post('/v1/calls', { to: 'bob' })
    expect(res.statusCode).toBe(500)
    expect(res.json().error).toEqual({ code: 'internal', message: 'internal error' })
    expect(res.body).not.toContain('deadbeef')
  })
})
