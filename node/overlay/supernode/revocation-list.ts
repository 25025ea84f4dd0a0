// The revocations a supernode learned from the login server (common/revocation.ts):
// certificates of a logged-out device are refused at every handshake, on every
// signed envelope, and on links already open. Sans-IO; entries leave when the
// certificates they void would be refused for age anyway.
import { revocationKeyOf, type Revocation } from '../../../common/revocation.js'
import type { CertificateBody } from '../../../common/certificate.js'
import type { Sodium } from '../../../common/sodium.js'
import { MAX_REVOCATIONS } from '../constants.js'

export interface RevocationList {
  /** Adds entries; returns how many were news (a higher serial for a device, or a new device). */
  add: (entries: Revocation[], nowSeconds: number) => number
  /** Why `certificate` is refused, or undefined when it is not revoked. */
  refusal: (certificate: CertificateBody) => string | undefined
  readonly size: number
}

export function createRevocationList (sodium: Sodium): RevocationList {
  // By revocation key; Map order is arrival order, close to expiry order.
  const entries = new Map<string, { serial: number, expires: number }>()

  const prune = (nowSeconds: number): void => {
    for (const [key, entry] of entries) if (entry.expires <= nowSeconds) entries.delete(key)
    // The login server lists at most what expires within a certificate lifetime; this only bounds memory.
    while (entries.size > MAX_REVOCATIONS) entries.delete(entries.keys().next().value as string)
  }

  return {
    add (list, nowSeconds) {
      let news = 0
      for (const { key, serial, expires } of list) {
        const known = entries.get(key)
        if (known !== undefined && known.serial >= serial) continue
        entries.set(key, { serial, expires: Math.max(expires, known?.expires ?? 0) })
        news++
      }
      prune(nowSeconds)
      return news
    },
    refusal (certificate) {
      const entry = entries.get(revocationKeyOf(sodium, certificate))
      return entry !== undefined && certificate.serial <= entry.serial ? `certificate ${certificate.serial} of ${certificate.user} was revoked (logout)` : undefined
    },
    get size () { return entries.size }
  }
}
