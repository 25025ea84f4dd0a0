// The browser as the phone: for each call this page placed or answered, its own RTCPeerConnection
// with the microphone, the speaker and the node's relay. The node asks for each step over the event
// stream (`browser-media` events naming this page) and carries the SDP to the other side, sealed as
// for any call; the page answers with its SDP, its media's state and, each second, its stats.
import { request } from './api.js'

/** This page's id for the node: calls it places or answers name it, and only its steps reach it. */
export const PAGE_ID = crypto.getRandomValues(new Uint8Array(16)).reduce((text, byte) => text + byte.toString(16).padStart(2, '0'), '')

const STATS_INTERVAL_MS = 1000

const reply = (callId, body) => request('POST', '/v1/calls/browser-media', { callId, page: PAGE_ID, ...body })

export class Phone {
  /** `speaker` is the <audio> element the far end plays in; `onProblem` hears what went wrong, in a sentence. */
  constructor ({ speaker, onProblem }) {
    this.speaker = speaker
    this.onProblem = onProblem
    this.calls = new Map()
    this.muted = false
  }

  /** A `browser-media` event from the node. */
  async handle (event) {
    if (event.page !== PAGE_ID) return
    try {
      switch (event.step) {
        case 'offer': return await this.offer(event)
        case 'answer': return await this.answer(event)
        case 'accept': return await this.calls.get(event.callId)?.pc.setRemoteDescription({ type: 'answer', sdp: event.answer })
        case 'close': return this.close(event.callId)
      }
    } catch (err) {
      this.onProblem(`call media: ${err.message}`)
      await reply(event.callId, { step: 'failed', reason: String(err.message).slice(0, 200) }).catch(() => {})
      this.close(event.callId)
    }
  }

  async offer ({ callId, iceServers, relayOnly }) {
    const pc = await this.open(callId, iceServers, relayOnly)
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc)
    await reply(callId, { step: 'sdp', sdp: udpOnly(pc.localDescription.sdp) })
  }

  async answer ({ callId, offer, iceServers, relayOnly }) {
    const pc = await this.open(callId, iceServers, relayOnly)
    await pc.setRemoteDescription({ type: 'offer', sdp: offer })
    await pc.setLocalDescription(await pc.createAnswer())
    await gathered(pc)
    await reply(callId, { step: 'sdp', sdp: udpOnly(pc.localDescription.sdp) })
  }

  async open (callId, iceServers, relayOnly) {
    this.close(callId)
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false })
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all', bundlePolicy: 'max-bundle' })
    const call = { pc, mic, timer: undefined, last: undefined, connected: false }
    this.calls.set(callId, call)
    const track = mic.getAudioTracks()[0]
    track.enabled = !this.muted
    const transceiver = pc.addTransceiver(track, { direction: 'sendrecv', streams: [mic] })
    // Opus only: the node's side of a call speaks nothing else.
    const opus = RTCRtpSender.getCapabilities('audio')?.codecs.filter(c => c.mimeType.toLowerCase() === 'audio/opus') ?? []
    if (opus.length > 0 && transceiver.setCodecPreferences !== undefined) transceiver.setCodecPreferences(opus)
    pc.ontrack = ({ streams, track: remote }) => { this.speaker.srcObject = streams[0] ?? new MediaStream([remote]) }
    pc.onconnectionstatechange = () => { void this.stateChanged(callId, call) }
    return pc
  }

  async stateChanged (callId, call) {
    const state = call.pc.connectionState
    if (state === 'connected' && !call.connected) {
      call.connected = true
      await reply(callId, { step: 'connected', path: pathIn(await call.pc.getStats()) }).catch(err => this.onProblem(err.message))
      // The call may have ended meanwhile: no stats for a connection that is closed.
      if (this.calls.get(callId) !== call) return
      call.timer = setInterval(() => { void this.sendStats(callId, call) }, STATS_INTERVAL_MS)
    } else if (state === 'failed') {
      await reply(callId, { step: 'failed', reason: 'ICE or DTLS failed in the browser' }).catch(() => {})
      this.close(callId)
    }
  }

  async sendStats (callId, call) {
    const now = await measure(call.pc)
    const stats = rates(now, call.last)
    call.last = now
    if (stats === undefined) return
    await reply(callId, { step: 'stats', ...stats }).catch(() => {})
  }

  setMuted (muted) {
    this.muted = muted
    for (const call of this.calls.values()) for (const track of call.mic.getAudioTracks()) track.enabled = !muted
  }

  close (callId) {
    const call = this.calls.get(callId)
    if (call === undefined) return
    this.calls.delete(callId)
    clearInterval(call.timer)
    call.pc.close()
    for (const track of call.mic.getTracks()) track.stop()
    if (this.calls.size === 0) this.speaker.srcObject = null
  }
}

/** The description without ICE-TCP candidates: the other side's ICE (libjuice) speaks UDP only, and the node refuses them. */
function udpOnly (sdp) {
  return sdp.split('\r\n').filter(line => !/^a=candidate:\S+ \d+ tcp /i.test(line)).join('\r\n')
}

/** The node wants complete descriptions (no trickle): wait for ICE gathering, bounded. */
function gathered (pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise(resolve => {
    const done = () => { clearTimeout(timer); pc.removeEventListener('icegatheringstatechange', check); resolve() }
    const check = () => { if (pc.iceGatheringState === 'complete') done() }
    const timer = setTimeout(done, 8000)
    pc.addEventListener('icegatheringstatechange', check)
  })
}

/** The selected candidate pair's path in a getStats() report: through a relay when either end is a relay candidate. */
function pathIn (report) {
  let pair
  report.forEach(s => { if (s.type === 'transport' && s.selectedCandidatePairId !== undefined) pair = report.get(s.selectedCandidatePairId) })
  if (pair === undefined) report.forEach(s => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s })
  if (pair === undefined) return 'direct'
  const local = report.get(pair.localCandidateId)
  const remote = report.get(pair.remoteCandidateId)
  return local?.candidateType === 'relay' || remote?.candidateType === 'relay' ? 'relay' : 'direct'
}

/** The counters of one getStats() call that the call's figures come from. */
async function measure (pc) {
  const report = await pc.getStats()
  const m = { at: performance.now(), path: pathIn(report), rttMs: null, jitterMs: 0, bytesReceived: 0, packetsReceived: 0, packetsLost: 0, packetsSent: 0, bufferDelay: 0, bufferEmitted: 0 }
  report.forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      m.jitterMs = (s.jitter ?? 0) * 1000
      m.bytesReceived = s.bytesReceived ?? 0
      m.packetsReceived = s.packetsReceived ?? 0
      m.packetsLost = s.packetsLost ?? 0
      m.bufferDelay = s.jitterBufferDelay ?? 0
      m.bufferEmitted = s.jitterBufferEmittedCount ?? 0
    }
    if (s.type === 'outbound-rtp' && s.kind === 'audio') m.packetsSent = s.packetsSent ?? 0
    if (s.type === 'remote-inbound-rtp' && s.roundTripTime !== undefined) m.rttMs = s.roundTripTime * 1000
    if (s.type === 'candidate-pair' && s.nominated && s.currentRoundTripTime !== undefined && m.rttMs === null) m.rttMs = s.currentRoundTripTime * 1000
  })
  return m
}

/** Figures over the last interval (loss and bitrate need two measures). */
function rates (now, last) {
  if (last === undefined) return undefined
  const seconds = (now.at - last.at) / 1000
  const expected = (now.packetsReceived - last.packetsReceived) + Math.max(0, now.packetsLost - last.packetsLost)
  const emitted = now.bufferEmitted - last.bufferEmitted
  return {
    path: now.path,
    rttMs: now.rttMs === null ? null : Math.round(now.rttMs * 10) / 10,
    jitterMs: Math.round(now.jitterMs * 10) / 10,
    lossPct: expected > 0 ? Math.round(Math.max(0, now.packetsLost - last.packetsLost) / expected * 1000) / 10 : 0,
    bitrateKbps: seconds > 0 ? Math.round((now.bytesReceived - last.bytesReceived) * 8 / seconds / 100) / 10 : 0,
    bufferDelayMs: emitted > 0 ? Math.round((now.bufferDelay - last.bufferDelay) / emitted * 1000) : 0,
    packetsSent: now.packetsSent,
    packetsReceived: now.packetsReceived
  }
}
