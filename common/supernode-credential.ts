// Supernode credentials: the login server's statement "the device key K of user
// U runs a supernode reachable at ADDRESS, with DHT id D, until T". Like Tor's
// directory authorities vouching for relays: the login server signs one only
// after dialing the address back, for at most a few supernodes per address,
// and it — not the supernode — picks the DHT id, so nobody can place
// themselves next to a key they want to watch or silence. Supernodes check a
// peer's credential on every mesh link; hosts check their supernode's.
import { createHmac, createHash } from 'node:crypto'
import { canonicalDecode, canonicalEncode } from './canonical.js'
import { fromBase64url, toBase64url } from './base64url.js'
import { formatHostPort, parseHostPort } from './address.js'
import { USERNAME_PATTERN } from './usernames.js'
import { CERTIFICATE_CLOCK_SKEW_SECONDS, type VerifyOptions } from './certificate.js'
import type { Sodium } from './sodium.js'

export const SUPERNODE_CREDENTIAL_PURPOSE = 'voxmesh/supernode-credential/v1'
/** Bound on the encoded body; a real one is about 300 bytes. */
export const MAX_SUPERNODE_CREDENTIAL_BODY_BYTES = 1024
/**
 * DHT ids are re-drawn this often (per supernode, at a time of day that
 * depends on its device key, so the whole mesh never re-shuffles at once):
 * a supernode that happened to land next to a key does not keep that place.
 */
export const DHT_ID_EPOCH_SECONDS = 7 * 24 * 3600

export interface SupernodeCredential {
  /** base64url of the canonical encoding of a SupernodeCredentialBody */
  body: string
  /** base64url Ed25519 signature by the login server's key over the body bytes */
  signature: string
}

export interface SupernodeCredentialBody {
  purpose: typeof SUPERNODE_CREDENTIAL_PURPOSE
  user: string
  deviceKey: string
  /** The canonical HOST:PORT the login server dialed back. */
  address: string
  /** 64 hex characters: this supernode's place in the DHT, chosen by the login server. */
  dhtId: string
  /** Unix seconds (signed: the wire name stays). */
  issued: number
  /** Unix seconds (signed: the wire name stays). */
  expires: number
}

export type SupernodeCredentialCheck =
  | { ok: true, body: SupernodeCredentialBody }
  | { ok: false, message: string }

export function signSupernodeCredential (sodium: Sodium, body: Omit<SupernodeCredentialBody, 'purpose'>, issuerSecretKey: Uint8Array): SupernodeCredential {
  const bytes = canonicalEncode({ ...body, purpose: SUPERNODE_CREDENTIAL_PURPOSE })
  return { body: toBase64url(bytes), signature: toBase64url(sodium.crypto_sign_detached(bytes, issuerSecretKey)) }
}

/** Checks signature, fields and time; `expect` pins the device key (and address) the credential must name. */
export function verifySupernodeCredential (
  sodium: Sodium,
  credential: unknown,
  options: VerifyOptions & { expect?: { deviceKey?: string, address?: string, dhtId?: string } }
): SupernodeCredentialCheck {
  const reject = (message: string): SupernodeCredentialCheck => ({ ok: false, message })
  if (typeof credential !== 'object' || credential === null) return reject('supernode credential is missing')
  const { body, signature } = credential as Record<string, unknown>
  if (typeof body !== 'string' || typeof signature !== 'string') return reject('supernode credential needs string fields "body" and "signature"')
  if (body.length > Math.ceil(MAX_SUPERNODE_CREDENTIAL_BODY_BYTES * 4 / 3)) return reject('supernode credential is too large')
  const bodyBytes = fromBase64url(body)
  const signatureBytes = fromBase64url(signature)
  if (bodyBytes === undefined || signatureBytes?.length !== sodium.crypto_sign_BYTES) return reject('supernode credential is not base64url')
  if (!sodium.crypto_sign_verify_detached(signatureBytes, bodyBytes, options.issuerKey)) {
    return reject('supernode credential is not signed by the login server')
  }
  const fields = checkFields(sodium, canonicalDecode(bodyBytes))
  if (typeof fields === 'string') return reject(`supernode credential ${fields}`)
  if (fields.issued > options.nowSeconds + CERTIFICATE_CLOCK_SKEW_SECONDS) return reject('supernode credential is issued in the future')
  if (fields.expires <= options.nowSeconds) return reject(`supernode credential expired at ${new Date(fields.expires * 1000).toISOString()}`)
  const expect = options.expect ?? {}
  if (expect.deviceKey !== undefined && fields.deviceKey !== expect.deviceKey) return reject('supernode credential is for another device')
  if (expect.address !== undefined && fields.address !== expect.address) return reject(`supernode credential is for ${fields.address}, not ${expect.address}`)
  if (expect.dhtId !== undefined && fields.dhtId !== expect.dhtId) return reject('supernode credential names another DHT id')
  return { ok: true, body: fields }
}

/**
 * The DHT id the login server assigns: a keyed hash of the device key and the
 * current epoch, under a secret only the login server holds. A member cannot
 * predict the id of a key before it is admitted, so grinding keys offline
 * gains nothing; each try costs an admission, and admissions are capped per address.
 */
export function assignDhtId (idSecret: Uint8Array, deviceKey: string, nowSeconds: number): string {
  return createHmac('sha256', idSecret).update(`voxmesh/dht-id/v1|${deviceKey}|${dhtEpochOf(deviceKey, nowSeconds)}`).digest('hex')
}

/** The epoch number of this device key at this time: epochs start at a per-key offset. */
export function dhtEpochOf (deviceKey: string, nowSeconds: number): number {
  const offset = createHash('sha256').update(deviceKey).digest().readUInt32BE(0) % DHT_ID_EPOCH_SECONDS
  return Math.floor((nowSeconds + offset) / DHT_ID_EPOCH_SECONDS)
}

/** The DHT id secret, derived from the login server's signing key (so every instance sharing the key agrees). */
export function dhtIdSecretOf (signingSecretKey: Uint8Array): Uint8Array {
  return createHmac('sha256', signingSecretKey).update('voxmesh/dht-id-secret/v1').digest()
}

function checkFields (sodium: Sodium, value: unknown): SupernodeCredentialBody | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'body is not a canonical object'
  const body = value as Record<string, unknown>
  const keys = Object.keys(body).sort().join(',')
  if (keys !== 'address,deviceKey,dhtId,expires,issued,purpose,user') return `has fields [${keys}]`
  if (body.purpose !== SUPERNODE_CREDENTIAL_PURPOSE) return 'has the wrong purpose'
  if (typeof body.user !== 'string' || !USERNAME_PATTERN.test(body.user)) return 'names an invalid user'
  if (typeof body.deviceKey !== 'string' || fromBase64url(body.deviceKey)?.length !== sodium.crypto_sign_PUBLICKEYBYTES) return 'has a bad device key'
  const parsed = typeof body.address === 'string' ? parseHostPort(body.address) : undefined
  if (parsed === undefined || formatHostPort(parsed) !== body.address) return 'has a bad address'
  if (typeof body.dhtId !== 'string' || !/^[0-9a-f]{64}$/.test(body.dhtId)) return 'has a bad DHT id'
  for (const field of ['issued', 'expires'] as const) {
    const n = body[field]
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return `has a bad ${field}`
  }
  if ((body.expires as number) <= (body.issued as number)) return 'expires before it is issued'
  return body as unknown as SupernodeCredentialBody
}
