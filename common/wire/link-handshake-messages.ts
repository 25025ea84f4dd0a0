// The three handshake messages, declared once. They travel in clear before the
// link has keys, so they are parsed strictly: canonical UTF-8 JSON (one valid
// encoding per message, so no duplicate keys or other parser ambiguity),
// exact fields, exact lengths, size-bounded before anything is parsed.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { canonicalDecode, canonicalEncode } from '../canonical.js'
import { fromBase64url } from '../base64url.js'
import { Base64urlOfBytes, CertificateSchema, Signature } from '../schemas.js'

/** Bound on one handshake message; a real hello is about 1.6 KiB. */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 4096
export const LINK_PROTOCOL_VERSION = 1
/** Random bytes each side contributes besides its ephemeral key. */
export const HANDSHAKE_NONCE_BYTES = 32
/** X25519 public key (crypto_kx_PUBLICKEYBYTES). */
export const EPHEMERAL_KEY_BYTES = 32

export const HelloMessage = Type.Object({
  t: Type.Literal('hello'),
  v: Type.Literal(LINK_PROTOCOL_VERSION),
  certificate: CertificateSchema,
  eph: Base64urlOfBytes(EPHEMERAL_KEY_BYTES),
  nonce: Base64urlOfBytes(HANDSHAKE_NONCE_BYTES)
}, { additionalProperties: false })
export type HelloMessage = Static<typeof HelloMessage>

export const WelcomeMessage = Type.Object({
  t: Type.Literal('welcome'),
  v: Type.Literal(LINK_PROTOCOL_VERSION),
  certificate: CertificateSchema,
  eph: Base64urlOfBytes(EPHEMERAL_KEY_BYTES),
  nonce: Base64urlOfBytes(HANDSHAKE_NONCE_BYTES),
  sig: Signature
}, { additionalProperties: false })
export type WelcomeMessage = Static<typeof WelcomeMessage>

export const AuthMessage = Type.Object({
  t: Type.Literal('auth'),
  sig: Signature
}, { additionalProperties: false })
export type AuthMessage = Static<typeof AuthMessage>

export type HandshakeMessage = HelloMessage | WelcomeMessage | AuthMessage

const validators = {
  hello: Compile(HelloMessage),
  welcome: Compile(WelcomeMessage),
  auth: Compile(AuthMessage)
}

export function encodeHandshakeMessage (message: HandshakeMessage): Uint8Array {
  return canonicalEncode({ ...message })
}

export type DecodedHandshakeMessage =
  | { ok: true, message: HandshakeMessage }
  | { ok: false, message: string }

/** The only way handshake bytes from a peer become a message. */
export function decodeHandshakeMessage (bytes: Uint8Array): DecodedHandshakeMessage {
  if (bytes.length > MAX_HANDSHAKE_MESSAGE_BYTES) {
    return { ok: false, message: `handshake message of ${bytes.length} bytes exceeds ${MAX_HANDSHAKE_MESSAGE_BYTES}` }
  }
  const value = canonicalDecode(bytes)
  if (value === undefined) return { ok: false, message: 'handshake message is not canonical UTF-8 JSON' }
  const t = typeof value === 'object' && !Array.isArray(value) ? value.t : undefined
  if (t !== 'hello' && t !== 'welcome' && t !== 'auth') return { ok: false, message: 'handshake message has no known type "t"' }
  const validator = validators[t]
  if (!validator.Check(value)) {
    const first = validator.Errors(value)[0]
    return { ok: false, message: `invalid "${t}" message${first === undefined ? '' : `: ${first.instancePath} ${first.message}`}` }
  }
  const message = value as HandshakeMessage
  // The schema fixes the lengths; strict decoding also refuses stray low bits,
  // so each key, nonce and signature has exactly one spelling.
  for (const field of ['eph', 'nonce', 'sig'] as const) {
    const text = (message as Partial<Record<typeof field, string>>)[field]
    if (text !== undefined && fromBase64url(text) === undefined) {
      return { ok: false, message: `"${t}" field ${field} is not strict base64url` }
    }
  }
  return { ok: true, message }
}
