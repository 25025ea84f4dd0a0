// Schemas more than one program checks: the login server's API, the overlay's
// link messages and end-to-end bodies, the link handshake and call signaling
// all take usernames, device keys, certificates and supernode credentials in
// these shapes. Declared once here so the programs cannot drift apart.
import { Type, type TLiteral, type TUnion } from 'typebox'
import { Compile } from 'typebox/compile'
import { MAX_HOST_PORT_CHARS } from './address.js'
import { base64urlLength } from './base64url.js'
import { MAX_CERTIFICATE_BODY_BYTES } from './certificate.js'
import { MAX_SUPERNODE_CREDENTIAL_BODY_BYTES } from './supernode-credential.js'
import { MAX_USERNAME_INPUT_CHARS, USERNAME_PATTERN } from './usernames.js'

/** Ed25519 public key (crypto_sign_PUBLICKEYBYTES). */
export const PUBLIC_KEY_BYTES = 32
/** Ed25519 detached signature (crypto_sign_BYTES). */
export const SIGNATURE_BYTES = 64

type LiteralsOf<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K] & string> }
/** A schema accepting exactly the strings of `values` (a const array), typed as their union. */
export const OneOf = <const T extends readonly string[]>(values: T): TUnion<LiteralsOf<T>> =>
  Type.Union(values.map(value => Type.Literal(value))) as TUnion<LiteralsOf<T>>

/** Unpadded base64url of exactly `bytes` bytes. */
export const Base64urlOfBytes = (bytes: number) => Type.String({
  pattern: '^[A-Za-z0-9_-]+$', minLength: base64urlLength(bytes), maxLength: base64urlLength(bytes)
})

/** Unpadded base64url of 1 to `bytes` bytes. */
export const Base64urlUpTo = (bytes: number) => Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: base64urlLength(bytes) })

/** A non-negative safe integer: message ids, sequence numbers, timestamps. */
export const SafeUint = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })

/** A "HOST:PORT" as text, bounded; whoever uses it parses it (parseHostPort in common/address.ts). */
export const HostPortText = Type.String({ minLength: 3, maxLength: MAX_HOST_PORT_CHARS })

/** A username in its stored (lower-case) form; inputs go through normalizeUsername (common/usernames.ts). */
export const Username = Type.String({ pattern: USERNAME_PATTERN.source })

/** A username as typed: loose on purpose, the handler normalises it and says precisely what is wrong. */
export const UsernameInput = Type.String({ minLength: 1, maxLength: MAX_USERNAME_INPUT_CHARS })

/** A device's Ed25519 public key, base64url: how users' devices are named everywhere. */
export const DeviceKey = Base64urlOfBytes(PUBLIC_KEY_BYTES)
const publicKeyCheck = Compile(DeviceKey)
/** Whether `value` has the shape of an Ed25519 public key's text (a device key, the login server's key): any 32 bytes pass. */
export const isPublicKeyText = (value: unknown): value is string => publicKeyCheck.Check(value)

/** A detached Ed25519 signature, base64url. */
export const Signature = Base64urlOfBytes(SIGNATURE_BYTES)

/** A device certificate (common/certificate.ts): its shape only; verifyCertificate says whether it is valid. */
export const CertificateSchema = Type.Object({
  body: Base64urlUpTo(MAX_CERTIFICATE_BODY_BYTES),
  signature: Signature
}, { additionalProperties: false })

/** A login-server-signed admission into the supernode mesh (common/supernode-credential.ts): its shape only. */
export const SupernodeCredentialSchema = Type.Object({
  body: Base64urlUpTo(MAX_SUPERNODE_CREDENTIAL_BODY_BYTES),
  signature: Signature
}, { additionalProperties: false })
