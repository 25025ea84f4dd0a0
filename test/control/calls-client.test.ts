// ControlClient's call methods against a real listening control server with the fake node.
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../node/runtime/api.js'
import { ControlApiError, ControlClient } from '../../node/control/client.js'
import { TOKEN, closeAll, startFakeNode } from './helpers.js'
import { waitUntil } from '../helpers/wait.js'

afterEach(async () => { await closeAll() })

async function connected () {
  const running = await startFakeNode()
  return { ...running, client: new ControlClient(running.server.url, TOKEN) }
}

describe('ControlClient calls', () => {
  it('places a call with options, lists it, mutes it and hangs it up', async () => {
    const { api, client } = await connected()
    const { callId } = await client.placeCall('bob', { play: '/tmp/a.wav', record: '/tmp/b.wav', relayOnly: true })
    expect(api.callOptions.get(callId)).toEqual({ play: '/tmp/a.wav', record: '/tmp/b.wav', relayOnly: true })
    await waitUntil('the call to connect', () => api.call(callId)?.state === 'connected', 5000)
    await client.setMuted(true, callId)
    const [listed] = await client.calls()
    expect(listed).toMatchObject({ callId, direction: 'outgoing', peer: 'bob', state: 'connected', muted: true })
    await client.setMuted(false)
    expect(api.call(callId)?.muted).toBe(false)
    await client.hangup(callId)
    expect(api.call(callId)?.state).toBe('ended')
    expect(api.invocations).toEqual(['placeCall bob', `setMuted true ${callId}`, 'calls', 'setMuted false', `hangup ${callId}`])
  })

  it('sends no fields for options left out (the API refuses unknown and undefined ones alike)', async () => {
    const { api, client } = await connected()
    const { callId } = await client.placeCall('bob', { play: undefined, tone: 440 })
    expect(api.callOptions.get(callId)).toEqual({ tone: 440 })
  })

  it('answers and declines incoming calls, by id or the only one', async () => {
    const { api, client } = await connected()
    const first = api.addIncomingCall('carol')
    expect(await client.answerCall(undefined, { tone: 300 })).toEqual({ callId: first })
    expect(api.callOptions.get(first)).toEqual({ tone: 300 })
    const second = api.addIncomingCall('dave')
    await client.declineCall(second.slice(0, 6))
    expect(api.call(second)?.state).toBe('ended')
    expect(api.invocations).toEqual(['answerCall', `declineCall ${second.slice(0, 6)}`])
  })

  it('turns the node\'s refusals into ControlApiErrors with the node\'s words', async () => {
    const { client } = await connected()
    const error = await client.hangup().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(ControlApiError)
    expect(error).toMatchObject({ status: 400, code: 'refused', message: 'no call to act on' })
    await expect(client.placeCall('bob', { tone: 5 })).rejects.toMatchObject({ status: 400, code: 'invalid_request' })
  })

  it('says when the event stream is open, before any event, so a call placed then misses nothing', async () => {
    const { api, client } = await connected()
    const stop = new AbortController()
    const seen: NodeEvent[] = []
    let openedWith = -1
    const reading = (async () => {
      for await (const event of client.events(stop.signal, { onOpen: () => { openedWith = api.listenerCount } })) {
        seen.push(event)
        if (event.event === 'call-connected') stop.abort()
      }
    })()
    await waitUntil('the stream to open', () => openedWith !== -1, 5000)
    // Subscribed on the node by the time onOpen runs.
    expect(openedWith).toBe(1)
    const { callId } = await client.placeCall('bob')
    await reading
    expect(seen.map(e => e.event)).toEqual(['call-ringing', 'call-connected'])
    expect(seen.every(e => 'callId' in e && e.callId === callId)).toBe(true)
  })
})
