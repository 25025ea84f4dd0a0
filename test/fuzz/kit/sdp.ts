// SDP for the guard's fuzzers: the audio offer/answer libdatachannel writes, with candidates of
// every type, and SDP-aware mutations (lines dropped, doubled, swapped, retyped; fields at and
// past their bounds; odd line ends and characters) besides plain text damage.
import type { Rng } from './rng.js'

const CANDIDATES = [
  'a=candidate:1 1 UDP 2122317823 198.18.1.10 50000 typ host',
  'a=candidate:2 1 UDP 1686109951 198.18.200.1 61000 typ srflx raddr 198.18.1.10 rport 50000',
  'a=candidate:3 1 UDP 25108223 198.18.0.1 50002 typ relay raddr 198.18.200.1 rport 61000',
  'a=candidate:4 1 UDP 2122317567 2001:db8::10 50004 typ host generation 0',
  'a=candidate:5 1 UDP 1845501695 198.18.9.9 40000 typ prflx raddr 0.0.0.0 rport 0'
]

export function validSdp (rng: Rng, type: 'offer' | 'answer'): string {
  return [
    'v=0',
    `o=rtc ${rng.int(1, 2 ** 32 - 1)} 0 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE audio',
    'a=msid-semantic:WMS *',
    ...(rng.bool() ? ['a=ice-options:ice2,trickle'] : []),
    'a=fingerprint:sha-256 CD:23:5B:5A:77:DF:22:FA:FE:1E:82:A3:18:1D:BE:D6:6D:4B:FB:EB:16:9E:A0:C2:DD:B6:6D:90:0C:A7:56:55',
    `m=audio ${rng.pick([9, 50000, 65535])} UDP/TLS/RTP/SAVPF 111`,
    'c=IN IP4 0.0.0.0',
    'a=mid:audio',
    rng.pick(['a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive']),
    `a=ssrc:${rng.int(1, 2 ** 32 - 1)} cname:cname-A`,
    'a=msid:stream-A track-A',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
    `a=setup:${type === 'offer' ? 'actpass' : rng.pick(['active', 'passive'])}`,
    'a=ice-ufrag:/EXV',
    'a=ice-pwd:cp0u4aqV2s+i+PERuk1SNV',
    ...CANDIDATES.filter(() => rng.bool(0.4)),
    ...(rng.bool() ? ['a=end-of-candidates'] : []),
    ''
  ].join('\r\n')
}

const ODD_FIELDS = ['', '0', '-1', '65536', '4294967296', '99999999999', 'x'.repeat(1100), '::1%eth0', '1.2.3.4.5', '[::1]', 'tcp', 'UDP/TLS/RTP/SAVPF', 'sha-1', 'é', '\u0000', '\t', 'opus/48000', 'typ', 'raddr']
const ODD_LINES = [
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=fingerprint:sha-1 AB:CD', 'a=rtpmap:0 PCMU/8000',
  'a=candidate:1 1 TCP 1 198.18.1.1 9 typ host tcptype active', 'a=candidate:x', 'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'b=AS:30', 'i=info', 'z=0', 'x=unknown', 'a=', '=', 'a=ice-lite', 'a=setup:holdconn', 'a=mid:' + 'm'.repeat(40), 'a=ssrc:4294967296 cname:x'
]

/** One to three SDP-aware mutations. */
export function mutateSdp (rng: Rng, sdp: string): string {
  const lines = sdp.split('\r\n')
  for (let n = rng.int(1, 3); n > 0; n--) {
    const i = rng.int(0, lines.length - 1)
    const line = lines[i] as string
    switch (rng.int(0, 8)) {
      case 0: lines.splice(i, 1); break
      case 1: lines.splice(i, 0, line); break
      case 2: { const j = rng.int(0, lines.length - 1); lines[i] = lines[j] as string; lines[j] = line; break }
      case 3: lines.splice(i, 0, rng.pick(ODD_LINES)); break
      case 4: { // one space-separated field replaced
        const fields = line.split(' ')
        fields[rng.int(0, fields.length - 1)] = rng.pick(ODD_FIELDS)
        lines[i] = fields.join(' ')
        break
      }
      case 5: lines.splice(i, 0, ...Array.from({ length: rng.pick([33, 257]) }, (_, k) => `a=candidate:${k} 1 UDP ${k} 198.18.1.${k % 250} ${1000 + k} typ host`)); break
      case 6: lines[i] = line.slice(0, rng.int(0, line.length)); break
      case 7: lines[i] = line.replace(/\d+/, String(rng.pick([0, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53]))); break
      default: lines[i] = `${line}${rng.pick(['\n', '\r', ' ', '\u00e9', '\u0000', ':'])}`
    }
  }
  return lines.join(rng.bool(0.9) ? '\r\n' : '\n')
}

/** A valid SDP, SDP-mutated, or text-damaged. */
export function sdpInput (rng: Rng, type: 'offer' | 'answer'): string {
  const sdp = validSdp(rng, type)
  const r = rng.float()
  if (r < 0.25) return sdp
  if (r < 0.85) return mutateSdp(rng, sdp)
  const at = rng.int(0, sdp.length)
  return sdp.slice(0, at) + String.fromCharCode(...rng.bytes(rng.int(1, 16))) + sdp.slice(at + rng.int(0, 8))
}
