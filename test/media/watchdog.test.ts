// The media session's reported state and silence watchdog, on a FakeClock.
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import type { Clock } from '../../common/clock.js'
import { WATCHDOG_TICK_MS } from '../../node/media/session/constants.js'
import type { MediaState } from '../../node/media/session/types.js'
import { createMediaWatchdog, nativeMediaState } from '../../node/media/session/watchdog.js'

function watchdog (mediaTimeoutMs = 1000, firstPacketTimeoutMs?: number, clock = new FakeClock(), seen: Clock = clock) {
  const reports: Array<[MediaState, string | undefined]> = []
  let connectedCalls = 0
  const w = createMediaWatchdog({ clock: seen, mediaTimeoutMs, firstPacketTimeoutMs, report: (state, reason) => { reports.push([state, reason]) }, onConnected: () => { connectedCalls++ } })
  w.start()
  return { clock, reports, w, connectedCalls: () => connectedCalls }
}

describe('media watchdog', () => {
  it('reports connected once both the connection and the track are up', () => {
    const { reports, w, connectedCalls } = watchdog()
    w.nativeStateChanged('connecting')
    w.nativeStateChanged('connected')
    expect(reports).toEqual([['connecting', undefined]])
    w.trackOpened()
    expect(reports).toEqual([['connecting', undefined], ['connected', undefined]])
    expect(connectedCalls()).toBe(1)
    expect(w.state()).toBe('connected')
    expect(w.trackIsOpen()).toBe(true)
  })

  it('disconnected after mediaTimeoutMs of silence, connected again when a packet arrives', () => {
    const { clock, reports, w } = watchdog(1000)
    w.trackOpened()
    w.nativeStateChanged('connected')
    clock.advance(1000)
    expect(w.state()).toBe('connected')
    clock.advance(WATCHDOG_TICK_MS)
    expect(reports.at(-1)).toEqual(['disconnected', 'no audio in the 1.3 s since connecting'])
    clock.advance(10_000)
    expect(reports.filter(([state]) => state === 'disconnected')).toHaveLength(1)
    w.packetArrived()
    expect(reports.at(-1)).toEqual(['connected', undefined])
    clock.advance(500)
    w.packetArrived()
    clock.advance(900)
    expect(w.state()).toBe('connected')
  })

  it('allows longer for the first packet after connecting, then mediaTimeoutMs between packets', () => {
    const { clock, reports, w } = watchdog(1500, 5000)
    w.trackOpened()
    w.nativeStateChanged('connected')
    clock.advance(4750)
    expect(w.state()).toBe('connected')
    w.packetArrived()
    clock.advance(1500)
    expect(w.state()).toBe('connected')
    clock.advance(WATCHDOG_TICK_MS)
    expect(reports.at(-1)).toEqual(['disconnected', 'no audio for 1.8 s'])
    const silent = watchdog(1500, 5000)
    silent.w.trackOpened()
    silent.w.nativeStateChanged('connected')
    silent.clock.advance(5250)
    expect(silent.reports.at(-1)).toEqual(['disconnected', 'no audio in the 5.3 s since connecting'])
  })

  it('does not count a stall of our own event loop (a tick that came late) as the peer\'s silence', () => {
    const fake = new FakeClock()
    let stall = 0
    // Our view of time runs ahead of the timers by `stall`: every timer fires that much late.
    const late: Clock = { ...fake, now: () => fake.now() + stall }
    const { reports, w } = watchdog(1500, 1500, fake, late)
    w.trackOpened()
    w.nativeStateChanged('connected')
    w.packetArrived()
    fake.advance(WATCHDOG_TICK_MS)
    stall = 3000
    fake.advance(WATCHDOG_TICK_MS)
    expect(w.state()).toBe('connected')
    // Packets still do not come after the stall: that silence counts.
    fake.advance(1500)
    expect(reports.at(-1)?.[0]).toBe('disconnected')
  })

  it('0 turns the silence check off; a closed track stops it too', () => {
    const off = watchdog(0)
    off.w.trackOpened()
    off.w.nativeStateChanged('connected')
    expect(off.clock.pending).toBe(0)
    const closedTrack = watchdog(1000)
    closedTrack.w.trackOpened()
    closedTrack.w.nativeStateChanged('connected')
    closedTrack.w.trackClosed()
    closedTrack.clock.advance(5000)
    expect(closedTrack.reports).toEqual([['connected', undefined]])
  })

  it('says why for native disconnects and failures, and never repeats a state', () => {
    const { reports, w } = watchdog()
    w.nativeStateChanged('disconnected')
    w.nativeStateChanged('disconnected')
    w.reportFailure('adding the audio track failed: x')
    w.nativeStateChanged('failed')
    w.nativeStateChanged('closed')
    expect(reports).toEqual([
      ['disconnected', 'ICE connectivity lost'],
      ['failed', 'adding the audio track failed: x'],
      ['closed', 'closed by the transport']
    ])
    const other = watchdog()
    other.w.nativeStateChanged('failed')
    expect(other.reports).toEqual([['failed', 'ICE or DTLS failed']])
  })

  it('stop() silences it and clears its timer', () => {
    const { clock, reports, w } = watchdog()
    w.trackOpened()
    w.nativeStateChanged('connected')
    w.stop()
    w.stop()
    expect(clock.pending).toBe(0)
    expect(w.trackIsOpen()).toBe(false)
    w.nativeStateChanged('failed')
    w.reportFailure('late')
    expect(reports).toEqual([['connected', undefined]])
  })

  it('maps node-datachannel\'s state names, and nothing else', () => {
    expect(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'].map(nativeMediaState))
      .toEqual(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'])
    expect(nativeMediaState('toString')).toBeUndefined()
    expect(nativeMediaState('checking')).toBeUndefined()
  })
})
