// Issuing device certificates: serial from the store, signature by the server key.
import { signCertificate, CERTIFICATE_VERSION, type Certificate } from '../common/certificate.js'
import type { RouteContext } from './context.js'

export async function issueCertificate (ctx: RouteContext, user: string, deviceKey: string): Promise<Certificate> {
  const issued = ctx.nowSeconds()
  const expires = issued + ctx.certificateTtlSeconds
  const serial = await ctx.components.store.recordCertificate(user, deviceKey, issued, expires)
  ctx.metrics.certificatesIssued.inc()
  return signCertificate(ctx.components.sodium, { v: CERTIFICATE_VERSION, user, deviceKey, issued, expires, serial }, ctx.components.signingKey.secretKey)
}
