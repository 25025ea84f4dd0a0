// A connected call's live figures, from its media session and its audio.
import { estimateMos } from './mos.js'
import type { CallMedia } from './call-media.js'
import type { CallStats } from './call-types.js'

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
