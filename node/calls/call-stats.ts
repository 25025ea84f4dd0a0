// A connected call's live figures, from its media session and its audio.
import { estimateMos } from './mos.js'
import type { CallMedia } from './call-media.js'
import type { CallSetup, CallStats } from './call-types.js'
import type { Call } from './call.js'

/** Assumed one-way delay of packetization (one 20 ms frame) for the MOS estimate. */
const PACKETIZATION_DELAY_MS = 20

/** The figures now; `advance` moves the bitrate window on (the stats tick does, a status query does not). */
export function callStatsOf (media: CallMedia, advance: boolean): CallStats {
  const session = media.session.stats()
  const audio = media.audio?.stats()
  const received = audio?.bytesReceived ?? 0
  const bitrateKbps = Math.round((received - media.lastBytes) * 8 / 100) / 10
  if (advance) media.lastBytes = received
  const rttMs = audio?.rttMs ?? null
  return {
    path: session.path,
    rttMs,
    jitterMs: audio?.jitterMs ?? 0,
    lossPct: audio?.lossPct ?? 0,
    bitrateKbps,
    mos: callMos(rttMs, audio?.bufferDelayMs ?? 0, audio?.lossPct ?? 0),
    packetsSent: session.packetsSent,
    packetsReceived: session.packetsReceived
  }
}

/** The MOS of a call's media (also of a browser call's, from the page's own measures): mouth to ear is half the RTT, the jitter buffer and one packet. */
export function callMos (rttMs: number | null, bufferDelayMs: number, lossPct: number): number {
  return estimateMos({ oneWayDelayMs: (rttMs ?? 0) / 2 + bufferDelayMs + PACKETIZATION_DELAY_MS, lossPct })
}

/**
 * How the call's first media session set up, in ms after the answer as this side knows it (the
 * callee's own, or its arrival at the caller); steps not reached are undefined, and left out of JSON.
 */
export function callSetupOf (media: CallMedia, call: Pick<Call, 'acceptedAt' | 'startedAt'>): CallSetup {
  const { steps, releasedBecause, localCandidates, remoteCandidates, dtlsRole } = media.first.setup()
  const answeredAt = call.acceptedAt ?? call.startedAt
  const after = (at: number | undefined): number | undefined => at === undefined ? undefined : Math.max(0, Math.round(at - answeredAt))
  return {
    descriptionMs: after(steps.remoteDescription),
    candidatesReleasedMs: after(steps.candidatesReleased),
    releasedBecause,
    iceConnectedMs: after(steps.iceConnected),
    dtlsConnectedMs: after(steps.dtlsConnected),
    firstAudioMs: after(steps.firstPacket),
    localCandidates,
    remoteCandidates,
    pair: media.connectedPair,
    dtlsRole
  }
}

/** The setup in one sentence, for the log: "first audio 212 ms after the answer: ICE connected at 150 ms, …". */
export function describeSetup (setup: CallSetup): string {
  const step = (what: string, ms: number | undefined): string => ms === undefined ? `${what} not yet` : `${what} at ${ms} ms`
  const released = setup.candidatesReleasedMs === undefined ? '' : `; the caller's candidates went to ICE at ${setup.candidatesReleasedMs} ms (${setup.releasedBecause ?? '?'})`
  return `${setup.firstAudioMs === undefined ? 'no audio yet' : `first audio ${setup.firstAudioMs} ms after the answer`}: ` +
    `${step('ICE connected', setup.iceConnectedMs)}, ${step('DTLS connected', setup.dtlsConnectedMs)}${released}` +
    `; we gathered ${setup.localCandidates.join(', ') || 'nothing'}, the peer signalled ${setup.remoteCandidates.join(', ') || 'nothing'}` +
    `; pair ${setup.pair ?? 'none'}${setup.dtlsRole === undefined ? '' : `; we were the DTLS ${setup.dtlsRole}`}`
}
