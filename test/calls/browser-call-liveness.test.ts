// A browser call's media against a page that goes away or speaks out of turn: only the page that
// placed or answered the call speaks for it, a connected call whose page stops reporting ends, and
// a call that ended while the relay's credentials were fetched asks the page for nothing.
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { createBrowserMediaPort } from '../../node/calls/browser-media-port.js'
import { Call } from '../../node/calls/call.js'
import type { BrowserMediaEvent, CallProgressEvent } from '../../node/calls/call-types.js'
import { BROWSER_SILENT_TIMEOUT_MS } from '../../node/calls/constants.js'
import type { CallSignaling } from '../../node/calls/signaling/signaling.js'
import type { TurnServerCredentials } from '../../node/overlay/host.js'
import { FakeClock, flushAsync } from '../../node/net/fake-clock.js'
import { ANSWER, OFFER } from '../media/sdp-fixtures.js'

const STATS = { step: 'stats' as const, path: 'direct' as const, rttMs: 20, jitterMs: 2, lossPct: 0, bitrateKbps: 30, bufferDelayMs: 40, packetsSent: 50, packetsReceived: 50 }

function setup (turnCredentials: () => Promise<TurnServerCredentials | undefined> = async () => undefined) {
  const clock = new FakeClock()
  const events: Array<BrowserMediaEvent | CallProgressEvent> = []
  const failed: string[] = []
  const signaling = { mediaConnected: () => {}, mediaFailed: (_callId: string, reason: string) => { failed.push(reason) } }
  const port = createBrowserMediaPort({ clock, log: silentLogger, turnCredentials, signaling: () => signaling as unknown as CallSignaling, emit: event => { events.push(event) } })
  const call = new Call(clock, silentLogger, { id: 'call-1', direction: 'incoming', peer: 'bob', state: 'connecting', relayOnly: false, mediaPage: 'page-aaaa' })
  return { clock, port, events, failed, call }
}

describe('who speaks for a browser call', () => {
  it('a reply that names another page is refused, and changes nothing', () => {
    const { port, call, failed } = setup()
    // The call's media side exists once the port has acted for it.
    port.accept(call, ANSWER)
    const media = call.media
    port.reply(call, { page: 'page-aaaa', ...STATS })
    expect(() => { port.reply(call, { page: 'page-bbbb', step: 'failed', reason: 'mischief' }) }).toThrow(expect.objectContaining({ code: 'no_such_call' }))
    expect(failed).toEqual([])
    expect(call.media).toBe(media)
  })
})

describe('a page that goes away', () => {
  it('a connected call whose page stops reporting ends as failed after BROWSER_SILENT_TIMEOUT_MS; its stats keep it alive until then', () => {
    const { clock, port, call, failed } = setup()
    port.accept(call, ANSWER)
    port.reply(call, { page: 'page-aaaa', step: 'connected', path: 'direct' })
    for (let second = 0; second < 30; second++) {
      clock.advance(1000)
      port.reply(call, { page: 'page-aaaa', ...STATS })
    }
    expect(failed).toEqual([])
    clock.advance(BROWSER_SILENT_TIMEOUT_MS - 1)
    expect(failed).toEqual([])
    clock.advance(1)
    expect(failed).toEqual(['the browser page stopped reporting (closed or asleep)'])
  })

  it('a call that ended stops its watchdog', () => {
    const { clock, port, call, failed } = setup()
    port.accept(call, ANSWER)
    port.reply(call, { page: 'page-aaaa', step: 'connected', path: 'direct' })
    void call.close()
    clock.advance(2 * BROWSER_SILENT_TIMEOUT_MS)
    expect(failed).toEqual([])
  })

  it('a call that ends while the relay\'s credentials are fetched does not ask the page to answer', async () => {
    let give: (credentials: undefined) => void = () => {}
    const { port, call, events } = setup(async () => await new Promise(resolve => { give = resolve }))
    const answering = port.answer(call, OFFER, { relayOnly: false }).catch((err: Error) => err.message)
    await flushAsync()
    void call.close()
    give(undefined)
    expect(await answering).toBe('the call ended')
    expect(events.filter(e => e.event === 'browser-media' && e.step === 'answer')).toEqual([])
  })
})
