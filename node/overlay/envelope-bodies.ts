// What travels end to end inside signed envelopes: the supernodes in between
// route them but cannot forge or alter them.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { MAX_CONTACTS, MAX_LOCATED_DEVICES, MAX_TEXT_BYTES } from './messages.js'
import { Base64urlOfBytes, DeviceKey, SafeUint, Username } from '../../common/schemas.js'
import { PresenceStatusSchema } from '../../common/presence-schemas.js'

/** secretbox nonce (24 bytes) and MAC (16), crypto_box nonce (24) and MAC (16) around a 32-byte key. */
const SECRETBOX_NONCE_BYTES = 24
const SECRETBOX_MAC_BYTES = 16
const KEY_BOX_BYTES = 24 + 32 + 16

export const PresenceBody = Type.Object({
  type: Type.Literal('presence'),
  from: Username,
  status: PresenceStatusSchema,
  /** Higher wins, per device; milliseconds of the signing clock. */
  seq: SafeUint,
  /** Unix ms after which the status is stale (the host republishes before). */
  expires: SafeUint
}, { additionalProperties: false })

export const TextBody = Type.Object({
  type: Type.Literal('text'),
  from: Username,
  to: Username,
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }),
  sentAt: SafeUint,
  /** When the sender wrote it, if earlier than sentAt (a text queued while its recipient was offline). */
  writtenAt: Type.Optional(SafeUint),
  // The text itself only sealed to the recipient's devices (sealed-text.ts): supernodes see ciphertext.
  nonce: Base64urlOfBytes(SECRETBOX_NONCE_BYTES),
  ciphertext: Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: Math.ceil((MAX_TEXT_BYTES + SECRETBOX_MAC_BYTES) * 4 / 3) }),
  keys: Type.Array(Type.Object({
    device: DeviceKey,
    box: Base64urlOfBytes(KEY_BOX_BYTES)
  }, { additionalProperties: false }), { minItems: 1, maxItems: MAX_LOCATED_DEVICES })
}, { additionalProperties: false })

export const ReceiptBody = Type.Object({
  type: Type.Literal('receipt'),
  from: Username,
  to: Username,
  ref: Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' }),
  /** Unix ms when signed: one-shot bodies carry it so a replay can be told by its age. */
  at: SafeUint
}, { additionalProperties: false })

export const ContactAcceptedBody = Type.Object({
  type: Type.Literal('contact-accepted'),
  from: Username,
  to: Username,
  at: SafeUint
}, { additionalProperties: false })

export const PresenceQueryBody = Type.Object({
  type: Type.Literal('presence-query'),
  from: Username,
  users: Type.Array(Username, { maxItems: MAX_CONTACTS }),
  /** Unix ms; a query older than a minute is refused (no replay of old queries). */
  at: SafeUint
}, { additionalProperties: false })

/** The overlay's own body types: an application's bodies are any others. */
export const OVERLAY_BODY_TYPES = ['presence', 'text', 'receipt', 'contact-accepted', 'presence-query'] as const

/**
 * A body the overlay carries without interpreting it (call signaling, and whatever
 * comes next): a type of the application's, a sender and a recipient. The layer
 * that owns the type checks the rest (calls/call-bodies.ts), so the overlay does
 * not depend on the layers above it. Its size is bounded by the envelope's.
 */
export const ApplicationBody = Type.Object({
  type: Type.String({ pattern: `^(?!(?:${OVERLAY_BODY_TYPES.join('|')})$)[a-z][a-z0-9-]{0,31}$` }),
  from: Username,
  to: Username
}, { additionalProperties: true })
export type ApplicationBody = Static<typeof ApplicationBody> & Record<string, unknown>

/** The overlay's own bodies that hosts act on. */
export const OverlayBody = Type.Union([PresenceBody, TextBody, ReceiptBody, ContactAcceptedBody])
export type OverlayBody = Static<typeof OverlayBody>
export const DeliverableBody = Type.Union([...OverlayBody.anyOf, ApplicationBody])
export type DeliverableBody = OverlayBody | ApplicationBody
export type PresenceBody = Static<typeof PresenceBody>
export type TextBody = Static<typeof TextBody>
export type PresenceQueryBody = Static<typeof PresenceQueryBody>

/** Bodies a recipient acts on once, however often they are delivered (calls keep their own replay checks). */
export const ONE_SHOT_TYPES: ReadonlySet<string> = new Set(['text', 'receipt', 'contact-accepted'])

export const isDeliverableBody = Compile(DeliverableBody)
export const isOverlayBody = Compile(OverlayBody)
export const isPresenceBody = Compile(PresenceBody)
export const isPresenceQueryBody = Compile(PresenceQueryBody)
