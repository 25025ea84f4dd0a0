// The in-band RTT probe between two call ends over a simulated link, in fake time: each end
// sends a 20 ms frame on its own schedule, packets arrive after the link's one-way delay.
import { describe, expect, it } from 'vitest'
import { attachSideData, detachSideData } from '../../node/media/audio/opus-padding.js'
import { createRttProbe, PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS, type RttProbe } from '../../node/calls/rtt-probe.js'

const FRAME = Uint8Array.of(0x78, 1, 2, 3, 4) // a code 0 Opus packet (TOC config 15, one frame)

interface End { probe: RttProbe, offsetMs: number, received: Uint8Array[], tagged: number }

/**
 * Runs two ends for `ms` of fake time in 1 ms steps. `delay(from, at)` is the one-way delay of
 * a packet sent at `at` (Infinity drops it); each end sends every 20 ms, shifted by its offset.
 */
function simulate (ms: number, delay: (from: 'a' | 'b', at: number) => number, ends = { a: endAt(0), b: endAt(7) }): typeof ends {
  const inFlight: Array<{ to: End, at: number, packet: Uint8Array }> = []
  for (let now = 0; now <= ms; now++) {
    for (const [name, end] of Object.entries(ends) as Array<['a' | 'b', End]>) {
      if ((now - end.offsetMs) % 20 !== 0 || now < end.offsetMs) continue
      const to = name === 'a' ? ends.b : ends.a
      const d = delay(name, now)
      const packet = end.probe.outgoing(FRAME, now)
      if (packet.length !== FRAME.length) end.tagged++
      if (Number.isFinite(d)) inFlight.push({ to, at: now + d, packet })
    }
    for (let i = inFlight.length - 1; i >= 0; i--) {
      const item = inFlight[i] as (typeof inFlight)[number]
      if (item.at > now) continue
      inFlight.splice(i, 1)
      item.to.received.push(item.to.probe.incoming(item.packet, now))
    }
  }
  return ends
}

function endAt (offsetMs: number): End {
  return { probe: createRttProbe(), offsetMs, received: [], tagged: 0 }
}

describe('in-band RTT probe', () => {
  it('measures the round trip of the link, not the wait for the next frame', () => {
    const { a, b } = simulate(3000, () => 30)
    expect(a.probe.rttMs()).toBe(60)
    expect(b.probe.rttMs()).toBe(60)
  })

  it('adds both directions of an asymmetric link', () => {
    const { a, b } = simulate(3000, from => from === 'a' ? 12 : 95)
    expect(a.probe.rttMs()).toBe(107)
    expect(b.probe.rttMs()).toBe(107)
  })

  it('follows a change of path within one probe interval', () => {
    const { a } = simulate(5000, (_from, at) => at < 2000 ? 5 : 150)
    expect(a.probe.rttMs()).toBe(300)
  })

  it('tags about one packet a second each way and hands the receiver its original packets', () => {
    const { a, b } = simulate(10_000, () => 10)
    for (const end of [a, b]) {
      expect(end.received.length).toBeGreaterThan(490)
      for (const packet of end.received) expect([...packet]).toEqual([...FRAME])
    }
    // Each end's pings (10) and its pongs to the other's pings (10), sometimes in one packet.
    for (const end of [a, b]) {
      expect(end.tagged).toBeGreaterThanOrEqual(10_000 / PROBE_INTERVAL_MS)
      expect(end.tagged).toBeLessThanOrEqual(2 * (10_000 / PROBE_INTERVAL_MS + 1))
    }
  })

  it('stays null when no pong comes back, and pings once an interval meanwhile', () => {
    const probe = createRttProbe()
    expect(probe.outgoing(FRAME, 0)).not.toEqual(FRAME)
    expect(probe.outgoing(FRAME, PROBE_INTERVAL_MS - 1)).toEqual(FRAME)
    expect(probe.outgoing(FRAME, PROBE_INTERVAL_MS)).not.toEqual(FRAME) // the first is not waited for
    expect(probe.rttMs()).toBeNull()
  })

  it('a lost first ping (sent before the peer could decrypt) does not delay the first sample past the next interval', () => {
    // Nothing a sends arrives in its first 50 ms.
    const { a } = simulate(PROBE_INTERVAL_MS + 200, (from, at) => from === 'a' && at < 50 ? Infinity : 10)
    expect(a.probe.rttMs()).toBe(20)
  })

  it('a pong that comes back later than the next ping still counts, up to the timeout', () => {
    const { a } = simulate(4000, () => 1500)
    expect(a.probe.rttMs()).toBe(3000)
    const probe = createRttProbe()
    const ping = detachSideData(probe.outgoing(FRAME, 0)).data as Uint8Array
    const pong = attachSideData(FRAME, Uint8Array.of(2, ...ping.subarray(1, 5), 0, 0)) as Uint8Array
    probe.incoming(pong, PROBE_TIMEOUT_MS + 1 - 20)
    expect(probe.rttMs()).toBe(PROBE_TIMEOUT_MS - 19)
  })

  it('ignores pongs for another ping and malformed side data', () => {
    const probe = createRttProbe()
    const ping = detachSideData(probe.outgoing(FRAME, 0)).data as Uint8Array
    const id = [...ping.subarray(1, 5)]
    const wrongId = attachSideData(FRAME, Uint8Array.of(2, 0, 0, 0, (id[3] as number) + 1, 0, 0)) as Uint8Array
    expect([...probe.incoming(wrongId, 40)]).toEqual([...FRAME])
    for (const junk of [Uint8Array.of(2, 0, 0), Uint8Array.of(9, 9, 9), Uint8Array.of(1)]) {
      expect([...probe.incoming(attachSideData(FRAME, junk) as Uint8Array, 50)]).toEqual([...FRAME])
    }
    expect(probe.rttMs()).toBeNull()
    const pong = attachSideData(FRAME, Uint8Array.of(2, ...id, 0, 100)) as Uint8Array // held 10 ms
    probe.incoming(pong, 70)
    expect(probe.rttMs()).toBe(60)
  })

  it('a packet that cannot carry padding goes out untouched and the ping waits for the next', () => {
    const probe = createRttProbe()
    const twoFrames = Uint8Array.of(0x79, 1, 2)
    expect(probe.outgoing(twoFrames, 0)).toEqual(twoFrames)
    expect(probe.outgoing(FRAME, 20).length).toBeGreaterThan(FRAME.length)
  })
})
