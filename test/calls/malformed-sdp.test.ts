// Malformed SDP handed to real media sessions (node-datachannel): garbage, oversized, non-text,
// two m-lines, no fingerprint, a wrong setup role. Each is refused with the guard's reason and
// logged, and the same session then connects with the real description.
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { createMediaSession, shutdownMedia, type MediaSession, type MediaState } from '../../node/media/media-session.js'
import { MAX_REMOTE_SDP_BYTES } from '../../node/media/sdp-guard.js'
import { recordingLogger, type LogEntry } from '../overlay/bad-input-harness.js'
import { waitUntil } from '../helpers/wait.js'
import { expectLogged, expectNoUnhandledRejections, withSecondMLine, withoutFingerprint } from './attack-kit.js'

afterAll(() => { shutdownMedia() })
expectNoUnhandledRejections()

describe('malformed SDP into real media sessions', () => {
  const sessions: MediaSession[] = []
  afterEach(() => { for (const s of sessions.splice(0)) s.close() })

  function session (role: 'offerer' | 'answerer', logs: LogEntry[]): { session: MediaSession, states: MediaState[] } {
    const states: MediaState[] = []
    const created = createMediaSession({
      role, iceServers: [], bindAddress: '127.0.0.1', log: recordingLogger(logs, { role }), onAudio: () => {}, onState: state => { states.push(state) }
    })
    sessions.push(created)
    return { session: created, states }
  }

  /** A live offerer and its complete offer (every candidate inside, as calls send it). */
  async function liveOffer (logs: LogEntry[]): Promise<{ offerer: { session: MediaSession, states: MediaState[] }, offer: string }> {
    const offerer = session('offerer', logs)
    offerer.session.start()
    return { offerer, offer: await offerer.session.gathered() }
  }

  /** The answerer takes the real offer, the offerer the real answer: both connect. */
  async function expectConnects (offerer: MediaSession, answerer: MediaSession, offer: string): Promise<void> {
    expect(answerer.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    const answer = await answerer.gathered()
    expect(offerer.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitUntil('both sessions connected', () => offerer.state() === 'connected' && answerer.state() === 'connected', 10_000)
  }

  it('garbage, oversized and non-text offers: {ok:false, reason}, logged; the same session then connects', async () => {
    const logs: LogEntry[] = []
    const { offerer, offer } = await liveOffer(logs)
    const answerer = session('answerer', logs)
    const garbage: Array<[unknown, RegExp]> = [
      [randomBytes(600).toString('latin1'), /printable ASCII|does not start with v=0|<type>=<value>/],
      ['\u0000\u0001\u0002 not sdp at all', /does not start with v=0/],
      ['', /empty SDP/],
      [`${offer}${'a=ssrc:1 cname:x\r\n'.repeat(2000)}`, /longer than 16384 bytes/],
      ['v=0\r\n'.repeat(300), /more than 256 lines|a second v= line/],
      [42, /SDP is not a string/],
      [{ sdp: offer }, /SDP is not a string/],
      [offer.slice(0, Math.floor(offer.length / 2)), /./]
    ]
    expect(`${offer}${'a=ssrc:1 cname:x\r\n'.repeat(2000)}`.length).toBeGreaterThan(MAX_REMOTE_SDP_BYTES)
    for (const [bad, reason] of garbage) {
      const result = answerer.session.setRemoteDescription(bad as string, 'offer')
      expect(result.ok, `refused: ${JSON.stringify(bad).slice(0, 60)}`).toBe(false)
      expect(result.ok ? '' : result.reason).toMatch(reason)
      expectLogged(logs, 'warn', /^refused the remote offer: /, { role: 'answerer', reason: result.ok ? '' : result.reason })
    }
    expect(answerer.session.setRemoteDescription(offer, 'answer')).toEqual({ ok: false, reason: 'the answerer takes an offer, not answer' })
    expect(answerer.session.state()).toBe('new')
    await expectConnects(offerer.session, answerer.session, offer)
  })

  it('an offer with two m-lines or without a fingerprint is refused with the guard\'s reason; the session then connects', async () => {
    const logs: LogEntry[] = []
    const { offerer, offer } = await liveOffer(logs)
    const answerer = session('answerer', logs)
    expect(answerer.session.setRemoteDescription(withSecondMLine(offer), 'offer')).toEqual({ ok: false, reason: 'more than one m-line' })
    expect(answerer.session.setRemoteDescription(withoutFingerprint(offer), 'offer')).toEqual({ ok: false, reason: 'no a=fingerprint:sha-256' })
    expectLogged(logs, 'warn', /^refused the remote offer: more than one m-line$/, { role: 'answerer' })
    expectLogged(logs, 'warn', /^refused the remote offer: no a=fingerprint:sha-256$/, { role: 'answerer' })
    await expectConnects(offerer.session, answerer.session, offer)
  })

  it('an answer with two m-lines, without a fingerprint, or with setup:actpass is refused by the offerer; the real answer then connects', async () => {
    const logs: LogEntry[] = []
    const { offerer, offer } = await liveOffer(logs)
    const answerer = session('answerer', logs)
    expect(answerer.session.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
    const answer = await answerer.session.gathered()
    expect(offerer.session.setRemoteDescription(withSecondMLine(answer), 'answer')).toEqual({ ok: false, reason: 'more than one m-line' })
    expect(offerer.session.setRemoteDescription(withoutFingerprint(answer), 'answer')).toEqual({ ok: false, reason: 'no a=fingerprint:sha-256' })
    expect(offerer.session.setRemoteDescription(answer.replace(/a=setup:\w+/, 'a=setup:actpass'), 'answer')).toEqual({ ok: false, reason: 'an answer with a=setup:actpass' })
    for (const reason of ['more than one m-line', 'no a=fingerprint:sha-256', 'an answer with a=setup:actpass']) {
      expectLogged(logs, 'warn', new RegExp(`^refused the remote answer: ${reason}$`), { role: 'offerer' })
    }
    expect(offerer.session.setRemoteDescription(answer, 'answer')).toEqual({ ok: true })
    await waitUntil('both sessions connected', () => offerer.session.state() === 'connected' && answerer.session.state() === 'connected', 10_000)
    expect(offerer.states).not.toContain('failed')
  })
})
