// A session's setup timeline without node-datachannel: steps stamped once by the injected clock,
// candidate types in the order first seen, and the DTLS role read from the two descriptions.
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { createSetupTimeline, dtlsRoleOf } from '../../node/media/session/setup-timeline.js'

const HOST = 'a=candidate:1 1 UDP 2114977791 10.0.0.2 5000 typ host'
const RELAY = 'candidate:3 1 UDP 16777215 198.18.5.5 3478 typ relay raddr 198.18.0.2 rport 5000'

describe('setup timeline', () => {
  it('stamps each step once, keeps the first reason for the release, and lists candidate types once each', () => {
    const clock = new FakeClock(1000)
    const timeline = createSetupTimeline(clock)
    clock.advance(10)
    timeline.mark('remoteDescription')
    timeline.localCandidate(HOST)
    timeline.localCandidate('not a candidate')
    timeline.localCandidate(RELAY)
    timeline.localCandidate(HOST)
    timeline.remoteCandidate('srflx')
    timeline.remoteCandidate('srflx')
    clock.advance(30)
    timeline.released('the offerer holds the answer')
    clock.advance(5)
    timeline.released('hold time over')
    timeline.mark('iceConnected')
    clock.advance(50)
    timeline.mark('iceConnected')
    timeline.mark('dtlsConnected')
    expect(timeline.report('client')).toEqual({
      steps: { remoteDescription: 1010, candidatesReleased: 1040, iceConnected: 1045, dtlsConnected: 1095 },
      releasedBecause: 'the offerer holds the answer',
      localCandidates: ['host', 'relay'],
      remoteCandidates: ['srflx'],
      dtlsRole: 'client'
    })
  })

  it('reads our DTLS role from a=setup: active is the client, passive the server, actpass leaves it to the answer', () => {
    const sdp = (setup: string): string => `v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:${setup}\r\n`
    expect(dtlsRoleOf(sdp('active'), 'actpass')).toBe('client')
    expect(dtlsRoleOf(sdp('passive'), 'actpass')).toBe('server')
    expect(dtlsRoleOf(sdp('actpass'), 'active')).toBe('server')
    expect(dtlsRoleOf(sdp('actpass'), 'passive')).toBe('client')
    expect(dtlsRoleOf(sdp('actpass'), undefined)).toBeUndefined()
    expect(dtlsRoleOf(undefined, undefined)).toBeUndefined()
  })
})
