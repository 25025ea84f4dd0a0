// Device certificates: the login server's statement "this device key belongs to
// this user until then". Everything in the overlay is authenticated by them, so
// the verifier says exactly why it rejects one.
import { canonicalDecode, canonicalEncode } from './canonical.js'
import { fromBase64url, toBase64url } from './base64url.js'
import { USERNAME_PATTERN } from './usernames.js'
import type { Sodium } from './sodium.js'

export const CERTIFICATE_VERSION = 1
/** Bound on the encoded body; a real one is about 200 bytes. */
export const MAX_CERTIFICATE_BODY_BYTES = 1024
/** Clock skew tolerated between the login server and a verifier. */
export const CERTIFICATE_CLOCK_SKEW_SECONDS = 300

export interface Certificate {
  /** base64url of the canonical encoding of a CertificateBody */
  body: string
  /** base64url of the detached Ed25519 signature over the body bytes */
  signature: string
}

export interface CertificateBody {
  v: number
  user: string
  /** base64url Ed25519 public key of the device */
  deviceKey: string
  /** unix seconds */
  issued: number
  /** unix seconds */
  expires: number
  serial: number
}

export type CertificateRejection =
  | 'malformed'
  | 'too_large'
  | 'not_canonical'
  | 'bad_version'
  | 'bad_fields'
  | 'bad_signature'
  | 'not_yet_valid'
  | 'expired'

export type CertificateCheck =
  | { ok: true, body: CertificateBody }
  | { ok: false, reason: CertificateRejection, message: string }

export function signCertificate (sodium: Sodium, body: CertificateBody, issuerSecretKey: Uint8Array): Certificate {
  const bytes = canonicalEncode({ ...body })
  return {
    body: toBase64url(bytes),
    signature: toBase64url(sodium.crypto_sign_detached(bytes, issuerSecretKey))
  }
}

export interface VerifyOptions {
  /** The pinned login server public key. */
  issuerKey: Uint8Array
  /** Current time, unix seconds (a Clock's now() is ms: divide by 1000). */
  nowSeconds: number
  /**
   * A certificate this verifier checked already, e.g. the one a link's peer proved at the
   * handshake: a certificate of the very same text skips the signature check (an Ed25519
   * verify, the cost of a host's republish at its supernode) but not the field and time checks.
   */
  verified?: Certificate
}

/** The very same certificate text (body and signature). */
export const sameCertificate = (a: Certificate, b: Certificate): boolean => a.body === b.body && a.signature === b.signature

export function verifyCertificate (sodium: Sodium, certificate: unknown, options: VerifyOptions): CertificateCheck {
  const reject = (reason: CertificateRejection, message: string): CertificateCheck => ({ ok: false, reason, message })

  if (typeof certificate !== 'object' || certificate === null) return reject('malformed', 'certificate is not an object')
  const { body, signature } = certificate as Record<string, unknown>
  if (typeof body !== 'string' || typeof signature !== 'string') {
    return reject('malformed', 'certificate needs string fields "body" and "signature"')
  }
  if (body.length > Math.ceil(MAX_CERTIFICATE_BODY_BYTES * 4 / 3)) {
    return reject('too_large', `certificate body exceeds ${MAX_CERTIFICATE_BODY_BYTES} bytes`)
  }
  const bodyBytes = fromBase64url(body)
  const signatureBytes = fromBase64url(signature)
  if (bodyBytes === undefined) return reject('malformed', 'certificate body is not base64url')
  if (signatureBytes?.length !== sodium.crypto_sign_BYTES) {
    return reject('malformed', `certificate signature is not ${sodium.crypto_sign_BYTES} bytes of base64url`)
  }
  if (options.issuerKey.length !== sodium.crypto_sign_PUBLICKEYBYTES) {
    return reject('bad_signature', 'issuer key has the wrong length')
  }
  // The signature is checked before the body is trusted to mean anything.
  const known = options.verified !== undefined && sameCertificate(options.verified, { body, signature })
  if (!known && !sodium.crypto_sign_verify_detached(signatureBytes, bodyBytes, options.issuerKey)) {
    return reject('bad_signature', 'signature does not verify under the pinned login server key (forged, altered, or issued by another server)')
  }
  const decoded = canonicalDecode(bodyBytes)
  if (decoded === undefined) return reject('not_canonical', 'certificate body is not in canonical encoding')
  const fields = checkBodyFields(sodium, decoded)
  if (typeof fields === 'string') {
    return fields.startsWith('version') ? reject('bad_version', fields) : reject('bad_fields', fields)
  }
  if (fields.issued > options.nowSeconds + CERTIFICATE_CLOCK_SKEW_SECONDS) {
    return reject('not_yet_valid', `certificate issued in the future (${fields.issued}, now ${options.nowSeconds})`)
  }
  if (fields.expires <= options.nowSeconds - CERTIFICATE_CLOCK_SKEW_SECONDS) {
    return reject('expired', `certificate expired at ${new Date(fields.expires * 1000).toISOString()}`)
  }
  return { ok: true, body: fields }
}

/** Returns the typed body, or a sentence saying what is wrong with it. */
function checkBodyFields (sodium: Sodium, value: unknown): CertificateBody | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'body is not an object'
  const body = value as Record<string, unknown>
  const expected = ['deviceKey', 'expires', 'issued', 'serial', 'user', 'v']
  const keys = Object.keys(body).sort()
  if (body.v !== CERTIFICATE_VERSION) return `version ${String(body.v)} is not supported (expected ${CERTIFICATE_VERSION})`
  if (keys.join(',') !== expected.join(',')) return `body fields are [${keys.join(', ')}], expected [${expected.join(', ')}]`
  if (typeof body.user !== 'string' || !USERNAME_PATTERN.test(body.user)) return 'user is not a valid username'
  if (typeof body.deviceKey !== 'string' || fromBase64url(body.deviceKey)?.length !== sodium.crypto_sign_PUBLICKEYBYTES) {
    return 'deviceKey is not a 32-byte base64url key'
  }
  for (const field of ['issued', 'expires', 'serial'] as const) {
    const n = body[field]
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `${field} is not a non-negative integer`
  }
  if ((body.expires as number) <= (body.issued as number)) return 'expires is not after issued'
  return body as unknown as CertificateBody
}
