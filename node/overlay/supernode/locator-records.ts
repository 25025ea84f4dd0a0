// The DHT records a supernode accepts: locators sealed for the user's contacts
// (common/wire/sealed-locator.ts), written by the holder of the record key's
// lookup key pair. The supernode learns nothing else from them. A refusal that
// only forging can cause (not time passing, not clock skew) marks the peer that
// sent the record as rogue or broken.
import { checkSealedRecord, type SealedRecordCheck } from '../../../common/wire/sealed-locator.js'
import type { DhtRecord } from '../dht/dht.js'
import type { SupernodeComponents } from './context.js'

export type LocatorRecordCheck = SealedRecordCheck

export function checkLocatorRecord (components: SupernodeComponents, record: DhtRecord): LocatorRecordCheck {
  return checkSealedRecord(components.sodium, record, components.clock.now())
}
