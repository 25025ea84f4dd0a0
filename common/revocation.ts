// Logout ends a device's certificates: the login server lists "certificates of
// this user's device up to this serial are void" and supernodes refuse them.
// The list names devices by a hash of user and device key, not in clear, so
// reading it does not tell who logged out; a supernode matches the certificates
// it is shown against it.
import { toBase64url } from './base64url.js'
import type { CertificateBody } from './certificate.js'
import type { Sodium } from './sodium.js'

const REVOCATION_KEY_DOMAIN = 'voxmesh/revocation/v1'
const REVOCATION_KEY_BYTES = 32

export interface Revocation {
  /** Position in the login server's list (cursor for the next poll). */
  id: number
  /** revocationKey(user, deviceKey) */
  key: string
  /** Certificates of that device with this serial or lower are void. */
  serial: number
  /** Unix seconds when the last voided certificate expires anyway: the entry is not needed after. */
  expires: number
}

export function revocationKey (sodium: Sodium, user: string, deviceKey: string): string {
  return toBase64url(sodium.crypto_generichash(REVOCATION_KEY_BYTES, new TextEncoder().encode(`${REVOCATION_KEY_DOMAIN}\0${user}\0${deviceKey}`), null))
}

export const revocationKeyOf = (sodium: Sodium, certificate: CertificateBody): string => revocationKey(sodium, certificate.user, certificate.deviceKey)
