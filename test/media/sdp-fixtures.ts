// SDP as the media stack writes it, shared by the tests of the guard and of the browser media port.

// An offer as node-datachannel 0.33 (libdatachannel 0.24) writes it, with CRLF line ends.
export const OFFER = [
  'v=0',
  'o=rtc 3864157758 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE audio',
  'a=group:LS audio',
  'a=msid-semantic:WMS *',
  'a=ice-options:ice2,trickle',
  'a=fingerprint:sha-256 CD:23:5B:5A:77:DF:22:FA:FE:1E:82:A3:18:1D:BE:D6:6D:4B:FB:EB:16:9E:A0:C2:DD:B6:6D:90:0C:A7:56:55',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:audio',
  'a=sendrecv',
  'a=ssrc:1111 cname:cname-A',
  'a=ssrc:1111 msid:stream-A track-A',
  'a=msid:stream-A track-A',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
  'a=setup:actpass',
  'a=ice-ufrag:/EXV',
  'a=ice-pwd:cp0u4aqV2s+i+PERuk1SNV',
  ''
].join('\r\n')

/** The answer to OFFER: the same media, a=setup:active. */
export const ANSWER = OFFER.replace('a=setup:actpass', 'a=setup:active')
/** What the guard refuses: no audio m-line at all. */
export const BAD_SDP = 'v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n'
