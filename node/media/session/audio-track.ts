// The session's one Opus audio track (RTP, RFC 7587): SendRecv with our own SSRC, sending
// through RtpPacketizer → RtcpSrReporter → RtcpNackResponder (handlers not chained are
// ignored), the RTP timestamp set before each send and advanced by the frame's samples (960
// per 20 ms). Received messages are whole RTP packets with RTCP mixed in: parsed here (rtp.ts).
//
// Opus's payload type is whatever the descriptions negotiate (voxmesh offers 111, Firefox 109):
// the track is made with one (it is written into our description) and can switch to the peer's
// before media flows. node-datachannel's RtpPacketizationConfig cannot change its payload type,
// so switching builds a new handler chain.
import { randomBytes } from 'node:crypto'
import { Audio, RtcpNackResponder, RtcpSrReporter, RtpPacketizationConfig, RtpPacketizer, type PeerConnection, type Track } from 'node-datachannel'
import type { Logger } from '../../../common/logger.js'
import type { RandomSource } from '../../../common/random.js'
import { MAX_OPUS_PACKET_SAMPLES, OPUS_CLOCK_RATE, RTP_HEADER_BYTES, advanceTimestamp, packetKind, parseRtp } from '../rtp.js'
import { errorText } from './callbacks.js'
import { MAX_AUDIO_PAYLOAD_BYTES, MIN_AUDIO_PACKET_SAMPLES } from './constants.js'
import type { MediaCounters } from './stats.js'
import type { ReceivedRtp } from './types.js'

/** Uniform numbers in [0, 1) from the operating system's generator: SSRCs should not be guessable. */
export const cryptoRandom: RandomSource = () => randomBytes(4).readUInt32BE(0) / 2 ** 32

/** Who our stream is on the wire: SSRC, CNAME and the first RTP timestamp, all random (RFC 3550). */
export interface TrackIdentity { ssrc: number, cname: string, firstTimestamp: number }

function randomUint32 (random: RandomSource): number {
  return Math.floor(random() * 2 ** 32) >>> 0
}

export function trackIdentity (random: RandomSource): TrackIdentity {
  const ssrc = randomUint32(random) || 1
  const cnameBytes = Array.from({ length: 6 }, () => Math.floor(random() * 256).toString(16).padStart(2, '0'))
  return { ssrc, cname: `voxmesh-${cnameBytes.join('')}`, firstTimestamp: randomUint32(random) }
}

export interface AudioTrackInit {
  /** The offerer's AUDIO_MID, or whatever the offer says for the answerer. */
  mid: string
  /**
   * Opus's payload type in our description, sent and received on: OPUS_PAYLOAD_TYPE for the
   * offerer, the offer's for the answerer (libdatachannel answers with the track's own
   * description, so it must carry the number the offer chose).
   */
  payloadType: number
  identity: TrackIdentity
  log: Logger
  counters: MediaCounters
  /** False once the session closed or ended: track events are then ignored. */
  live: () => boolean
  onOpen: () => void
  onClosed: () => void
  /** Any message arrived (before it is parsed). */
  onPacket: () => void
  /** One valid Opus RTP packet. */
  onAudio: (payload: Uint8Array, rtp: ReceivedRtp) => void
}

export interface AudioTrack {
  /** One Opus packet; false when it was dropped. Throws RangeError on impossible `samples`. */
  send: (opusPayload: Uint8Array, samples: number) => boolean
  /**
   * Sends on `payloadType` from now on and accepts it too (the offerer, when the answer names
   * Opus on another number than the offer did); the first payload type stays accepted, being
   * what our description asked the peer to send (RFC 3264 §5.1). Throws what node-datachannel
   * throws.
   */
  usePayloadType: (payloadType: number) => void
  /** Releases the track's callbacks (otherwise they keep the process alive) and its handlers. */
  close: () => void
}

/**
 * Counts one received message and gives back its Opus payload and header, if it is RTP of one
 * of the `opusPayloadTypes`.
 */
export function readAudioPacket (message: Buffer, counters: MediaCounters, opusPayloadTypes: ReadonlySet<number>): { payload: Uint8Array, rtp: ReceivedRtp } | undefined {
  const kind = packetKind(message)
  if (kind === 'rtcp') { counters.rtcpPacketsReceived++; return undefined }
  const parsed = kind === 'rtp' ? parseRtp(message) : undefined
  if (parsed === undefined || !parsed.ok || !opusPayloadTypes.has(parsed.packet.payloadType) || parsed.packet.payload.length === 0) {
    counters.invalidPacketsReceived++
    return undefined
  }
  const packet = parsed.packet
  counters.packetsReceived++
  counters.bytesReceived += message.length
  return { payload: packet.payload, rtp: { payloadType: packet.payloadType, seq: packet.sequenceNumber, timestamp: packet.timestamp, ssrc: packet.ssrc, marker: packet.marker } }
}

/** The sending handler chain for `payloadType`, set on `track`, and what must be held for it. */
function sendChain (track: Track, identity: TrackIdentity, payloadType: number, timestamp: number): { rtpConfig: RtpPacketizationConfig, handlers: unknown[] } {
  const rtpConfig = new RtpPacketizationConfig(identity.ssrc, identity.cname, payloadType, OPUS_CLOCK_RATE)
  rtpConfig.timestamp = timestamp
  const packetizer = new RtpPacketizer(rtpConfig)
  const srReporter = new RtcpSrReporter(rtpConfig)
  const nackResponder = new RtcpNackResponder()
  packetizer.addToChain(srReporter)
  packetizer.addToChain(nackResponder)
  track.setMediaHandler(packetizer)
  return { rtpConfig, handlers: [packetizer, srReporter, nackResponder] }
}

/** Adds the track to `pc`; throws what node-datachannel throws. */
export function addAudioTrack (pc: PeerConnection, init: AudioTrackInit): AudioTrack {
  const { identity, log, counters, live } = init
  const audio = new Audio(init.mid, 'SendRecv')
  audio.addOpusCodec(init.payloadType)
  audio.addSSRC(identity.ssrc, identity.cname, 'voxmesh', 'voxmesh-audio')
  let track: Track | undefined = pc.addTrack(audio)
  let rtpTimestamp = identity.firstTimestamp
  let sendPayloadType = init.payloadType
  const receivePayloadTypes = new Set([init.payloadType])
  let chain: ReturnType<typeof sendChain> | undefined = sendChain(track, identity, sendPayloadType, rtpTimestamp)
  /** Held so that the description lives exactly as long as the track (the chain is held in `chain`). */
  const keep: unknown[] = [audio]
  track.onOpen(() => { if (live()) init.onOpen() })
  track.onClosed(() => {
    if (!live()) return
    init.onClosed()
    log.debug({}, 'audio track closed')
  })
  track.onError(err => { if (live()) log.warn({ err }, 'audio track error') })
  track.onMessage((message: Buffer) => {
    if (!live()) return
    init.onPacket()
    const received = readAudioPacket(message, counters, receivePayloadTypes)
    if (received !== undefined) init.onAudio(received.payload, received.rtp)
  })

  return {
    send (opusPayload, samples) {
      if (track === undefined || chain === undefined) return false
      if (!Number.isInteger(samples) || samples < MIN_AUDIO_PACKET_SAMPLES || samples > MAX_OPUS_PACKET_SAMPLES) {
        throw new RangeError(`samples must be an integer in ${MIN_AUDIO_PACKET_SAMPLES}..${MAX_OPUS_PACKET_SAMPLES}`)
      }
      const timestamp = rtpTimestamp
      rtpTimestamp = advanceTimestamp(rtpTimestamp, samples)
      if (!(opusPayload instanceof Uint8Array) || opusPayload.length === 0 || opusPayload.length > MAX_AUDIO_PAYLOAD_BYTES) {
        counters.packetsDropped++
        return false
      }
      try {
        chain.rtpConfig.timestamp = timestamp
        const sent = track.sendMessageBinary(Buffer.from(opusPayload.buffer, opusPayload.byteOffset, opusPayload.byteLength))
        if (!sent) { counters.packetsDropped++; return false }
      } catch (err) {
        counters.packetsDropped++
        log.debug({ err: errorText(err) }, 'sending an audio packet failed')
        return false
      }
      counters.packetsSent++
      counters.bytesSent += RTP_HEADER_BYTES + opusPayload.length
      return true
    },

    usePayloadType (payloadType) {
      if (track === undefined || payloadType === sendPayloadType) return
      chain = sendChain(track, identity, payloadType, rtpTimestamp)
      sendPayloadType = payloadType
      receivePayloadTypes.add(payloadType)
      log.debug({ payloadType }, 'audio track now sends Opus on the peer\'s payload type')
    },

    close () {
      const closing = track
      track = undefined
      chain = undefined
      keep.length = 0
      try { closing?.close() } catch (err) { log.warn({ err: errorText(err) }, 'closing the audio track failed') }
    }
  }
}
