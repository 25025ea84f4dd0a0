// The DHT record of a locator, sealed: stored under the user's lookup key
// (common/lookup-keys.ts), its contents (the device-signed locator) sealed with
// the user's seal key, the whole signed by the user's lookup key.
//
//   { key: sha256(pub) hex, subkey: sealedSubkey(sealKey, deviceKey), seq, expiresAt,
//     value: { pub, sealed: nonce ‖ secretbox(padded JSON of the signed locator), sig } }
//
// A supernode that stores it can check that only the holder of the lookup key
// wrote it (sha256(pub) = key, sig) and learns nothing else: not the user, not
// the device, not the supernode. A contact opens it and checks the locator's
// own signature, as it would a plain locator.
import { createHash } from 'node:crypto'
import { fromBase64url, toBase64url } from '../base64url.js'
import { canonicalEncode } from '../canonical.js'
import type { VerifyOptions } from '../certificate.js'
import { lookupKeyOf, type LookupCapability } from '../lookup-keys.js'
import type { Sodium } from '../sodium.js'
import { MAX_LOCATOR_LIFETIME_SECONDS, verifyLocator, type Locator, type LocatorRecord } from './locator.js'
import { signedRecordBytes } from './signed-record.js'

export const SEALED_LOCATOR_PURPOSE = 'voxmesh/sealed-locator/v1'
const SUBKEY_DOMAIN = 'voxmesh/lookup-subkey/v1'
/** Sealed plaintexts are padded to a multiple of this, so their length says little about the user or address. */
export const SEALED_LOCATOR_PADDING = 512
/** Bound on the sealed bytes (nonce, MAC and padded plaintext). */
export const MAX_SEALED_LOCATOR_BYTES = 2560
/** Hex characters of a subkey: 128 bits of sha256. */
export const SEALED_SUBKEY_HEX = 32

export interface SealedLocatorValue { pub: string, sealed: string, sig: string }
export interface SealedLocatorRecord { key: string, subkey: string, value: SealedLocatorValue, seq: number, expiresAt: number }

export type SealedRecordCheck = { ok: true } | { ok: false, forged: boolean, reason: string }
export type OpenedSealedLocator = { ok: true, locator: Locator, envelope: LocatorRecord } | { ok: false, reason: string }

/** The subkey of one device's record: stable per device, meaningless without the seal key. */
export function sealedSubkey (sealKey: Uint8Array, deviceKey: string): string {
  return createHash('sha256').update(`${SUBKEY_DOMAIN}\0`).update(sealKey).update(deviceKey, 'utf8').digest('hex').slice(0, SEALED_SUBKEY_HEX)
}

const signedBytes = (record: Omit<SealedLocatorRecord, 'value'>, sealed: string): Uint8Array =>
  signedRecordBytes(SEALED_LOCATOR_PURPOSE, canonicalEncode({ key: record.key, subkey: record.subkey, seq: record.seq, expiresAt: record.expiresAt, sealed }))

/** Seals our own signed locator into its DHT record (seq and expiry are the locator's). */
export function sealLocatorRecord (
  sodium: Sodium,
  own: { publicKey: Uint8Array, secretKey: Uint8Array, sealKey: Uint8Array },
  signed: LocatorRecord,
  locator: { deviceKey: string, seq: number, expires: number }
): SealedLocatorRecord {
  const text = JSON.stringify(signed)
  // JSON ignores trailing whitespace: pad with spaces.
  const plaintext = new TextEncoder().encode(text.padEnd(Math.ceil((text.length + 1) / SEALED_LOCATOR_PADDING) * SEALED_LOCATOR_PADDING, ' '))
  const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES)
  const box = sodium.crypto_secretbox_easy(plaintext, nonce, own.sealKey)
  const sealedBytes = new Uint8Array(nonce.length + box.length)
  sealedBytes.set(nonce)
  sealedBytes.set(box, nonce.length)
  if (sealedBytes.length > MAX_SEALED_LOCATOR_BYTES) throw new RangeError(`sealed locator of ${sealedBytes.length} bytes exceeds ${MAX_SEALED_LOCATOR_BYTES}`)
  const sealed = toBase64url(sealedBytes)
  const head = { key: lookupKeyOf(own.publicKey), subkey: sealedSubkey(own.sealKey, locator.deviceKey), seq: locator.seq, expiresAt: locator.expires * 1000 }
  const sig = toBase64url(sodium.crypto_sign_detached(signedBytes(head, sealed), own.secretKey))
  return { ...head, value: { pub: toBase64url(own.publicKey), sealed, sig } }
}

/**
 * What a supernode that stores the record can check: it was written by the
 * holder of the key's lookup key pair, and is within bounds. `forged` is false
 * for refusals time alone can cause (clock skew).
 */
export function checkSealedRecord (sodium: Sodium, record: { key: string, subkey: string, value: unknown, seq: number, expiresAt: number }, nowMs: number): SealedRecordCheck {
  const forged = (reason: string): SealedRecordCheck => ({ ok: false, forged: true, reason })
  const value = record.value
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).sort().join(',') !== 'pub,sealed,sig') {
    return forged('value must be exactly { pub, sealed, sig }')
  }
  const { pub, sealed, sig } = value as Record<string, unknown>
  if (typeof pub !== 'string' || typeof sealed !== 'string' || typeof sig !== 'string') return forged('pub, sealed and sig must be strings')
  if (!new RegExp(`^[0-9a-f]{${SEALED_SUBKEY_HEX}}$`).test(record.subkey)) return forged(`subkey is not ${SEALED_SUBKEY_HEX} hex characters`)
  const pubBytes = fromBase64url(pub)
  const sigBytes = fromBase64url(sig)
  if (pubBytes?.length !== sodium.crypto_sign_PUBLICKEYBYTES) return forged('pub is not a 32-byte base64url key')
  if (sigBytes?.length !== sodium.crypto_sign_BYTES) return forged('sig is not a 64-byte base64url signature')
  if (sealed.length > Math.ceil(MAX_SEALED_LOCATOR_BYTES * 4 / 3)) return forged(`sealed exceeds ${MAX_SEALED_LOCATOR_BYTES} bytes`)
  const sealedBytes = fromBase64url(sealed)
  if (sealedBytes === undefined || sealedBytes.length < sodium.crypto_secretbox_NONCEBYTES + sodium.crypto_secretbox_MACBYTES) return forged('sealed is not a sealed box')
  if (lookupKeyOf(pubBytes) !== record.key) return forged('record key is not sha256 of its lookup key')
  if (!sodium.crypto_sign_verify_detached(sigBytes, signedBytes(record, sealed), pubBytes)) return forged('signature does not verify under the record\'s lookup key')
  if (record.expiresAt > nowMs + MAX_LOCATOR_LIFETIME_SECONDS * 1000) {
    return { ok: false, forged: false, reason: `expires more than ${MAX_LOCATOR_LIFETIME_SECONDS} s from now` }
  }
  return { ok: true }
}

/** Opens a record with a capability and checks the locator inside: signed by its device, of the capability's user, bound to the record. */
export function openSealedRecord (
  sodium: Sodium,
  record: { key: string, subkey: string, value: unknown, seq: number, expiresAt: number },
  capability: LookupCapability,
  options: VerifyOptions
): OpenedSealedLocator {
  if (record.key !== capability.lookupKey) return { ok: false, reason: 'record is not under the capability\'s lookup key' }
  const check = checkSealedRecord(sodium, record, options.nowSeconds * 1000)
  if (!check.ok) return { ok: false, reason: check.reason }
  const sealKey = fromBase64url(capability.sealKey)
  if (sealKey?.length !== sodium.crypto_secretbox_KEYBYTES) return { ok: false, reason: 'capability has no 32-byte seal key' }
  const sealedBytes = fromBase64url((record.value as SealedLocatorValue).sealed) as Uint8Array
  const nonce = sealedBytes.subarray(0, sodium.crypto_secretbox_NONCEBYTES)
  let plaintext: Uint8Array
  try {
    plaintext = sodium.crypto_secretbox_open_easy(sealedBytes.subarray(sodium.crypto_secretbox_NONCEBYTES), nonce, sealKey)
  } catch {
    return { ok: false, reason: 'does not open with the capability\'s seal key' }
  }
  let envelope: unknown
  try {
    envelope = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext))
  } catch {
    return { ok: false, reason: 'sealed contents are not JSON' }
  }
  const verified = verifyLocator(sodium, envelope, options)
  if (!verified.ok) return { ok: false, reason: `sealed locator rejected (${verified.reason}): ${verified.message}` }
  const locator = verified.locator
  if (locator.user !== capability.user) return { ok: false, reason: 'sealed locator is about another user' }
  if (record.subkey !== sealedSubkey(sealKey, locator.deviceKey) || record.seq !== locator.seq) {
    return { ok: false, reason: 'sealed locator does not match its record\'s subkey or seq' }
  }
  return { ok: true, locator, envelope: envelope as LocatorRecord }
}
