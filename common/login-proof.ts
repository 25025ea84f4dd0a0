// Signing and checking the login proof (login-api.ts): the device's signature
// that turns a device key from a public name into a device cookie.
import { canonicalEncode } from './canonical.js'
import { fromBase64url, toBase64url } from './base64url.js'
import { loginProofBody, type LoginProof } from './login-api.js'
import type { Sodium } from './sodium.js'

export interface LoginProofClaim {
  /** The login server's public key (base64url): a proof is good for one server only. */
  server: string
  /** Exactly as sent in the login request. */
  username: string
  deviceKey: string
}

export function signLoginProof (sodium: Sodium, deviceSecretKey: Uint8Array, claim: LoginProofClaim, timestampSeconds: number): LoginProof {
  const body = canonicalEncode(loginProofBody(claim.server, claim.username, claim.deviceKey, timestampSeconds))
  return { timestamp: timestampSeconds, signature: toBase64url(sodium.crypto_sign_detached(body, deviceSecretKey)) }
}

/** True when `proof` is the device key's signature over this claim, made within `maxSkewSeconds` of `nowSeconds`. */
export function checkLoginProof (sodium: Sodium, proof: LoginProof, claim: LoginProofClaim, nowSeconds: number, maxSkewSeconds: number): boolean {
  if (Math.abs(proof.timestamp - nowSeconds) > maxSkewSeconds) return false
  const signature = fromBase64url(proof.signature)
  const publicKey = fromBase64url(claim.deviceKey)
  if (signature?.length !== sodium.crypto_sign_BYTES || publicKey?.length !== sodium.crypto_sign_PUBLICKEYBYTES) return false
  const body = canonicalEncode(loginProofBody(claim.server, claim.username, claim.deviceKey, proof.timestamp))
  try {
    return sodium.crypto_sign_verify_detached(signature, body, publicKey)
  } catch {
    return false
  }
}
