import type { EndReason } from './call-bodies.js'

/** Frames sent, or played, at once at most when a call audio's 20 ms timer fell behind (a busy event loop). */
export const MAX_CATCH_UP_FRAMES = 5

/** An unanswered call ends after this. */
export const DEFAULT_RING_TIMEOUT_MS = 45_000
/** From "answer" to media flowing, at most this long (ICE through a relay included). */
export const ANSWER_SETUP_TIMEOUT_MS = 20_000

/** A browser page (the web client) gives its SDP within this (it gathers ICE first, a relay's candidates included). */
export const BROWSER_SDP_TIMEOUT_MS = 20_000
/** A connected browser call's page reports its figures every second: silent this long, it is gone (a closed tab) and the call ends. */
export const BROWSER_SILENT_TIMEOUT_MS = 10_000

/** On close, how long the node waits for its hangups to reach its supernode before it closes the link anyway. */
export const CLOSE_HANGUP_WAIT_MS = 1000
/** After the call service starts, the first call's codecs are opened this late (codec-spare.ts): past the node's own start. */
export const CODEC_SPARE_START_DELAY_MS = 2000

/** An invite older (or newer) than this is refused as a replay; clocks of users may differ this much. */
export const INVITE_MAX_AGE_MS = 60_000

/** What `ended` says to people, per reason. */
export const END_MESSAGES: Record<EndReason, (peer: string) => string> = {
  hangup: () => 'call ended',
  declined: peer => `${peer} declined the call`,
  busy: peer => `${peer} is busy`,
  'no-answer': peer => `${peer} did not answer`,
  cancelled: () => 'the call was cancelled before it was answered',
  unreachable: peer => `${peer} is offline or unreachable`,
  failed: () => 'the call failed (no media path could be set up)',
  'answered-elsewhere': () => 'answered on another device',
  'not-allowed': peer => `${peer} only takes calls from contacts`,
  'connection-lost': peer => `the connection to ${peer} was lost and could not be restored`,
  'payment-required': peer => `not enough credit to call ${peer} (voxmesh balance shows yours)`,
  'not-in-service': peer => `the number ${peer} is not in service`,
  congestion: peer => `all lines are busy; call ${peer} again later`
}

/** When this side ended the call itself, where the wording differs. */
export const OWN_END_MESSAGES: Partial<Record<EndReason, string>> = {
  declined: 'you declined the call',
  cancelled: 'you cancelled the call before it was answered'
}

/** The callee's words for a call that rang here and was never answered. */
export const MISSED_END_MESSAGES: Partial<Record<EndReason, (peer: string) => string>> = {
  'no-answer': peer => `missed call from ${peer}`,
  cancelled: peer => `missed call from ${peer} (they hung up before you answered)`
}

/** How long a media failure waits for the peer's signaling to explain it (a hangup). */
export const MEDIA_FAILURE_GRACE_MS = 2000
/** A connected call reports its figures this often (call-stats events). */
export const CALL_STATS_INTERVAL_MS = 1000
/** After media connects, the selected candidate pair (direct or relay) is awaited this long, polled this often. */
export const PATH_SETTLE_TIMEOUT_MS = 2000
export const PATH_SETTLE_POLL_MS = 10

/** A connected call's media that gets no packet for this long is interrupted (the call recovers). */
export const MEDIA_SILENCE_TIMEOUT_MS = 1500
/** ...and one that got no first packet this long after it connected (the peer's audio starts a moment later). */
export const MEDIA_FIRST_PACKET_TIMEOUT_MS = 5000
/** The caller re-offers at most this many times per interruption, waiting this long for each to connect. */
export const REOFFER_ATTEMPTS = 3
export const REOFFER_WAIT_MS = 8000
/** The callee waits this long for a re-offer (after asking for one, or after the last one came). */
export const CALLEE_RECOVER_WAIT_MS = 10_000
/** The callee repeats its call-recover this often while it waits (the first may be lost with a dying supernode). */
export const RECOVER_ASK_INTERVAL_MS = 2000
/** A re-offer or re-answer not delivered (our host between supernodes) is sent again this often, up to this many times. */
export const RECOVERY_SIGNAL_INTERVAL_MS = 500
export const RECOVERY_SIGNAL_SENDS = 10
/** A fresh media session waits this long for our host to re-attach (its supernode died) before asking for TURN credentials. */
export const REATTACH_WAIT_MS = 5000
export const REATTACH_POLL_MS = 100
/** A call-end is sent again this often, at most this many times in all, until the peer acknowledges it. */
export const CALL_END_RESEND_MS = 700
export const CALL_END_SENDS = 5
