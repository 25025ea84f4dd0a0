// The media session's limits and timings, in one place.
import { MAX_OPUS_FRAME_BYTES } from '../rtp.js'

/** The mid the offerer gives its audio m-line (the answerer takes whatever the offer says). */
export const AUDIO_MID = 'audio'
/** No packet for this long on a connected session: report 'disconnected'. */
export const DEFAULT_MEDIA_TIMEOUT_MS = 4000
export const WATCHDOG_TICK_MS = 250
/** A watchdog tick this much later than due: our event loop stalled, and that time is not the peer's silence. */
export const WATCHDOG_STALL_MS = 200
/**
 * The longest an answerer holds the offerer's candidates: the offerer's word that it applied the
 * answer (call-answer-applied) or our ICE connecting ends it sooner; this bound serves a peer that
 * sends no such word (see the race in media-session.ts).
 */
export const ANSWERER_CANDIDATE_HOLD_MS = 1000
export const MAX_ICE_SERVERS = 8
/** gathered() settles for the candidates it has after this long (TURN allocations included). */
export const DEFAULT_GATHER_TIMEOUT_MS = 10_000
/** Most bytes of Opus payload sendAudio() accepts (one frame at Opus's maximum size). */
export const MAX_AUDIO_PAYLOAD_BYTES = MAX_OPUS_FRAME_BYTES
/** Shortest Opus packet, 2.5 ms at 48 kHz. */
export const MIN_AUDIO_PACKET_SAMPLES = 120
