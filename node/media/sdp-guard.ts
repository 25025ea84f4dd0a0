// Checks a remote SDP and remote ICE candidates before they reach node-datachannel: its native
// parser can abort the whole process on input it does not expect, so only text this module
// accepts may ever be handed to it. The rules describe the one shape voxmesh speaks — a single
// DTLS-SRTP audio m-line carrying Opus — and refuse everything else:
//
// - at most MAX_REMOTE_SDP_BYTES, printable ASCII lines of known types (v o s i t c b m a);
// - exactly one m-line: `m=audio <port> UDP/TLS/RTP/SAVPF <fmts>` where some dynamic payload
//   type (96–127) among the formats has `a=rtpmap:<pt> opus/48000/2` (voxmesh offers 111,
//   Firefox 109, other peers any dynamic number); the first such one listed is the session's;
// - exactly one `a=fingerprint:sha-256`, an `a=setup`, `a=ice-ufrag` and `a=ice-pwd`, rtcp-mux;
// - attributes from a known list, each with the syntax native code expects; candidates per
//   RFC 8839 with UDP transport and typ host|srflx|prflx|relay.
import { isIPv4, isIPv6 } from 'node:net'

export const MAX_REMOTE_SDP_BYTES = 16 * 1024
export const MAX_SDP_LINES = 256
export const MAX_SDP_LINE_BYTES = 1024
/** Most a=candidate lines accepted inside one SDP. */
export const MAX_SDP_CANDIDATES = 32
export const MAX_CANDIDATE_BYTES = 512
/** Most payload formats on the m-line. */
export const MAX_MEDIA_FORMATS = 16
export const MAX_MID_LENGTH = 32
/** RFC 3551 §3: 96–127 are the dynamic payload types, the only ones an rtpmap may give Opus. */
export const MIN_DYNAMIC_PAYLOAD_TYPE = 96
export const MAX_DYNAMIC_PAYLOAD_TYPE = 127

export type GuardResult = { ok: true } | { ok: false, reason: string }

export type SdpType = 'offer' | 'answer'
export type SdpSetup = 'actpass' | 'active' | 'passive'
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay'

export interface AudioSdpSummary {
  mid: string
  /** The sha-256 DTLS certificate fingerprint, upper-case hex pairs joined by ':'. */
  fingerprint: string
  setup: SdpSetup
  iceUfrag: string
  icePwd: string
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'
  /** SSRCs the sender announced (a=ssrc). */
  ssrcs: number[]
  /** a=candidate lines carried inside the SDP. */
  candidates: number
  /**
   * The dynamic payload type (96–127) this description gives Opus: the first format on the
   * m-line with `a=rtpmap:<pt> opus/48000/2`. Audio is sent and received on it.
   */
  opusPayloadType: number
}

export type SdpCheck = { ok: true, summary: AudioSdpSummary } | { ok: false, reason: string }

export interface CandidateSummary {
  /** The candidate without an "a=" prefix: `candidate:...`. */
  candidate: string
  type: CandidateType
  address: string
  port: number
  priority: number
}

export type CandidateCheck = { ok: true, summary: CandidateSummary } | { ok: false, reason: string }

const PRINTABLE_LINE = /^[\x20-\x7e]*$/
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/
const ICE_CHARS = /^[A-Za-z0-9+/]+$/
const MID = new RegExp(`^[A-Za-z0-9_\\-.]{1,${MAX_MID_LENGTH}}$`)
const FINGERPRINT_SHA256 = /^sha-256 ((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$/
const UINT = /^[0-9]{1,10}$/
const CANDIDATE_TYPES = new Set<string>(['host', 'srflx', 'prflx', 'relay'])

function bad (reason: string): { ok: false, reason: string } {
  return { ok: false, reason }
}

function isUint (text: string, max: number): boolean {
  return UINT.test(text) && Number(text) <= max
}

function isAddress (text: string): boolean {
  return text.length <= 45 && (isIPv4(text) || (isIPv6(text) && !text.includes('%')))
}

/**
 * Checks one ICE candidate attribute (RFC 8839 §5.1), with or without the "a=" prefix:
 * `candidate:<foundation> <component> UDP <priority> <address> <port> typ <type>
 * [raddr <address>] [rport <port>] *(<name> <value>)`.
 */
export function checkCandidate (text: unknown): CandidateCheck {
  if (typeof text !== 'string') return bad('candidate is not a string')
  if (text.length > MAX_CANDIDATE_BYTES) return bad(`candidate longer than ${MAX_CANDIDATE_BYTES} bytes`)
  if (!PRINTABLE_LINE.test(text)) return bad('candidate has characters other than printable ASCII')
  const candidate = text.startsWith('a=') ? text.slice(2) : text
  if (!candidate.startsWith('candidate:')) return bad('not a "candidate:" attribute')
  const fields = candidate.slice('candidate:'.length).split(' ')
  if (fields.length < 8) return bad('candidate has too few fields')
  const [foundation, component, transport, priority, address, port, typ, type] = fields as [string, string, string, string, string, string, string, string]
  if (foundation.length > 32 || !ICE_CHARS.test(foundation)) return bad('bad candidate foundation')
  if (!isUint(component, 256) || Number(component) < 1) return bad('bad candidate component id')
  if (transport.toUpperCase() !== 'UDP') return bad(`candidate transport ${JSON.stringify(transport)} is not UDP`)
  if (!isUint(priority, 0xffffffff)) return bad('bad candidate priority')
  if (!isAddress(address)) return bad('candidate address is not an IP address')
  if (!isUint(port, 65535) || Number(port) === 0) return bad('bad candidate port')
  if (typ !== 'typ') return bad('candidate lacks "typ"')
  if (!CANDIDATE_TYPES.has(type)) return bad(`candidate type ${JSON.stringify(type)} is not host|srflx|prflx|relay`)
  const rest = fields.slice(8)
  if (rest.length % 2 !== 0) return bad('candidate extension without a value')
  const seen = new Set<string>()
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i] as string
    const value = rest[i + 1] as string
    if (!TOKEN.test(name) || !TOKEN.test(value)) return bad('bad candidate extension')
    if (seen.has(name)) return bad(`candidate repeats ${JSON.stringify(name)}`)
    seen.add(name)
    if (name === 'raddr' && !isAddress(value)) return bad('candidate raddr is not an IP address')
    if (name === 'rport' && !isUint(value, 65535)) return bad('bad candidate rport')
  }
  return { ok: true, summary: { candidate, type: type as CandidateType, address, port: Number(port), priority: Number(priority) } }
}

type AttributeCheck = (value: string | undefined) => string | undefined

const noValue: AttributeCheck = value => value === undefined ? undefined : 'takes no value'
const anyText: AttributeCheck = value => value !== undefined && value.length > 0 ? undefined : 'needs a value'
const payloadTypeLead: AttributeCheck = value => {
  if (value === undefined) return 'needs a value'
  const space = value.indexOf(' ')
  if (space <= 0) return 'needs "<payload type> <parameters>"'
  return isUint(value.slice(0, space), 127) ? undefined : 'bad payload type'
}

// The attributes a voxmesh (node-datachannel) audio description uses, with the syntax checks
// that keep native parsing (numbers read with stoi/stoul, fixed fields) away from surprises.
const ATTRIBUTES: Record<string, AttributeCheck> = {
  group: value => value !== undefined && /^[A-Z]+( [A-Za-z0-9_\-.]{1,32})*$/.test(value) ? undefined : 'bad group',
  'msid-semantic': value => value !== undefined && /^ ?WMS( [!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+)*$/.test(value) ? undefined : 'bad msid-semantic',
  'ice-options': value => value !== undefined && /^[A-Za-z0-9\-+.]+([ ,][A-Za-z0-9\-+.]+)*$/.test(value) ? undefined : 'bad ice-options',
  'ice-ufrag': value => value !== undefined && value.length >= 4 && value.length <= 256 && ICE_CHARS.test(value) ? undefined : 'bad ice-ufrag',
  'ice-pwd': value => value !== undefined && value.length >= 22 && value.length <= 256 && ICE_CHARS.test(value) ? undefined : 'bad ice-pwd',
  fingerprint: value => value !== undefined && FINGERPRINT_SHA256.test(value) ? undefined : 'not a sha-256 fingerprint',
  setup: value => value === 'actpass' || value === 'active' || value === 'passive' ? undefined : 'bad setup',
  mid: value => value !== undefined && MID.test(value) ? undefined : 'bad mid',
  sendrecv: noValue,
  sendonly: noValue,
  recvonly: noValue,
  inactive: noValue,
  'rtcp-mux': noValue,
  'rtcp-rsize': noValue,
  // RFC 3611 report blocks, e.g. Chromium's "rcvr-rtt=all".
  'rtcp-xr': value => value !== undefined && value.length <= 256 && /^[A-Za-z0-9-]+(=[A-Za-z0-9\-:,.]+)?( [A-Za-z0-9-]+(=[A-Za-z0-9\-:,.]+)?)*$/.test(value) ? undefined : 'bad rtcp-xr',
  'end-of-candidates': noValue,
  rtcp: value => value !== undefined && /^[0-9]{1,5}( IN IP[46] [0-9A-Fa-f.:]{1,45})?$/.test(value) && isUint(value.split(' ')[0] as string, 65535) ? undefined : 'bad rtcp',
  ssrc: value => {
    if (value === undefined) return 'needs a value'
    const match = /^([0-9]{1,10}) ([A-Za-z-]{1,32})(:[\x21-\x7e]{1,128}( [\x21-\x7e]{1,128})?)?$/.exec(value)
    return match !== null && isUint(match[1] as string, 0xffffffff) ? undefined : 'bad ssrc'
  },
  msid: value => value !== undefined && /^[\x21-\x7e]{1,64}( [\x21-\x7e]{1,64})?$/.test(value) ? undefined : 'bad msid',
  rtpmap: value => {
    if (value === undefined) return 'needs a value'
    const match = /^([0-9]{1,3}) ([A-Za-z0-9\-_.]{1,32})\/([0-9]{1,6})(\/[0-9]{1,2})?$/.exec(value)
    return match !== null && isUint(match[1] as string, 127) ? undefined : 'bad rtpmap'
  },
  fmtp: payloadTypeLead,
  'rtcp-fb': payloadTypeLead,
  ptime: value => value !== undefined && isUint(value, 1000) ? undefined : 'bad ptime',
  maxptime: value => value !== undefined && isUint(value, 1000) ? undefined : 'bad maxptime',
  extmap: value => value !== undefined && /^[0-9]{1,2}(\/(sendrecv|sendonly|recvonly|inactive))? [\x21-\x7e]{1,128}( [\x21-\x7e]{1,128})?$/.test(value) && isUint(value.split(/[ /]/)[0] as string, 14) ? undefined : 'bad extmap',
  'extmap-allow-mixed': noValue,
  candidate: anyText // checked in full by checkCandidate
}

/** What the lines of a description said so far, while checkRemoteSdp reads them. */
interface SdpReading {
  mLines: number
  mid?: string
  fingerprint?: string
  fingerprints: number
  setup?: SdpSetup
  iceUfrag?: string
  icePwd?: string
  direction: AudioSdpSummary['direction']
  rtcpMux: boolean
  formats: string[]
  rtpmaps: Map<string, string>
  ssrcs: Set<number>
  candidates: number
  groupMids: string[]
  seenSession: { o: boolean, s: boolean, t: boolean }
}

/** The description's lines without line ends, or why it is refused as a whole. */
function sdpLines (sdp: unknown): { ok: true, lines: string[] } | { ok: false, reason: string } {
  if (typeof sdp !== 'string') return bad('SDP is not a string')
  if (sdp.length > MAX_REMOTE_SDP_BYTES) return bad(`SDP longer than ${MAX_REMOTE_SDP_BYTES} bytes`)
  const lines = sdp.split('\n').map(line => line.endsWith('\r') ? line.slice(0, -1) : line)
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.length === 0) return bad('empty SDP')
  if (lines.length > MAX_SDP_LINES) return bad(`more than ${MAX_SDP_LINES} lines`)
  if (lines[0] !== 'v=0') return bad('SDP does not start with v=0')
  return { ok: true, lines }
}

/** One line (`index` counts from 0); a problem, or undefined. */
function readLine (reading: SdpReading, line: string, index: number): string | undefined {
  const where = `line ${index + 1}`
  if (line.length > MAX_SDP_LINE_BYTES) return `${where} longer than ${MAX_SDP_LINE_BYTES} bytes`
  if (!PRINTABLE_LINE.test(line)) return `${where} has characters other than printable ASCII`
  if (line.length < 2 || line[1] !== '=') return `${where} is not "<type>=<value>"`
  const kind = line[0] as string
  const value = line.slice(2)
  const { seenSession } = reading
  switch (kind) {
    case 'v': return index !== 0 ? `${where}: a second v= line` : undefined
    case 'o':
      if (reading.mLines > 0 || seenSession.o) return `${where}: misplaced o= line`
      if (!/^[\x21-\x7e]{1,64} [0-9]{1,20} [0-9]{1,20} IN IP[46] [\x21-\x7e]{1,64}$/.test(value)) return `${where}: bad o= line`
      seenSession.o = true
      return undefined
    case 's':
      if (reading.mLines > 0 || seenSession.s) return `${where}: misplaced s= line`
      seenSession.s = true
      return undefined
    case 'i': return undefined
    case 't':
      if (reading.mLines > 0 || !/^[0-9]{1,20} [0-9]{1,20}$/.test(value)) return `${where}: bad t= line`
      seenSession.t = true
      return undefined
    case 'c': return /^IN IP[46] [0-9A-Fa-f.:]{1,45}(\/[0-9]{1,3})?$/.test(value) ? undefined : `${where}: bad c= line`
    case 'b': return /^[A-Z][A-Za-z0-9-]{0,15}:[0-9]{1,9}$/.test(value) ? undefined : `${where}: bad b= line`
    case 'm': return readMediaLine(reading, value, where)
    case 'a': return readAttribute(reading, value, where)
    default: return `${where}: line type ${JSON.stringify(kind)} is not allowed`
  }
}

function readMediaLine (reading: SdpReading, value: string, where: string): string | undefined {
  reading.mLines++
  if (reading.mLines > 1) return 'more than one m-line'
  const match = /^audio ([0-9]{1,5}) UDP\/TLS\/RTP\/SAVPF((?: [0-9]{1,3})+)$/.exec(value)
  if (match === null) return `${where}: not "m=audio <port> UDP/TLS/RTP/SAVPF <formats>"`
  if (!isUint(match[1] as string, 65535)) return `${where}: bad m-line port`
  reading.formats = (match[2] as string).trim().split(' ')
  if (reading.formats.length > MAX_MEDIA_FORMATS) return `more than ${MAX_MEDIA_FORMATS} payload formats`
  if (reading.formats.some(format => !isUint(format, 127))) return `${where}: bad payload format`
  return undefined
}

/** An a= line: allowed, well-formed, and consistent with the ones before it. */
function readAttribute (reading: SdpReading, value: string, where: string): string | undefined {
  const colon = value.indexOf(':')
  const name = colon < 0 ? value : value.slice(0, colon)
  const attributeValue = colon < 0 ? undefined : value.slice(colon + 1)
  const check = ATTRIBUTES[name]
  if (!Object.hasOwn(ATTRIBUTES, name) || check === undefined) return `${where}: attribute ${JSON.stringify(name.slice(0, 32))} is not allowed`
  const problem = check(attributeValue)
  if (problem !== undefined) return `${where}: a=${name}: ${problem}`
  const text = attributeValue ?? ''
  switch (name) {
    case 'fingerprint':
      reading.fingerprints++
      reading.fingerprint = (FINGERPRINT_SHA256.exec(text)?.[1] as string).toUpperCase()
      return undefined
    case 'setup': reading.setup = text as SdpSetup; return undefined
    case 'group': reading.groupMids.push(...text.split(' ').slice(1)); return undefined
    case 'ice-ufrag':
      if (reading.iceUfrag !== undefined && reading.iceUfrag !== text) return 'conflicting ice-ufrag'
      reading.iceUfrag = text
      return undefined
    case 'ice-pwd':
      if (reading.icePwd !== undefined && reading.icePwd !== text) return 'conflicting ice-pwd'
      reading.icePwd = text
      return undefined
    case 'mid':
      if (reading.mLines === 0) return `${where}: a=mid before the m-line`
      if (reading.mid !== undefined) return 'more than one a=mid'
      reading.mid = text
      return undefined
    case 'sendrecv': case 'sendonly': case 'recvonly': case 'inactive': reading.direction = name; return undefined
    case 'rtcp-mux': reading.rtcpMux = true; return undefined
    case 'rtpmap': {
      const [payloadType, codec] = text.split(' ') as [string, string]
      if (reading.rtpmaps.has(payloadType)) return `${where}: a second rtpmap for ${payloadType}`
      reading.rtpmaps.set(payloadType, codec)
      return undefined
    }
    case 'ssrc': {
      const ssrc = Number(text.split(' ')[0])
      if (reading.ssrcs.size >= 16 && !reading.ssrcs.has(ssrc)) return 'too many SSRCs'
      reading.ssrcs.add(ssrc)
      return undefined
    }
    case 'candidate': {
      if (++reading.candidates > MAX_SDP_CANDIDATES) return `more than ${MAX_SDP_CANDIDATES} candidates`
      const candidate = checkCandidate(value)
      return candidate.ok ? undefined : `${where}: ${candidate.reason}`
    }
    default: return undefined
  }
}

/**
 * The first payload type on the m-line that is dynamic and mapped to opus/48000/2, or
 * undefined. The m-line's order is the sender's preference (RFC 3264 §5.1), so when several
 * map to Opus the first wins. A static type (0–95) never counts, whatever its rtpmap says:
 * those numbers belong to fixed codecs, and an rtpmap cannot rebind them.
 */
function findOpusPayloadType (reading: SdpReading): number | undefined {
  const opus = reading.formats.find(format => {
    const payloadType = Number(format)
    return payloadType >= MIN_DYNAMIC_PAYLOAD_TYPE && payloadType <= MAX_DYNAMIC_PAYLOAD_TYPE &&
      reading.rtpmaps.get(format)?.toLowerCase() === 'opus/48000/2'
  })
  return opus === undefined ? undefined : Number(opus)
}

/** Once every line is read: what must be there, and the summary. */
function summarize (reading: SdpReading, type: unknown): SdpCheck {
  const { mid, fingerprint, setup, iceUfrag, icePwd } = reading
  if (!reading.seenSession.o || !reading.seenSession.s || !reading.seenSession.t) return bad('missing o=, s= or t= line')
  if (reading.mLines === 0) return bad('no audio m-line')
  if (mid === undefined) return bad('no a=mid')
  if (reading.groupMids.some(groupMid => groupMid !== mid)) return bad('a=group names a media id other than the m-line\'s')
  const opusPayloadType = findOpusPayloadType(reading)
  if (opusPayloadType === undefined) return bad(`no dynamic payload type (${MIN_DYNAMIC_PAYLOAD_TYPE}-${MAX_DYNAMIC_PAYLOAD_TYPE}) on the m-line has a=rtpmap:<pt> opus/48000/2`)
  if (reading.fingerprints === 0 || fingerprint === undefined) return bad('no a=fingerprint:sha-256')
  if (reading.fingerprints > 1) return bad('more than one a=fingerprint')
  if (setup === undefined) return bad('no a=setup')
  if (type === 'answer' && setup === 'actpass') return bad('an answer with a=setup:actpass')
  if (iceUfrag === undefined || icePwd === undefined) return bad('no a=ice-ufrag / a=ice-pwd')
  if (!reading.rtcpMux) return bad('no a=rtcp-mux')
  return { ok: true, summary: { mid, fingerprint, setup, iceUfrag, icePwd, direction: reading.direction, ssrcs: [...reading.ssrcs], candidates: reading.candidates, opusPayloadType } }
}

/**
 * Checks a remote description before node-datachannel sees it. `type` is the type it came
 * with (and must be offer or answer); the summary gives what the description says.
 */
export function checkRemoteSdp (sdp: unknown, type?: unknown): SdpCheck {
  if (type !== undefined && type !== 'offer' && type !== 'answer') return bad('description type is not offer or answer')
  const split = sdpLines(sdp)
  if (!split.ok) return split
  const reading: SdpReading = {
    mLines: 0, fingerprints: 0, direction: 'sendrecv', rtcpMux: false, formats: [], rtpmaps: new Map(), ssrcs: new Set(),
    candidates: 0, groupMids: [], seenSession: { o: false, s: false, t: false }
  }
  for (const [index, line] of split.lines.entries()) {
    const problem = readLine(reading, line, index)
    if (problem !== undefined) return bad(problem)
  }
  return summarize(reading, type)
}

/**
 * The SDP without the a=candidate lines `keep` turns down (line ends preserved). For SDP that
 * checkRemoteSdp() accepted: its candidate lines all parse.
 */
export function filterSdpCandidates (sdp: string, keep: (candidate: CandidateSummary) => boolean): string {
  return sdp.split('\n').filter(line => {
    if (!line.startsWith('a=candidate:')) return true
    const check = checkCandidate(line.endsWith('\r') ? line.slice(0, -1) : line)
    return check.ok && keep(check.summary)
  }).join('\n')
}

/**
 * The SDP without its a=candidate and a=end-of-candidates lines (line ends preserved), and the
 * candidates it had, "candidate:..." without the "a=" prefix.
 */
export function splitSdpCandidates (sdp: string): { sdp: string, candidates: string[] } {
  const candidates: string[] = []
  const rest = sdp.split('\n').filter(line => {
    const bare = line.endsWith('\r') ? line.slice(0, -1) : line
    if (bare.startsWith('a=candidate:')) { candidates.push(bare.slice(2)); return false }
    return bare !== 'a=end-of-candidates'
  })
  return { sdp: rest.join('\n'), candidates }
}

/** The sha-256 fingerprint in an SDP (ours or a peer's), upper-case, or undefined. */
export function sdpFingerprint (sdp: string): string | undefined {
  for (const line of sdp.split('\n')) {
    const match = /^a=fingerprint:sha-256 ((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})\r?$/.exec(line)
    if (match !== null) return (match[1] as string).toUpperCase()
  }
  return undefined
}
