// What a device proves itself with in the overlay: the certificate the login
// server issued for its device key, and that key's secret half. Links, signed
// envelopes and locators all sign with it.
import { fromBase64url, toBase64url } from '../base64url.js'
import { canonicalDecode } from '../canonical.js'
import type { Certificate } from '../certificate.js'
import type { Sodium } from '../sodium.js'

export interface DeviceIdentity {
  certificate: Certificate
  /** Ed25519 secret key, 64 bytes (seed ‖ public key), as crypto_sign_keypair returns it. */
  secretKey: Uint8Array
}

export interface OwnCertificateFacts {
  user: string
  /** base64url Ed25519 public key */
  deviceKey: string
}

/**
 * Reads our own certificate without verifying it (we have no reason to distrust
 * what the login server gave us, and its expiry is the peer's business) and
 * checks that the secret key belongs to it. A mismatch is a programming or
 * configuration error: everything signed with it would be rejected by every
 * peer, so it throws here instead of failing mysteriously far away.
 */
export function ownCertificateFacts (sodium: Sodium, identity: DeviceIdentity): OwnCertificateFacts {
  if (identity.secretKey.length !== sodium.crypto_sign_SECRETKEYBYTES) {
    throw new TypeError(`device secret key must be ${sodium.crypto_sign_SECRETKEYBYTES} bytes, got ${identity.secretKey.length}`)
  }
  const bodyBytes = fromBase64url(identity.certificate.body)
  const body = bodyBytes === undefined ? undefined : canonicalDecode(bodyBytes)
  if (typeof body !== 'object' || body === null || Array.isArray(body) ||
      typeof body.user !== 'string' || typeof body.deviceKey !== 'string') {
    throw new TypeError('own certificate body is not a decodable certificate body')
  }
  const publicKey = toBase64url(sodium.crypto_sign_ed25519_sk_to_pk(identity.secretKey))
  if (publicKey !== body.deviceKey) {
    throw new TypeError(`device secret key (public ${publicKey}) does not match the certificate's deviceKey ${body.deviceKey}`)
  }
  return { user: body.user, deviceKey: body.deviceKey }
}
