// How a call through the gateway ends, said the three ways its parts need it: the final answer a
// real SIP trunk would give (status and Q.850 cause: what the gateway logs and what a real carrier
// would show), the CDR disposition (pstn-gateway-stub/cdr, Asterisk's five), and the voxmesh call
// end reason the caller's node sees (node/calls/call-bodies.ts END_REASONS). One table, for each
// behaviour of the numbers file and for the endings the gateway itself causes, so that the three
// cannot disagree.
//
// The status/cause pairs follow RFC 3398 (ISUP to SIP mapping): §7.2.4.1 maps the cause of a release
// from the telephone network to the SIP status the gateway answers with (1 → 404, 17 → 486, 19 → 480,
// 34 → 503; 16, normal clearing, is a BYE, not a status); §8.2.6.1 maps a status arising on the SIP
// side to a cause (402 → 21, 486 → 17, 500 → 41; BYE and CANCEL → 16). The two directions do not
// round-trip (480 → 18, 503 → 41), which is why the cause travels with the status, in a Reason header
// (RFC 6432: `Reason: Q.850;cause=19`), and why the table names both.
import type { CallDisposition } from '../cdr/cdr-store.js'
import type { Behaviour } from './numbers-file.js'

/**
 * The voxmesh call end reasons a call through the gateway ends with: a subset of END_REASONS in
 * node/calls/call-bodies.ts (which the gateway may not import; a test checks they stay a subset).
 */
export type GatewayEndReason = 'hangup' | 'busy' | 'no-answer' | 'cancelled' | 'failed' | 'not-in-service' | 'payment-required' | 'congestion'

/** The endings the gateway causes itself, whatever the number does. */
export const GATEWAY_OUTCOMES = ['payment-required', 'congestion', 'cancelled', 'gateway-failure'] as const
export type GatewayOutcome = typeof GATEWAY_OUTCOMES[number]

export interface CallOutcome {
  /** Whether the far end answered: the call connected (and bills) from the 200 OK until either side hangs up. */
  answered: boolean
  /** The SIP final response to the INVITE (RFC 3261 §21); 200 for an answered call, which later ends with a BYE. */
  sipStatus: number
  sipReason: string
  /** The Q.850 cause the release carries (for an answered call: the BYE's, normal clearing). */
  q850Cause: number
  /** Its name in ITU-T Q.850 Table 1. */
  q850Name: string
  /** The call detail record's disposition. */
  disposition: CallDisposition
  /** What the caller's voxmesh node reports the call ended with. */
  endReason: GatewayEndReason
}

/** A line that answers: 200 OK, connected until someone hangs up; then BYE with cause 16 (RFC 3398 §7.2.4.1, §8.2.6.1). */
const ANSWERED: CallOutcome = {
  answered: true, sipStatus: 200, sipReason: 'OK', q850Cause: 16, q850Name: 'Normal call clearing', disposition: 'ANSWERED', endReason: 'hangup'
}

/** How a call to a number with each behaviour ends, and how the endings the gateway causes end. */
export const CALL_OUTCOMES: Readonly<Record<Behaviour | GatewayOutcome, CallOutcome>> = {
  echo: ANSWERED,
  tone: ANSWERED,
  // The line hangs up at the end of its last play: the gateway's BYE, still normal clearing.
  announcement: ANSWERED,
  'answer-after': ANSWERED,
  // Cause 17 → 486 (RFC 3398 §7.2.4.1), and back (§8.2.6.1).
  busy: {
    answered: false, sipStatus: 486, sipReason: 'Busy Here', q850Cause: 17, q850Name: 'User busy', disposition: 'BUSY', endReason: 'busy'
  },
  // The gateway gives up after ringSeconds: cause 19, the user was alerted, → 480 (RFC 3398 §7.2.4.1).
  'no-answer': {
    answered: false,
    sipStatus: 480,
    sipReason: 'Temporarily Unavailable',
    q850Cause: 19,
    q850Name: 'No answer from user (user alerted)',
    disposition: 'NO ANSWER',
    endReason: 'no-answer'
  },
  // After the SIT as early media: cause 1 → 404 (RFC 3398 §7.2.4.1), and back (§8.2.6.1). Unknown numbers too.
  'not-in-service': {
    answered: false,
    sipStatus: 404,
    sipReason: 'Not Found',
    q850Cause: 1,
    q850Name: 'Unallocated (unassigned) number',
    disposition: 'FAILED',
    endReason: 'not-in-service'
  },
  // The login server refused the charge (no credit): refused on the SIP side, 402 → cause 21 (RFC 3398 §8.2.6.1).
  'payment-required': {
    answered: false, sipStatus: 402, sipReason: 'Payment Required', q850Cause: 21, q850Name: 'Call rejected', disposition: 'FAILED', endReason: 'payment-required'
  },
  // Every line of the gateway is in use: cause 34 → 503 (RFC 3398 §7.2.4.1).
  congestion: {
    answered: false,
    sipStatus: 503,
    sipReason: 'Service Unavailable',
    q850Cause: 34,
    q850Name: 'No circuit/channel available',
    disposition: 'CONGESTION',
    endReason: 'congestion'
  },
  // The caller hung up while the line rang: CANCEL, answered 487 (RFC 3261 §9.2); CANCEL → cause 16 (RFC 3398 §8.2.6.1).
  cancelled: {
    answered: false,
    sipStatus: 487,
    sipReason: 'Request Terminated',
    q850Cause: 16,
    q850Name: 'Normal call clearing',
    disposition: 'NO ANSWER',
    endReason: 'cancelled'
  },
  // The gateway failed before the call connected (a bug, the line could not start): 500 → cause 41 (RFC 3398 §8.2.6.1).
  'gateway-failure': {
    answered: false,
    sipStatus: 500,
    sipReason: 'Server Internal Error',
    q850Cause: 41,
    q850Name: 'Temporary failure',
    disposition: 'FAILED',
    endReason: 'failed'
  }
}

/** How a call ends that meets `what`: a number's behaviour, or an ending the gateway causes. */
export function outcomeOf (what: Behaviour | GatewayOutcome): CallOutcome {
  return CALL_OUTCOMES[what]
}

/** The outcome as a SIP trunk would write its final answer: "486 Busy Here (Q.850 cause 17: User busy)". */
export function describeOutcome (outcome: CallOutcome): string {
  return `${outcome.sipStatus} ${outcome.sipReason} (Q.850 cause ${outcome.q850Cause}: ${outcome.q850Name})`
}
