// Per-user lookup keys: where a user's locators live in the supernode DHT and
// the key that seals them. The login server derives them from one secret of
// its own, gives a user its own (to publish) and gives each authorized contact
// the user's lookup capability (to find the user). Nobody else can compute
// where a user's locators are or read them, so the DHT says nothing about who
// is online to those who store it.
//
//   seed     = HMAC-SHA256(secret, "voxmesh/lookup-sign/v1" ‖ user)   → Ed25519 key pair
//   lookupKey = hex(sha256(lookup public key))   (self-certifying DHT key, as in S/Kademlia)
//   sealKey  = HMAC-SHA256(secret, "voxmesh/lookup-seal/v1" ‖ user)   (crypto_secretbox key)
//
// The derivation has no epoch: a removed contact keeps a capability until the
// login server's lookup secret is replaced.
import { createHash, createHmac } from 'node:crypto'
import { fromBase64url, toBase64url } from './base64url.js'
import type { Sodium } from './sodium.js'

export const LOOKUP_SECRET_BYTES = 32
const SIGN_DOMAIN = 'voxmesh/lookup-sign/v1'
const SEAL_DOMAIN = 'voxmesh/lookup-seal/v1'
const REACH_DOMAIN = 'voxmesh/lookup-reach/v1'

/** What a user gets for itself (wire form, base64url): enough to publish its sealed locators. */
export interface OwnLookup { seed: string, sealKey: string }

/** What a contact gets for a user (wire form): enough to find and open the user's locators. */
export interface LookupCapability {
  user: string
  /** 64 lowercase hex characters: the DHT key of the user's locators. */
  lookupKey: string
  /** base64url of the 32-byte secretbox key the locators are sealed with. */
  sealKey: string
}

const hmac = (secret: Uint8Array, domain: string, user: string): Uint8Array =>
  new Uint8Array(createHmac('sha256', secret).update(`${domain}\0${user}`, 'utf8').digest())

/** The DHT key of a lookup public key. */
export function lookupKeyOf (publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex')
}

export function ownLookupFor (secret: Uint8Array, user: string): OwnLookup {
  return { seed: toBase64url(hmac(secret, SIGN_DOMAIN, user)), sealKey: toBase64url(hmac(secret, SEAL_DOMAIN, user)) }
}

export function capabilityFor (sodium: Sodium, secret: Uint8Array, user: string): LookupCapability {
  const { publicKey } = sodium.crypto_sign_seed_keypair(hmac(secret, SIGN_DOMAIN, user))
  return { user, lookupKey: lookupKeyOf(publicKey), sealKey: toBase64url(hmac(secret, SEAL_DOMAIN, user)) }
}

/** A user's own lookup, opened: the signing pair, the DHT key and the seal key. Throws on a malformed OwnLookup. */
export function openOwnLookup (sodium: Sodium, own: OwnLookup): { publicKey: Uint8Array, secretKey: Uint8Array, lookupKey: string, sealKey: Uint8Array } {
  const seed = fromBase64url(own.seed)
  const sealKey = fromBase64url(own.sealKey)
  if (seed?.length !== sodium.crypto_sign_SEEDBYTES || sealKey?.length !== sodium.crypto_secretbox_KEYBYTES) {
    throw new TypeError('own lookup must hold a 32-byte seed and a 32-byte seal key')
  }
  const { publicKey, privateKey } = sodium.crypto_sign_seed_keypair(seed)
  return { publicKey, secretKey: privateKey, lookupKey: lookupKeyOf(publicKey), sealKey }
}

/**
 * What proves to a user's own supernode that a forward or a route comes from
 * someone holding the user's capability (a contact, or a supernode acting for
 * one): a supernode that merely stores the user's records cannot compute it.
 */
export function reachTokenOf (sealKey: string): string {
  const key = fromBase64url(sealKey) ?? new Uint8Array(0)
  return createHmac('sha256', key).update(REACH_DOMAIN, 'utf8').digest('hex')
}
