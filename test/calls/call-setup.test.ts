// A call's setup summary from its first media session's timeline: each step in ms after the
// answer, steps not reached left out, and the log's one sentence.
import { describe, expect, it } from 'vitest'
import { callSetupOf, describeSetup } from '../../node/calls/call-stats.js'
import type { CallMedia } from '../../node/calls/call-media.js'
import type { MediaSetup } from '../../node/media/media-session.js'

/** The parts of a call's media the summary reads: the first session's setup() and the pair it connected on. */
const mediaWith = (setup: MediaSetup, connectedPair?: string): CallMedia => ({ first: { setup: () => setup }, connectedPair }) as unknown as CallMedia

describe('call setup summary', () => {
  it('gives each step in ms after the answer, leaves out the steps not reached, and says it in one sentence', () => {
    const answered = { acceptedAt: 50_000, startedAt: 40_000 }
    const setup = callSetupOf(mediaWith({
      steps: { remoteDescription: 50_012.4, candidatesReleased: 50_030, iceConnected: 50_031, dtlsConnected: 50_090, firstPacket: 50_101 },
      releasedBecause: 'the offerer holds the answer',
      localCandidates: ['host', 'srflx', 'relay'],
      remoteCandidates: ['host', 'srflx'],
      dtlsRole: 'server'
    }, 'srflx 198.18.22.1:4000 -> srflx 198.18.21.1:5000'), answered)
    expect(setup).toEqual({
      descriptionMs: 12,
      candidatesReleasedMs: 30,
      releasedBecause: 'the offerer holds the answer',
      iceConnectedMs: 31,
      dtlsConnectedMs: 90,
      firstAudioMs: 101,
      localCandidates: ['host', 'srflx', 'relay'],
      remoteCandidates: ['host', 'srflx'],
      pair: 'srflx 198.18.22.1:4000 -> srflx 198.18.21.1:5000',
      dtlsRole: 'server'
    })
    expect(describeSetup(setup)).toBe('first audio 101 ms after the answer: ICE connected at 31 ms, DTLS connected at 90 ms; the caller\'s candidates went to ICE at 30 ms ' +
      '(the offerer holds the answer); we gathered host, srflx, relay, the peer signalled host, srflx; pair srflx 198.18.22.1:4000 -> srflx 198.18.21.1:5000; we were the DTLS server')

    const stuck = callSetupOf(mediaWith({ steps: { remoteDescription: 50_010, iceConnected: 50_400 }, localCandidates: ['host'], remoteCandidates: [] }), answered)
    expect(stuck).toEqual({ descriptionMs: 10, iceConnectedMs: 400, localCandidates: ['host'], remoteCandidates: [] })
    expect(describeSetup(stuck)).toBe('no audio yet: ICE connected at 400 ms, DTLS connected not yet; we gathered host, the peer signalled nothing; pair none')
  })
})
