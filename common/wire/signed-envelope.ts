// End-to-end signed objects that cross supernodes: text messages, receipts,
// presence, contact notices. A supernode in between can route, drop or replay
// them but cannot forge or alter one. What the body means (its type, its
// recipient, its freshness) is for the caller to check after opening.
import type { CertificateBody, VerifyOptions } from '../certificate.js'
import type { Sodium } from '../sodium.js'
import { ownCertificateFacts, type DeviceIdentity } from './device-identity.js'
import {
  openSignedRecord, sealSignedRecord, type SignedBody, type SignedRecord, type SignedRecordRejection
} from './signed-record.js'

/** Separates envelope signatures from every other kind of signature a device makes. */
export const ENVELOPE_DOMAIN = 'voxmesh/envelope/v1'

export type Envelope = SignedRecord

export type EnvelopeRejection =
  | SignedRecordRejection
  /** body.from names another user than the signing certificate. */
  | 'signer_mismatch'

export type OpenedEnvelope =
  | { ok: true, from: { user: string, deviceKey: string }, body: SignedBody, certificate: CertificateBody }
  | { ok: false, reason: EnvelopeRejection, message: string }

/** Throws when body.from names someone else, or the body is not encodable or too large (caller bugs). */
export function sealEnvelope (sodium: Sodium, identity: DeviceIdentity, body: SignedBody): Envelope {
  const own = ownCertificateFacts(sodium, identity)
  if ('from' in body && body.from !== own.user) {
    throw new TypeError(`envelope body.from ${JSON.stringify(body.from)} is not our user ${own.user}`)
  }
  return sealSignedRecord(sodium, identity, ENVELOPE_DOMAIN, body)
}

/** `from` is the proven sender (from the certificate); trust it, not anything else in the body. */
export function openEnvelope (sodium: Sodium, envelope: unknown, options: VerifyOptions): OpenedEnvelope {
  const opened = openSignedRecord(sodium, envelope, ENVELOPE_DOMAIN, options)
  if (!opened.ok) return opened
  const { signer, body } = opened
  if ('from' in body && body.from !== signer.user) {
    // Quoted short: a signer chooses body.from, up to the whole body's 12 KiB, and this message is logged.
    const from = typeof body.from === 'string' ? JSON.stringify(body.from.slice(0, 64)) : `of type ${Array.isArray(body.from) ? 'array' : typeof body.from}`
    return { ok: false, reason: 'signer_mismatch', message: `body.from ${from} but signed by ${signer.user}` }
  }
  return { ok: true, from: { user: signer.user, deviceKey: signer.deviceKey }, body, certificate: signer }
}
