// Call signaling, end to end: bodies of envelopes signed by the sender's device
// and routed by the overlay. SDP (with the DTLS fingerprint that authenticates
// the media) is additionally sealed to the one device that should read it.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { DeviceKey, Username } from '../../common/schemas.js'

const CallId = Type.String({ pattern: '^[A-Za-z0-9_-]{16,32}$' })
/** crypto_box_seal output, base64url; bounded like the SDP inside (16 KiB). */
const Sealed = Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 22_000 })

export const END_REASONS = ['hangup', 'declined', 'busy', 'no-answer', 'cancelled', 'unreachable', 'failed', 'answered-elsewhere', 'not-allowed'] as const

const body = <const L extends string, P extends Record<string, import('typebox').TSchema>>(type: L, fields: P) =>
  Type.Object({ type: Type.Literal(type), from: Username, to: Username, callId: CallId, ...fields }, { additionalProperties: false })

/** Caller → every device of the callee. */
export const CallInvite = body('call-invite', { at: Type.Integer({ minimum: 0 }) })
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

export const CallBody = Type.Union([CallInvite, CallRinging, CallAccept, CallOffer, CallAnswer, CallEnd])
/** The application body types calls own (registered with the node's application bodies). */
export const CALL_BODY_TYPES = ['call-invite', 'call-ringing', 'call-accept', 'call-offer', 'call-answer', 'call-end'] as const
export type CallBody = Static<typeof CallBody>
export type CallBodyOf<T extends CallBody['type']> = Extract<CallBody, { type: T }>
export const isCallBody = Compile(CallBody)
export type EndReason = typeof END_REASONS[number]
/** The wire carries a bounded string; anything but a known reason reads as 'failed'. */
export const isEndReason = (value: string): value is EndReason => (END_REASONS as readonly string[]).includes(value)
