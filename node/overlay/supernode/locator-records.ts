// The DHT records a supernode accepts: a locator signed by the device it is
// about, stored under that user's key, that device's subkey and its own seq.
// A refusal that only forging can cause (not time passing, not clock skew)
// marks the peer that sent the record as rogue or broken.
import { verifyCertificate } from '../../../common/certificate.js'
import { verifyLocator } from '../../../common/wire/locator.js'
import { keyFor, type DhtRecord } from '../dht/dht.js'
import type { SupernodeComponents } from './context.js'

export type LocatorRecordCheck = { ok: true } | { ok: false, forged: boolean, reason: string }

export function checkLocatorRecord (components: SupernodeComponents, record: DhtRecord): LocatorRecordCheck {
  const { sodium, issuerKey, clock } = components
  const now = Math.floor(clock.now() / 1000)
  const check = verifyLocator(sodium, record.value, { issuerKey, now })
  if (!check.ok) {
    return { ok: false, forged: !refusedForTime(components, record, check.reason, now), reason: `${check.reason}: ${check.message}` }
  }
  const forged = (reason: string): LocatorRecordCheck => ({ ok: false, forged: true, reason })
  if (record.key !== keyFor(check.locator.user)) return forged('record key is not the key of the locator\'s user')
  if (record.subkey !== check.locator.deviceKey) return forged('record subkey is not the locator\'s device key')
  if (record.seq !== check.locator.seq) return forged('record seq is not the locator\'s seq')
  return { ok: true }
}

/** Refusals an honest peer can cause: the locator or its certificate ran out (or is ahead of our clock). */
function refusedForTime (components: SupernodeComponents, record: DhtRecord, reason: string, now: number): boolean {
  if (reason === 'expired' || reason === 'lifetime_too_long') return true
  if (reason !== 'bad_certificate') return false
  const certificate = (record.value as { certificate?: unknown }).certificate
  const check = verifyCertificate(components.sodium, certificate, { issuerKey: components.issuerKey, now })
  return !check.ok && (check.reason === 'expired' || check.reason === 'not_yet_valid')
}
