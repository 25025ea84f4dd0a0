// Message text sealed to the recipient's devices: supernodes carry it and cannot
// read it. The text is encrypted once with a fresh key (crypto_secretbox), and
// that key is boxed to each recipient device (crypto_box from the sender
// device's X25519 form to the recipient device's X25519 form, both converted
// from the Ed25519 device keys). crypto_box rather than an anonymous sealed box:
// the recipient checks the key came from the device that signed the envelope,
// so nobody can lift a box they cannot read into an envelope of their own.
// One copy of the text however many devices: the envelope's size bound holds.
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { verifyCertificate, type Certificate } from '../../common/certificate.js'
import type { Sodium } from '../../common/sodium.js'
import { MAX_LOCATED_DEVICES, MAX_TEXT_BYTES } from './messages.js'

export interface SealedText {
  /** base64url secretbox nonce */
  nonce: string
  /** base64url secretbox of the UTF-8 text */
  ciphertext: string
  /** The text key boxed to each recipient device: base64url(box nonce ‖ box). */
  keys: Array<{ device: string, box: string }>
}

export function sealText (sodium: Sodium, text: string, sender: { secretKey: Uint8Array }, recipientDeviceKeys: string[]): SealedText {
  const bytes = new TextEncoder().encode(text)
  if (bytes.length > MAX_TEXT_BYTES) throw new RangeError(`text of ${bytes.length} bytes exceeds ${MAX_TEXT_BYTES}`)
  if (recipientDeviceKeys.length === 0 || recipientDeviceKeys.length > MAX_LOCATED_DEVICES) {
    throw new RangeError(`text sealed to ${recipientDeviceKeys.length} devices (1 to ${MAX_LOCATED_DEVICES})`)
  }
  const key = sodium.crypto_secretbox_keygen()
  const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES)
  const senderSecret = sodium.crypto_sign_ed25519_sk_to_curve25519(sender.secretKey)
  try {
    const keys = recipientDeviceKeys.map(device => {
      const recipient = sodium.crypto_sign_ed25519_pk_to_curve25519(fromBase64url(device) as Uint8Array)
      const boxNonce = sodium.randombytes_buf(sodium.crypto_box_NONCEBYTES)
      const box = sodium.crypto_box_easy(key, boxNonce, recipient, senderSecret)
      return { device, box: toBase64url(concat(boxNonce, box)) }
    })
    return { nonce: toBase64url(nonce), ciphertext: toBase64url(sodium.crypto_secretbox_easy(bytes, nonce, key)), keys }
  } finally {
    sodium.memzero(key)
    sodium.memzero(senderSecret)
  }
}

export type OpenedText = { ok: true, text: string } | { ok: false, reason: string }

/** Opens a text sealed to `own` by the device `senderDeviceKey` (the envelope's proven signer). */
export function openSealedText (
  sodium: Sodium, sealed: SealedText, own: { deviceKey: string, secretKey: Uint8Array }, senderDeviceKey: string
): OpenedText {
  const mine = sealed.keys.find(k => k.device === own.deviceKey)
  if (mine === undefined) return { ok: false, reason: 'not sealed to this device' }
  const boxBytes = fromBase64url(mine.box)
  const nonce = fromBase64url(sealed.nonce)
  const ciphertext = fromBase64url(sealed.ciphertext)
  if (boxBytes === undefined || nonce?.length !== sodium.crypto_secretbox_NONCEBYTES || ciphertext === undefined) {
    return { ok: false, reason: 'sealed fields are not base64url of the right sizes' }
  }
  const ownSecret = sodium.crypto_sign_ed25519_sk_to_curve25519(own.secretKey)
  let key: Uint8Array | undefined
  try {
    const senderPublic = sodium.crypto_sign_ed25519_pk_to_curve25519(fromBase64url(senderDeviceKey) as Uint8Array)
    const boxNonce = boxBytes.subarray(0, sodium.crypto_box_NONCEBYTES)
    key = sodium.crypto_box_open_easy(boxBytes.subarray(sodium.crypto_box_NONCEBYTES), boxNonce, senderPublic, ownSecret)
    const plain = sodium.crypto_secretbox_open_easy(ciphertext, nonce, key)
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(plain) }
  } catch {
    return { ok: false, reason: 'the key box or the text does not open (tampered, or sealed by another device)' }
  } finally {
    sodium.memzero(ownSecret)
    if (key !== undefined) sodium.memzero(key)
  }
}

/**
 * The device keys of `user` among certificates a supernode named: only those
 * the login server signed for that user count, so a rogue supernode cannot
 * slip its own key in and read the text.
 */
export function recipientDevices (sodium: Sodium, certificates: Certificate[], options: { user: string, issuerKey: Uint8Array, nowSeconds: number }): string[] {
  const devices = new Set<string>()
  for (const certificate of certificates) {
    const check = verifyCertificate(sodium, certificate, { issuerKey: options.issuerKey, nowSeconds: options.nowSeconds })
    if (check.ok && check.body.user === options.user) devices.add(check.body.deviceKey)
  }
  return [...devices].slice(0, MAX_LOCATED_DEVICES)
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
