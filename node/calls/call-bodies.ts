// Call signaling, end to end: bodies of envelopes signed by the sender's device
// and routed by the overlay. SDP (with the DTLS fingerprint that authenticates
// the media) is additionally sealed to the one device that should read it.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { DeviceKey, Username } from '../../common/schemas.js'
import { ECHO_LINE, PHONE_NUMBER_PATTERN } from '../../common/phone-numbers.js'

const CallId = Type.String({ pattern: '^[A-Za-z0-9_-]{16,32}$' })
/** crypto_box_seal output, base64url; bounded like the SDP inside (16 KiB). */
const Sealed = Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 22_000 })

export const END_REASONS = [
  'hangup', 'declined', 'busy', 'no-answer', 'cancelled', 'unreachable', 'failed', 'answered-elsewhere', 'not-allowed', 'connection-lost',
  // A call to a phone number, as the PSTN gateway ends it: no credit, a number nobody has, no line free.
  'payment-required', 'not-in-service', 'congestion'
] as const

/** What a call to the PSTN gateway dials: a phone number (E.164), or `echo`, the echo test line. */
const DialedNumber = Type.String({ pattern: `^(${PHONE_NUMBER_PATTERN.source.slice(1, -1)}|${ECHO_LINE})$` })
const PhoneNumber = Type.String({ pattern: PHONE_NUMBER_PATTERN.source })

const body = <const L extends string, P extends Record<string, import('typebox').TSchema>>(type: L, fields: P) =>
  Type.Object({ type: Type.Literal(type), from: Username, to: Username, callId: CallId, ...fields }, { additionalProperties: false })

/**
 * Caller → every device of the callee. `number`: what a call to the PSTN gateway dials.
 * `callerNumber`: a phone caller's number, when the gateway rings a user (trusted from a service only).
 */
export const CallInvite = body('call-invite', { at: Type.Integer({ minimum: 0 }), number: Type.Optional(DialedNumber), callerNumber: Type.Optional(PhoneNumber) })
/** Callee device → caller: this device is ringing. */
export const CallRinging = body('call-ringing', {})
/** Callee device → caller: the user answered here. */
export const CallAccept = body('call-accept', {})
/** Caller → the accepting device: the offer, sealed to that device. */
export const CallOffer = body('call-offer', { device: DeviceKey, sdp: Sealed, relayOnly: Type.Boolean() })
/** Callee device → caller: the answer, sealed to the caller's device. */
export const CallAnswer = body('call-answer', { device: DeviceKey, sdp: Sealed })
/** Either side: the call is over (or refused) for this reason. `device` names the winner for answered-elsewhere. */
export const CallEnd = body('call-end', { reason: Type.String({ maxLength: 32 }), device: Type.Optional(DeviceKey) })
/** Either side: the peer's call-end arrived (it stops resending it). */
export const CallEndAck = body('call-end-ack', {})

/** Most media sessions (the first and every re-offer) one call may open over its lifetime. */
export const MAX_MEDIA_SESSIONS_PER_CALL = 32
/** Which media session of the call a recovery body is about: 0 is the first, each re-offer counts up. */
const Generation = Type.Integer({ minimum: 1, maximum: MAX_MEDIA_SESSIONS_PER_CALL - 1 })
/** Caller → the device in the call: a fresh media session's offer (the old one went silent), sealed to that device. */
export const CallReoffer = body('call-reoffer', { device: DeviceKey, sdp: Sealed, relayOnly: Type.Boolean(), generation: Generation })
/** Callee device → caller: the answer to that re-offer, sealed to the caller's device. */
export const CallReanswer = body('call-reanswer', { device: DeviceKey, sdp: Sealed, generation: Generation })
/** Any media session of the call, the first (0) included. */
const AnyGeneration = Type.Integer({ minimum: 0, maximum: MAX_MEDIA_SESSIONS_PER_CALL - 1 })
/** Callee device → caller: no audio arrives here on the session `generation`; please re-offer. */
export const CallRecover = body('call-recover', { generation: AnyGeneration })
/**
 * Caller → the device in the call: the answer for session `generation` is applied here, so the
 * callee's ICE may now reach ours (its candidate hold ends; node/media/session/candidate-gate.ts).
 */
export const CallAnswerApplied = body('call-answer-applied', { device: DeviceKey, generation: AnyGeneration })

export const CallBody = Type.Union([CallInvite, CallRinging, CallAccept, CallOffer, CallAnswer, CallEnd, CallEndAck, CallReoffer, CallReanswer, CallRecover, CallAnswerApplied])
/** The application body types calls own (registered with the node's application bodies). */
export const CALL_BODY_TYPES = ['call-invite', 'call-ringing', 'call-accept', 'call-offer', 'call-answer', 'call-end', 'call-end-ack', 'call-reoffer', 'call-reanswer', 'call-recover', 'call-answer-applied'] as const
export type CallBody = Static<typeof CallBody>
export type CallBodyOf<T extends CallBody['type']> = Extract<CallBody, { type: T }>
export const isCallBody = Compile(CallBody)
export type EndReason = typeof END_REASONS[number]
/** The wire carries a bounded string; anything but a known reason reads as 'failed'. */
export const isEndReason = (value: string): value is EndReason => (END_REASONS as readonly string[]).includes(value)
