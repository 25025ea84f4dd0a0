import { afterAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { createMediaSession, shutdownMedia, type MediaSession } from '../../node/media/media-session.js'
import { MAX_REMOTE_SDP_BYTES, checkCandidate, checkRemoteSdp, sdpFingerprint } from '../../node/media/sdp-guard.js'
import { OFFER } from './sdp-fixtures.js'

afterAll(() => { shutdownMedia() })

// An offer shaped like Firefox's: Opus on 109 among G722, PCMU, PCMA and telephone-event, the
// media attributes in alphabetical order, mid 0, braces in msid and cname.
const FIREFOX_OFFER = [
  'v=0',
  'o=mozilla...THIS_IS_SDPARTA-128.0 6330383296418893432 0 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'a=fingerprint:sha-256 5D:3B:0E:61:2A:9F:C4:77:18:E2:4B:90:AD:36:5C:F1:08:7E:B3:29:D5:64:1A:CE:93:F7:20:8B:46:DA:0C:B5',
  'a=group:BUNDLE 0',
  'a=ice-options:trickle',
  'a=msid-semantic:WMS *',
  'm=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101',
  'c=IN IP4 0.0.0.0',
  'a=sendrecv',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level',
  'a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1',
  'a=fmtp:101 0-15',
  'a=ice-pwd:2bd1b0bd3f8a4b3e8f0c3e1d0a9b8c7d',
  'a=ice-ufrag:4e1f2a3b',
  'a=mid:0',
  'a=msid:{5a3c1b2e-7d4f-4c9a-8b1e-2f3a4b5c6d7e} {9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b}',
  'a=rtcp-mux',
  'a=rtpmap:109 opus/48000/2',
  'a=rtpmap:9 G722/8000/1',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=setup:actpass',
  'a=ssrc:2655508255 cname:{6f4d2a1b-3c5e-4f7a-9b8c-1d2e3f4a5b6c}',
  ''
].join('\r\n')

const edit = (sdp: string, from: string | RegExp, to: string): string => {
  const out = sdp.replace(from, to)
  if (out === sdp) throw new Error(`edit did not apply: ${String(from)}`)
  return out
}

function rejected (sdp: unknown, type?: unknown): string {
  const result = checkRemoteSdp(sdp, type)
  expect(result.ok).toBe(false)
  return result.ok ? '' : result.reason
}

function liveSession (role: 'offerer' | 'answerer', relayOnly = false): MediaSession {
  return createMediaSession({
    role,
    iceServers: relayOnly ? [{ hostname: '127.0.0.1', port: 9, username: 'u', password: 'p', relayType: 'TurnUdp' }] : [],
    relayOnly,
    bindAddress: '127.0.0.1',
    log: silentLogger,
    onAudio: () => {},
    onState: () => {}
  })
}

describe('checkRemoteSdp', () => {
  it('accepts an offer as node-datachannel writes it, and summarises it', () => {
    const result = checkRemoteSdp(OFFER, 'offer')
    expect(result).toEqual({
      ok: true,
      summary: {
        mid: 'audio',
        fingerprint: 'CD:23:5B:5A:77:DF:22:FA:FE:1E:82:A3:18:1D:BE:D6:6D:4B:FB:EB:16:9E:A0:C2:DD:B6:6D:90:0C:A7:56:55',
        setup: 'actpass',
        iceUfrag: '/EXV',
        icePwd: 'cp0u4aqV2s+i+PERuk1SNV',
        direction: 'sendrecv',
        ssrcs: [1111],
        candidates: 0,
        opusPayloadType: 111
      }
    })
    expect(checkRemoteSdp(OFFER.replaceAll('\r\n', '\n'), 'offer').ok).toBe(true)
    expect(sdpFingerprint(OFFER)).toBe(result.ok ? result.summary.fingerprint : '')
  })

  it('accepts live offers and answers from node-datachannel, with and without candidates', async () => {
    const offerer = liveSession('offerer')
    const answerer = liveSession('answerer')
    try {
      offerer.start()
      const offer = await offerer.gathered()
      expect(offer).toContain('a=candidate:')
      expect(checkRemoteSdp(offer, 'offer')).toMatchObject({ ok: true, summary: { mid: 'audio', setup: 'actpass' } })
      const withoutCandidates = offer.split('\r\n').filter(line => !line.startsWith('a=candidate') && line !== 'a=end-of-candidates').join('\r\n')
      expect(checkRemoteSdp(withoutCandidates, 'offer')).toMatchObject({ ok: true, summary: { candidates: 0 } })
      expect(answerer.setRemoteDescription(offer, 'offer')).toEqual({ ok: true })
      const answer = await answerer.gathered()
      expect(checkRemoteSdp(answer, 'answer')).toMatchObject({ ok: true, summary: { mid: 'audio', setup: 'active' } })
      expect(offerer.localFingerprint()).toBe(sdpFingerprint(offer))
      expect(answerer.remoteFingerprint()).toBe(offerer.localFingerprint())
    } finally {
      offerer.close()
      answerer.close()
    }
  })

  it('accepts a relay-only offer (no host candidates)', async () => {
    const offerer = liveSession('offerer', true)
    try {
      offerer.start()
      const offer = await offerer.gathered(1000) // the relay at port 9 never answers: no candidates at all
      expect(offer).not.toMatch(/typ host/)
      expect(checkRemoteSdp(offer, 'offer').ok).toBe(true)
    } finally {
      offerer.close()
    }
  })

  it('rejects what is not text of the right type', () => {
    expect(rejected(undefined)).toMatch(/not a string/)
    expect(rejected(42)).toMatch(/not a string/)
    expect(rejected(OFFER, 'pranswer')).toMatch(/offer or answer/)
    expect(rejected('')).toMatch(/v=0|empty/)
  })

  it('rejects oversized SDP before reading it', () => {
    const padding = 'a=ssrc:1111 cname:' + 'x'.repeat(100) + '\r\n'
    const huge = OFFER + padding.repeat(Math.ceil(MAX_REMOTE_SDP_BYTES / padding.length))
    expect(rejected(huge, 'offer')).toMatch(/longer than/)
    expect(rejected(edit(OFFER, 'a=rtcp-mux', 'a=rtcp-mux\r\na=msid:' + 'y'.repeat(2000)), 'offer')).toMatch(/longer than/)
    expect(rejected(OFFER + 'a=rtcp-mux\r\n'.repeat(300), 'offer')).toMatch(/lines/)
  })

  it('rejects malformed lines', () => {
    expect(rejected(edit(OFFER, 'v=0', 'v=1'))).toMatch(/v=0/)
    expect(rejected(edit(OFFER, 's=-', 's=-\r\nx=unknown'))).toMatch(/line type/)
    expect(rejected(edit(OFFER, 's=-', 's=-\r\ngarbage'))).toMatch(/<type>=<value>/)
    expect(rejected(edit(OFFER, 's=-', 's=caf\u00e9'))).toMatch(/printable ASCII/)
    expect(rejected(edit(OFFER, 's=-', 's=a\u0000b'))).toMatch(/printable ASCII/)
    expect(rejected(edit(OFFER, 's=-', 's=a\rb'))).toMatch(/printable ASCII/)
    expect(rejected(edit(OFFER, 'o=rtc 3864157758 0 IN IP4 127.0.0.1', 'o=rtc x 0 IN IP4 127.0.0.1'))).toMatch(/o= line/)
    expect(rejected(edit(OFFER, 't=0 0\r\n', ''))).toMatch(/t= line/)
    expect(rejected(edit(OFFER, 'c=IN IP4 0.0.0.0', 'c=IN IP4 ../../etc'))).toMatch(/c= line/)
    expect(rejected(edit(OFFER, 'a=sendrecv', 'a=x-unknown:1'))).toMatch(/not allowed/)
    expect(rejected(edit(OFFER, 'a=sendrecv', 'a=sendrecv:yes'))).toMatch(/takes no value/)
    expect(rejected(edit(OFFER, 'a=ssrc:1111 cname:cname-A', 'a=ssrc:99999999999 cname:x'))).toMatch(/ssrc/)
    expect(rejected(edit(OFFER, 'a=fmtp:111 ', 'a=fmtp:abc '))).toMatch(/payload type/)
    expect(rejected(edit(OFFER, 'a=ice-ufrag:/EXV', 'a=ice-ufrag:ab'))).toMatch(/ice-ufrag/)
    expect(rejected(edit(OFFER, 'a=ice-pwd:cp0u4aqV2s+i+PERuk1SNV', 'a=ice-pwd:short'))).toMatch(/ice-pwd/)
    expect(rejected(edit(OFFER, 'a=setup:actpass', 'a=setup:holdconn'))).toMatch(/setup/)
    expect(rejected(edit(OFFER, 'a=group:BUNDLE audio', 'a=group:BUNDLE audio video'))).toMatch(/group/)
  })

  it('rejects anything but exactly one DTLS-SRTP audio m-line carrying opus/48000/2', () => {
    expect(rejected(OFFER + 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a2\r\n', 'offer')).toMatch(/more than one m-line/)
    expect(rejected(OFFER + 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\n', 'offer')).toMatch(/more than one m-line/)
    expect(rejected(OFFER + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n', 'offer')).toMatch(/more than one m-line/)
    const withoutMedia = OFFER.slice(0, OFFER.indexOf('m=audio'))
    expect(rejected(withoutMedia, 'offer')).toMatch(/no audio m-line/)
    expect(rejected(edit(OFFER, 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=video 9 UDP/TLS/RTP/SAVPF 111'))).toMatch(/m=audio/)
    expect(rejected(edit(OFFER, 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=audio 9 RTP/AVP 111'))).toMatch(/m=audio/)
    expect(rejected(edit(OFFER, 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=audio 9 UDP/TLS/RTP/SAVPF 0'))).toMatch(/no dynamic payload type .*opus\/48000\/2/)
    expect(rejected(edit(OFFER, 'opus/48000/2', 'opus/48000/1'))).toMatch(/opus\/48000\/2/)
    expect(rejected(edit(OFFER, 'opus/48000/2', 'PCMU/8000'))).toMatch(/opus\/48000\/2/)
    expect(rejected(edit(OFFER, 'a=rtcp-mux\r\n', ''))).toMatch(/rtcp-mux/)
    expect(rejected(edit(OFFER, 'a=mid:audio\r\n', ''))).toMatch(/a=mid/)
    expect(rejected(edit(OFFER, 'a=mid:audio', 'a=mid:audio\r\na=mid:other'))).toMatch(/more than one a=mid/)
  })

  it('takes Opus on whichever dynamic payload type the m-line maps to opus/48000/2 (Firefox: 109)', () => {
    expect(checkRemoteSdp(FIREFOX_OFFER, 'offer')).toEqual({
      ok: true,
      summary: {
        mid: '0',
        fingerprint: '5D:3B:0E:61:2A:9F:C4:77:18:E2:4B:90:AD:36:5C:F1:08:7E:B3:29:D5:64:1A:CE:93:F7:20:8B:46:DA:0C:B5',
        setup: 'actpass',
        iceUfrag: '4e1f2a3b',
        icePwd: '2bd1b0bd3f8a4b3e8f0c3e1d0a9b8c7d',
        direction: 'sendrecv',
        ssrcs: [2655508255],
        candidates: 0,
        opusPayloadType: 109
      }
    })
    const opusOn = (sdp: string): unknown => {
      const check = checkRemoteSdp(sdp, 'offer')
      return check.ok ? check.summary.opusPayloadType : check.reason
    }
    // Not first on the m-line; the codec name in any case; the edges of the dynamic range.
    expect(opusOn(edit(FIREFOX_OFFER, 'SAVPF 109 9 0 8 101', 'SAVPF 9 0 8 101 109'))).toBe(109)
    expect(opusOn(edit(FIREFOX_OFFER, 'a=rtpmap:109 opus/48000/2', 'a=rtpmap:109 OPUS/48000/2'))).toBe(109)
    expect(opusOn(edit(OFFER.replaceAll(':111 ', ':96 '), 'SAVPF 111', 'SAVPF 96'))).toBe(96)
    expect(opusOn(edit(OFFER.replaceAll(':111 ', ':127 '), 'SAVPF 111', 'SAVPF 127'))).toBe(127)
    // Two payload types for Opus: the first on the m-line wins, not the first rtpmap.
    const twice = edit(edit(FIREFOX_OFFER, 'SAVPF 109 9 0 8 101', 'SAVPF 9 120 109 0 8 101'), 'a=rtpmap:109 opus/48000/2', 'a=rtpmap:109 opus/48000/2\r\na=rtpmap:120 opus/48000/2')
    expect(opusOn(twice)).toBe(120)
    // An Opus rtpmap the m-line does not list is skipped for one it does.
    expect(opusOn(edit(twice, 'SAVPF 9 120 109', 'SAVPF 9 109'))).toBe(109)
  })

  it('refuses Opus on a static payload type, or no Opus at all, with a reason', () => {
    const noOpus = /no dynamic payload type \(96-127\) on the m-line has a=rtpmap:<pt> opus\/48000\/2/
    // Static numbers (0–95) belong to fixed codecs: an rtpmap cannot make them Opus.
    for (const pt of ['0', '95']) {
      const staticOpus = edit(OFFER.replaceAll(':111 ', `:${pt} `), 'SAVPF 111', `SAVPF ${pt}`)
      expect(staticOpus).toContain(`a=rtpmap:${pt} opus/48000/2`)
      expect(rejected(staticOpus, 'offer')).toMatch(noOpus)
    }
    // Firefox's offer without Opus: G722, PCMU, PCMA and telephone-event only.
    const withoutOpus = edit(edit(FIREFOX_OFFER, 'SAVPF 109 9 0 8 101', 'SAVPF 9 0 8 101'), /a=(rtpmap|fmtp):109 [^\r]*\r\n/g, '')
    expect(withoutOpus).not.toMatch(/opus/i)
    expect(rejected(withoutOpus, 'offer')).toMatch(noOpus)
    // The Opus rtpmap is there but its payload type is not on the m-line.
    expect(rejected(edit(FIREFOX_OFFER, 'SAVPF 109 9 0 8 101', 'SAVPF 9 0 8 101'), 'offer')).toMatch(noOpus)
    // Opus with a wrong clock rate or channel count is not opus/48000/2.
    expect(rejected(edit(FIREFOX_OFFER, 'opus/48000/2', 'opus/16000/2'), 'offer')).toMatch(noOpus)
    expect(rejected(edit(FIREFOX_OFFER, 'opus/48000/2', 'opus/48000'), 'offer')).toMatch(noOpus)
  })

  it('checks the media id\'s syntax', () => {
    const withMid = (mid: string): string => edit(OFFER, 'a=mid:audio', `a=mid:${mid}`)
    expect(checkRemoteSdp(edit(withMid('0'), /a=group:(BUNDLE|LS) audio/g, 'a=group:$1 0'), 'offer')).toMatchObject({ ok: true, summary: { mid: '0' } })
    for (const mid of ['', 'a b', 'x'.repeat(33)]) expect(rejected(withMid(mid), 'offer')).toMatch(/a=mid: bad mid/)
  })

  it('requires one sha-256 fingerprint, a setup role and ICE credentials', () => {
    expect(rejected(edit(OFFER, /a=fingerprint:[^\r]*\r\n/, ''))).toMatch(/no a=fingerprint:sha-256/)
    expect(rejected(edit(OFFER, 'sha-256', 'sha-1'))).toMatch(/sha-256/)
    expect(rejected(edit(OFFER, ':55\r\n', '\r\n'))).toMatch(/sha-256/)
    const fingerprint = OFFER.split('\r\n').find(line => line.startsWith('a=fingerprint')) as string
    expect(rejected(edit(OFFER, fingerprint, `${fingerprint}\r\n${fingerprint}`))).toMatch(/more than one a=fingerprint/)
    expect(rejected(edit(OFFER, 'a=setup:actpass\r\n', ''))).toMatch(/a=setup/)
    expect(rejected(OFFER, 'answer')).toMatch(/actpass/)
    expect(rejected(edit(OFFER, 'a=ice-ufrag:/EXV\r\n', ''))).toMatch(/ice-ufrag/)
    expect(rejected(edit(OFFER, 'a=ice-pwd:cp0u4aqV2s+i+PERuk1SNV\r\n', ''))).toMatch(/ice-pwd/)
  })

  it('checks every candidate inside the SDP, and bounds their number', () => {
    const withCandidate = (line: string): string => edit(OFFER, 'a=setup:actpass', `a=setup:actpass\r\n${line}`)
    expect(checkRemoteSdp(withCandidate('a=candidate:1 1 UDP 2114977791 127.0.0.1 41445 typ host'), 'offer')).toMatchObject({ ok: true, summary: { candidates: 1 } })
    expect(rejected(withCandidate('a=candidate:1 1 TCP 2114977791 127.0.0.1 41445 typ host'))).toMatch(/not UDP/)
    expect(rejected(withCandidate('a=candidate:1 1 UDP 2114977791 host.local 41445 typ host'))).toMatch(/IP address/)
    const many = Array.from({ length: 33 }, (_, i) => `a=candidate:${i} 1 UDP 1 127.0.0.1 ${1000 + i} typ host`).join('\r\n')
    expect(rejected(withCandidate(many))).toMatch(/more than 32 candidates/)
  })
})

describe('checkCandidate (RFC 8839)', () => {
  it('accepts host, srflx, prflx and relay candidates, with or without "a="', () => {
    const good = [
      'candidate:1 1 UDP 2114977791 127.0.0.1 41445 typ host',
      'a=candidate:1 1 UDP 2114977791 127.0.0.1 41445 typ host',
      'candidate:2 1 udp 1686052607 198.18.0.7 50000 typ srflx raddr 10.0.0.2 rport 41445',
      'candidate:3 1 UDP 0 127.0.0.1 43322 typ prflx',
      'candidate:4 1 UDP 16777215 198.18.1.1 49152 typ relay raddr 198.18.0.7 rport 50000 generation 0 ufrag abcd',
      'candidate:5 1 UDP 2114977535 ::1 40000 typ host',
      'candidate:abc+/Z 256 UDP 4294967295 fe80::1 65535 typ host raddr 0.0.0.0 rport 0'
    ]
    for (const candidate of good) {
      const result = checkCandidate(candidate)
      expect(result.ok, candidate).toBe(true)
      if (result.ok) expect(result.summary.candidate.startsWith('candidate:')).toBe(true)
    }
    expect(checkCandidate(good[3])).toMatchObject({ ok: true, summary: { type: 'prflx', address: '127.0.0.1', port: 43322, priority: 0 } })
  })

  it('rejects bad candidates', () => {
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /not a string/],
      ['', /candidate:/],
      ['candidate:1 1 UDP 1 127.0.0.1 9', /too few fields/],
      ['candidate:1 1 TCP 1 127.0.0.1 9 typ host tcptype active', /not UDP/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 typ bogus', /host\|srflx/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 type host', /typ/],
      ['candidate:1 1 UDP 1 999.0.0.1 9 typ host', /IP address/],
      ['candidate:1 1 UDP 1 abcd.local 9 typ host', /IP address/],
      ['candidate:1 1 UDP 1 fe80::1%eth0 9 typ host', /IP address/],
      ['candidate:1 1 UDP 1 127.0.0.1 0 typ host', /port/],
      ['candidate:1 1 UDP 1 127.0.0.1 70000 typ host', /port/],
      ['candidate:1 1 UDP 4294967296 127.0.0.1 9 typ host', /priority/],
      ['candidate:1 0 UDP 1 127.0.0.1 9 typ host', /component/],
      ['candidate:1 257 UDP 1 127.0.0.1 9 typ host', /component/],
      ['candidate:' + 'f'.repeat(33) + ' 1 UDP 1 127.0.0.1 9 typ host', /foundation/],
      ['candidate:f-1 1 UDP 1 127.0.0.1 9 typ host', /foundation/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 typ host generation', /without a value/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 typ relay raddr nowhere rport 1', /raddr/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 typ relay raddr 1.2.3.4 rport x', /rport/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 typ host a 1 a 2', /repeats/],
      ['candidate:1  1 UDP 1 127.0.0.1 9 typ host', /component/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 typ host\r\na=evil', /printable/],
      ['candidate:1 1 UDP 1 127.0.0.1 9 typ host x ' + 'y'.repeat(600), /longer than/]
    ]
    for (const [candidate, reason] of bad) {
      const result = checkCandidate(candidate)
      expect(result.ok, String(candidate)).toBe(false)
      if (!result.ok) expect(result.reason, String(candidate)).toMatch(reason)
    }
  })
})
