// The shape shared by everything a device signs for others to check later,
// after it crossed supernodes that may not be honest (envelopes, locators):
//
//   { certificate, body: base64url(canonical bytes), sig: base64url(Ed25519) }
//
// The signature is by the certificate's device key over
// DOMAIN ‖ 0x00 ‖ body bytes. The domain says what kind of record it is, so a
// signature made for one kind can never be passed off as another (an envelope
// as a locator, or either as a link handshake transcript, whose canonical
// bytes start with "{" rather than "voxmesh/").
import { fromBase64url, toBase64url } from '../base64url.js'
import { canonicalDecode, canonicalEncode, type CanonicalValue } from '../canonical.js'
import { verifyCertificate, type Certificate, type CertificateBody, type VerifyOptions } from '../certificate.js'
import type { Sodium } from '../sodium.js'
import { ownCertificateFacts, type DeviceIdentity } from './device-identity.js'

/** Bound on the body bytes of one signed record: the longest text, sealed to the most devices, fits. */
export const MAX_SIGNED_BODY_BYTES = 12 * 1024
const MAX_BODY_TEXT = Math.ceil(MAX_SIGNED_BODY_BYTES * 4 / 3)
/** Generous bound on a certificate as text, so junk is refused before any crypto. */
const MAX_CERTIFICATE_TEXT = 2048

export interface SignedRecord {
  certificate: Certificate
  /** base64url of the canonical encoding of the body object */
  body: string
  /** base64url Ed25519 signature by the certificate's device key */
  sig: string
}

export type SignedBody = { [key: string]: CanonicalValue }

export type SignedRecordRejection =
  | 'malformed'
  | 'too_large'
  | 'bad_certificate'
  | 'bad_signature'
  | 'not_canonical'

export type OpenedRecord =
  | { ok: true, signer: CertificateBody, body: SignedBody }
  | { ok: false, reason: SignedRecordRejection, message: string }

/** The exact bytes a record's signature covers. */
export function signedRecordBytes (domain: string, bodyBytes: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode(`${domain}\0`)
  const bytes = new Uint8Array(prefix.length + bodyBytes.length)
  bytes.set(prefix)
  bytes.set(bodyBytes, prefix.length)
  return bytes
}

/** Throws for a body that cannot be encoded or is over MAX_SIGNED_BODY_BYTES: those are the caller's bugs. */
export function sealSignedRecord (sodium: Sodium, identity: DeviceIdentity, domain: string, body: SignedBody): SignedRecord {
  ownCertificateFacts(sodium, identity) // throws if the key is not the certificate's: nobody could verify the record
  const bodyBytes = canonicalEncode(body)
  if (bodyBytes.length > MAX_SIGNED_BODY_BYTES) {
    throw new RangeError(`signed body of ${bodyBytes.length} bytes exceeds ${MAX_SIGNED_BODY_BYTES}`)
  }
  return {
    certificate: { body: identity.certificate.body, signature: identity.certificate.signature },
    body: toBase64url(bodyBytes),
    sig: toBase64url(sodium.crypto_sign_detached(signedRecordBytes(domain, bodyBytes), identity.secretKey))
  }
}

/**
 * Checks, in this order: shape, size, certificate, signature, canonical body.
 * The body is parsed only after the signature verified. What the body must
 * contain is the caller's business.
 */
export function openSignedRecord (sodium: Sodium, record: unknown, domain: string, options: VerifyOptions): OpenedRecord {
  const reject = (reason: SignedRecordRejection, message: string): OpenedRecord => ({ ok: false, reason, message })

  const shape = recordShape(record)
  if (typeof shape === 'string') return reject('malformed', shape)
  if (shape.body.length > MAX_BODY_TEXT) return reject('too_large', `body exceeds ${MAX_SIGNED_BODY_BYTES} bytes`)
  const bodyBytes = fromBase64url(shape.body)
  if (bodyBytes === undefined) return reject('malformed', 'body is not strict base64url')
  if (bodyBytes.length > MAX_SIGNED_BODY_BYTES) return reject('too_large', `body of ${bodyBytes.length} bytes exceeds ${MAX_SIGNED_BODY_BYTES}`)
  const sig = fromBase64url(shape.sig)
  if (sig?.length !== sodium.crypto_sign_BYTES) return reject('malformed', `sig is not ${sodium.crypto_sign_BYTES} bytes of strict base64url`)

  const certificate = verifyCertificate(sodium, shape.certificate, options)
  if (!certificate.ok) return reject('bad_certificate', `certificate rejected (${certificate.reason}): ${certificate.message}`)
  const deviceKey = fromBase64url(certificate.body.deviceKey) as Uint8Array
  if (!sodium.crypto_sign_verify_detached(sig, signedRecordBytes(domain, bodyBytes), deviceKey)) {
    return reject('bad_signature', `signature does not verify under ${certificate.body.user}'s device key ${certificate.body.deviceKey}`)
  }

  const body = canonicalDecode(bodyBytes)
  if (body === undefined) return reject('not_canonical', 'body is not in canonical encoding')
  if (typeof body !== 'object' || Array.isArray(body)) return reject('malformed', 'body is not an object')
  return { ok: true, signer: certificate.body, body }
}

/** The record with exactly its three fields, or a sentence saying what is wrong. */
function recordShape (record: unknown): SignedRecord | string {
  if (!isPlainObject(record)) return 'record is not an object'
  const keys = Object.keys(record).sort().join(',')
  // Cut short: the field names are the sender's, and this sentence is logged.
  if (keys !== 'body,certificate,sig') return `record fields are [${keys.length > 80 ? `${keys.slice(0, 80)}…` : keys}], expected [body, certificate, sig]`
  const { certificate, body, sig } = record
  if (typeof body !== 'string' || typeof sig !== 'string') return 'record needs string fields "body" and "sig"'
  if (!isPlainObject(certificate) || Object.keys(certificate).sort().join(',') !== 'body,signature' ||
      typeof certificate.body !== 'string' || typeof certificate.signature !== 'string') {
    return 'certificate must be exactly { body: string, signature: string }'
  }
  if (certificate.body.length + certificate.signature.length > MAX_CERTIFICATE_TEXT) return 'certificate is too large'
  return { certificate: { body: certificate.body, signature: certificate.signature }, body, sig }
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
