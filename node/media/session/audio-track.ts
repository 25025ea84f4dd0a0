// The session's one Opus audio track (RTP, RFC 7587): SendRecv with our own SSRC, sending
// through RtpPacketizer → RtcpSrReporter → RtcpNackResponder (handlers not chained are
// ignored), the RTP timestamp set before each send and advanced by the frame's samples (960
// per 20 ms). Received messages are whole RTP packets with RTCP mixed in: parsed here (rtp.ts).
import { randomBytes } from 'node:crypto'
import { Audio, RtcpNackResponder, RtcpSrReporter, RtpPacketizationConfig, RtpPacketizer, type PeerConnection, type Track } from 'node-datachannel'
import type { Logger } from '../../../common/logger.js'
import type { RandomSource } from '../../../common/random.js'
import { MAX_OPUS_PACKET_SAMPLES, OPUS_CLOCK_RATE, OPUS_PAYLOAD_TYPE, RTP_HEADER_BYTES, advanceTimestamp, packetKind, parseRtp } from '../rtp.js'
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
  /** Releases the track's callbacks (otherwise they keep the process alive) and its handlers. */
  close: () => void
}

/** Counts one received message and gives back its Opus payload and header, if it is Opus RTP. */
export function readAudioPacket (message: Buffer, counters: MediaCounters): { payload: Uint8Array, rtp: ReceivedRtp } | undefined {
  const kind = packetKind(message)
  if (kind === 'rtcp') { counters.rtcpPacketsReceived++; return undefined }
  const parsed = kind === 'rtp' ? parseRtp(message) : undefined
  if (parsed === undefined || !parsed.ok || parsed.packet.payloadType !== OPUS_PAYLOAD_TYPE || parsed.packet.payload.length === 0) {
    counters.invalidPacketsReceived++
    return undefined
  }
  const packet = parsed.packet
  counters.packetsReceived++
  counters.bytesReceived += message.length
  return { payload: packet.payload, rtp: { payloadType: packet.payloadType, seq: packet.sequenceNumber, timestamp: packet.timestamp, ssrc: packet.ssrc, marker: packet.marker } }
}

/** Adds the track to `pc`; throws what node-datachannel throws. */
export function addAudioTrack (pc: PeerConnection, init: AudioTrackInit): AudioTrack {
  const { identity, log, counters, live } = init
  const audio = new Audio(init.mid, 'SendRecv')
  audio.addOpusCodec(OPUS_PAYLOAD_TYPE)
  audio.addSSRC(identity.ssrc, identity.cname, 'voxmesh', 'voxmesh-audio')
  let track: Track | undefined = pc.addTrack(audio)
  let rtpConfig: RtpPacketizationConfig | undefined = new RtpPacketizationConfig(identity.ssrc, identity.cname, OPUS_PAYLOAD_TYPE, OPUS_CLOCK_RATE)
  let rtpTimestamp = identity.firstTimestamp
  rtpConfig.timestamp = rtpTimestamp
  const packetizer = new RtpPacketizer(rtpConfig)
  const srReporter = new RtcpSrReporter(rtpConfig)
  const nackResponder = new RtcpNackResponder()
  packetizer.addToChain(srReporter)
  packetizer.addToChain(nackResponder)
  track.setMediaHandler(packetizer)
  /** Held so that the handler chain and description live exactly as long as the track. */
  const keep: unknown[] = [audio, packetizer, srReporter, nackResponder]
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
    const received = readAudioPacket(message, counters)
    if (received !== undefined) init.onAudio(received.payload, received.rtp)
  })

  return {
    send (opusPayload, samples) {
      if (track === undefined || rtpConfig === undefined) return false
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
        rtpConfig.timestamp = timestamp
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

    close () {
      const closing = track
      track = undefined
      rtpConfig = undefined
      keep.length = 0
      try { closing?.close() } catch (err) { log.warn({ err: errorText(err) }, 'closing the audio track failed') }
    }
  }
}
