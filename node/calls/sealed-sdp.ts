// SDP sealed to one device: crypto_box_seal to the X25519 form of its Ed25519
// device key. Together with the envelope signature around it, only the two
// ends can read or write the DTLS fingerprints, so media is end-to-end even
// through a relaying supernode.
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import type { Sodium } from '../../common/sodium.js'

export const MAX_SDP_BYTES = 16 * 1024

export function sealSdp (sodium: Sodium, sdp: string, recipientDeviceKey: string): string {
  const bytes = new TextEncoder().encode(sdp)
  if (bytes.length > MAX_SDP_BYTES) throw new Error(`SDP of ${bytes.length} bytes exceeds ${MAX_SDP_BYTES}`)
  const recipient = sodium.crypto_sign_ed25519_pk_to_curve25519(fromBase64url(recipientDeviceKey) as Uint8Array)
  return toBase64url(sodium.crypto_box_seal(bytes, recipient))
}

/** Opens SDP sealed to us; undefined when it was not sealed to this device or is not text. */
export function openSealedSdp (sodium: Sodium, sealed: string, deviceSecretKey: Uint8Array): string | undefined {
  const bytes = fromBase64url(sealed)
  if (bytes === undefined) return undefined
  try {
    const secret = sodium.crypto_sign_ed25519_sk_to_curve25519(deviceSecretKey)
    const publicKey = sodium.crypto_scalarmult_base(secret)
    const opened = sodium.crypto_box_seal_open(bytes, publicKey, secret)
    if (opened.length > MAX_SDP_BYTES) return undefined
    return new TextDecoder('utf-8', { fatal: true }).decode(opened)
  } catch {
    return undefined
  }
}
