// Presence locators: "device D of user U is reachable through supernode S until
// T", signed by D's device key. Supernodes store and forward them (the DHT) but
// cannot forge one, so a rogue supernode cannot redirect a user's calls and
// messages to itself. Lifetimes are short and bounded, so a stale or replayed
// locator dies by itself within minutes.
import { fromBase64url } from '../base64url.js'
import { formatHostPort, parseHostPort } from '../address.js'
import type { VerifyOptions } from '../certificate.js'
import type { Sodium } from '../sodium.js'
import { USERNAME_PATTERN } from '../usernames.js'
import { ownCertificateFacts, type DeviceIdentity } from './device-identity.js'
import { openSignedRecord, sealSignedRecord, type SignedRecord, type SignedRecordRejection } from './signed-record.js'

export const LOCATOR_PURPOSE = 'voxmesh/locator/v1'
/** A verifier refuses a locator that expires later than this from its now. */
export const MAX_LOCATOR_LIFETIME_SECONDS = 600

export interface Locator {
  purpose: typeof LOCATOR_PURPOSE
  user: string
  /** base64url Ed25519 key of the device this locator is about (and signed by). */
  deviceKey: string
  /** Where the device is registered: the supernode's "HOST:PORT" and device key. */
  supernode: { address: string, deviceKey: string }
  /** Higher replaces lower for the same device; increases with every republish. */
  seq: number
  /** Unix seconds. */
  expires: number
}

export type LocatorRecord = SignedRecord

export type LocatorRejection =
  | SignedRecordRejection
  /** Fields missing, extra, or of the wrong type. */
  | 'bad_fields'
  /** supernode.address is not a canonical HOST:PORT. */
  | 'bad_address'
  /** The certificate's user or device key is not the one the locator is about. */
  | 'signer_mismatch'
  | 'expired'
  /** expires is further ahead than MAX_LOCATOR_LIFETIME_SECONDS. */
  | 'lifetime_too_long'

export type VerifiedLocator =
  | { ok: true, locator: Locator }
  | { ok: false, reason: LocatorRejection, message: string }

export interface LocatorContent {
  supernode: { address: string, deviceKey: string }
  seq: number
  /** Unix seconds. */
  expires: number
}

/**
 * Signs a locator for our own device. Leave margin under
 * MAX_LOCATOR_LIFETIME_SECONDS (say expires = now + 300): verifiers whose clock
 * runs behind ours refuse anything beyond their own now + 600.
 */
export function signLocator (sodium: Sodium, identity: DeviceIdentity, content: LocatorContent): LocatorRecord {
  const own = ownCertificateFacts(sodium, identity)
  const locator: Locator = {
    purpose: LOCATOR_PURPOSE,
    user: own.user,
    deviceKey: own.deviceKey,
    supernode: { address: content.supernode.address, deviceKey: content.supernode.deviceKey },
    seq: content.seq,
    expires: content.expires
  }
  const problem = locatorProblem(sodium, locator)
  if (problem !== undefined) throw new TypeError(`cannot sign locator: ${problem.message}`)
  return sealSignedRecord(sodium, identity, LOCATOR_PURPOSE, { ...locator, supernode: { ...locator.supernode } })
}

export function verifyLocator (sodium: Sodium, record: unknown, options: VerifyOptions): VerifiedLocator {
  const opened = openSignedRecord(sodium, record, LOCATOR_PURPOSE, options)
  if (!opened.ok) return opened
  const { signer, body } = opened
  const problem = locatorProblem(sodium, body)
  if (problem !== undefined) return { ok: false, ...problem }
  const locator = body as unknown as Locator
  if (locator.user !== signer.user || locator.deviceKey !== signer.deviceKey) {
    return {
      ok: false,
      reason: 'signer_mismatch',
      message: `locator is about ${locator.user}/${locator.deviceKey} but signed by ${signer.user}/${signer.deviceKey}`
    }
  }
  if (locator.expires <= options.nowSeconds) {
    return { ok: false, reason: 'expired', message: `locator expired at ${locator.expires} (now ${options.nowSeconds})` }
  }
  if (locator.expires > options.nowSeconds + MAX_LOCATOR_LIFETIME_SECONDS) {
    return {
      ok: false,
      reason: 'lifetime_too_long',
      message: `locator expires at ${locator.expires}, more than ${MAX_LOCATOR_LIFETIME_SECONDS} s after now ${options.nowSeconds}`
    }
  }
  return { ok: true, locator }
}

/** What is wrong with the fields themselves (independent of time and signer), if anything. */
function locatorProblem (sodium: Sodium, value: unknown): { reason: 'bad_fields' | 'bad_address', message: string } | undefined {
  const bad = (message: string) => ({ reason: 'bad_fields' as const, message })
  if (!isPlainObject(value)) return bad('locator is not an object')
  const keys = Object.keys(value).sort().join(',')
  if (keys !== 'deviceKey,expires,purpose,seq,supernode,user') {
    return bad(`locator fields are [${keys.length > 80 ? `${keys.slice(0, 80)}…` : keys}], expected [deviceKey, expires, purpose, seq, supernode, user]`)
  }
  if (value.purpose !== LOCATOR_PURPOSE) return bad(`purpose is not "${LOCATOR_PURPOSE}"`)
  if (typeof value.user !== 'string' || !USERNAME_PATTERN.test(value.user)) return bad('user is not a valid username')
  if (!isDeviceKey(sodium, value.deviceKey)) return bad('deviceKey is not a 32-byte base64url key')
  for (const field of ['seq', 'expires'] as const) {
    const n = value[field]
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return bad(`${field} is not a non-negative integer`)
  }
  const supernode = value.supernode
  if (!isPlainObject(supernode) || Object.keys(supernode).sort().join(',') !== 'address,deviceKey') {
    return bad('supernode must be exactly { address, deviceKey }')
  }
  if (!isDeviceKey(sodium, supernode.deviceKey)) return bad('supernode.deviceKey is not a 32-byte base64url key')
  const address = supernode.address
  const parsed = typeof address === 'string' ? parseHostPort(address) : undefined
  // Only the canonical spelling, so equal addresses compare equal (no "host:080").
  if (parsed === undefined || formatHostPort(parsed) !== address) {
    // Quoted short: the signer chooses it (any JSON up to the body's 12 KiB), and this message is logged.
    const quoted = typeof address === 'string' ? JSON.stringify(address.slice(0, 64)) : `of type ${Array.isArray(address) ? 'array' : typeof address}`
    return { reason: 'bad_address', message: `supernode.address ${quoted} is not a canonical HOST:PORT` }
  }
  return undefined
}

function isDeviceKey (sodium: Sodium, value: unknown): boolean {
  return typeof value === 'string' && fromBase64url(value)?.length === sodium.crypto_sign_PUBLICKEYBYTES
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
