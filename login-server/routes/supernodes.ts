// The supernode bootstrap list and admission. A supernode heartbeats a signed
// statement of its address and load; the login server lists the address only
// after dialing it back — only at the address the heartbeat came from (the
// advertised port may differ), at a bounded rate, every failure told the same —
// and while fewer than maxSupernodesPerAddress others run on that address,
// answers with a short-lived supernode credential (the only way into the mesh),
// and drops the entry when heartbeats stop.
import { ErrorBody, SupernodeHeartbeat, type SupernodeInfo, SupernodeHeartbeatResponse, supernodeHeartbeatBody } from '../../common/login-api.js'
import { verifyCertificate } from '../../common/certificate.js'
import { canonicalEncode } from '../../common/canonical.js'
import { fromBase64url } from '../../common/base64url.js'
import { addressGroupOf, parseHostPort } from '../../common/address.js'
import { assignDhtId, signSupernodeCredential } from '../../common/supernode-credential.js'
import { DIALBACK_FAILED, dialbackTarget } from '../../common/dialback.js'
import {
  DIALBACKS_PER_ADDRESS, DIALBACKS_PER_DEVICE,
  SUPERNODE_CREDENTIAL_TTL_SECONDS, SUPERNODE_HEARTBEAT_SECONDS, SUPERNODE_RECONFIRM_SECONDS, SUPERNODE_SIGNATURE_MAX_SKEW_SECONDS, SUPERNODE_SAMPLE_SIZE, SUPERNODE_TTL_SECONDS
} from '../constants.js'
import { ApiError } from '../errors.js'
import type { App, RouteContext } from '../context.js'

export function registerSupernodeRoutes (app: App, ctx: RouteContext): void {
  const { store, sodium, signingKey, dialer } = ctx.components
  const dialbacksPerDevice = store.rateLimiter('dialbacksPerDevice', DIALBACKS_PER_DEVICE)
  const dialbacksPerAddress = store.rateLimiter('dialbacksPerAddress', DIALBACKS_PER_ADDRESS)

  app.post('/v1/supernodes', {
    schema: { body: SupernodeHeartbeat, response: { 200: SupernodeHeartbeatResponse, '4xx': ErrorBody } }
  }, async request => {
    const hb = request.body
    await ctx.limit('supernodeRegistrationsPerIp', request.ip)
    const now = ctx.nowSeconds()
    const check = verifyCertificate(sodium, hb.certificate, { issuerKey: signingKey.publicKey, nowSeconds: now })
    if (!check.ok) throw new ApiError('invalid_certificate', `certificate rejected (${check.reason}): ${check.message}`)
    const { user, deviceKey } = check.body

    const signature = fromBase64url(hb.signature)
    const signed = canonicalEncode(supernodeHeartbeatBody(hb, deviceKey))
    if (signature === undefined || !sodium.crypto_sign_verify_detached(signature, signed, fromBase64url(deviceKey) as Uint8Array)) {
      throw new ApiError('invalid_signature', 'the heartbeat signature does not verify under the certificate\'s device key')
    }
    if (Math.abs(hb.timestamp - now) > SUPERNODE_SIGNATURE_MAX_SKEW_SECONDS) {
      throw new ApiError('stale_signature', `heartbeat timestamp ${hb.timestamp} is more than ${SUPERNODE_SIGNATURE_MAX_SKEW_SECONDS} s from server time ${now}`)
    }
    const advertised = parseHostPort(hb.address)
    if (advertised === undefined) throw new ApiError('invalid_request', 'address must be HOST:PORT')
    // We dial back only the address the heartbeat came from: anything else is refused
    // before we say anything about it, with the answer every dial-back failure gets.
    const target = dialbackTarget(hb.address, request.ip)
    if (target === undefined) {
      request.log.warn({ user, address: hb.address, source: request.ip }, 'supernode not listed: its address is not the one its heartbeat came from')
      throw new ApiError('unreachable', DIALBACK_FAILED)
    }

    const previous = await store.getSupernode(deviceKey)
    if (previous !== undefined && hb.timestamp <= previous.lastTimestamp) {
      throw new ApiError('stale_signature', 'heartbeat timestamp is not newer than the last one (replayed?)')
    }
    const group = addressGroupOf(advertised.host)
    const full = (): ApiError => {
      request.log.warn({ user, group }, 'supernode not admitted: its address already runs the most supernodes allowed')
      return new ApiError('address_limit', `${group} already runs ${ctx.maxSupernodesPerAddress} supernodes, the most one address may run`)
    }
    // Checked now, to spare the dial-back, and again as the entry is written (concurrent heartbeats).
    const sharing = (await store.listLiveSupernodes(now)).filter(entry => entry.deviceKey !== deviceKey && groupOfAddress(entry.address) === group)
    if (sharing.length >= ctx.maxSupernodesPerAddress) throw full()
    let confirmedAt = previous?.confirmedAt ?? 0
    const needsDialback = previous === undefined || previous.address !== hb.address ||
      previous.expiresAt <= now || now - previous.confirmedAt >= SUPERNODE_RECONFIRM_SECONDS
    if (needsDialback) {
      // At a bounded rate; any failure reads the same.
      if (await dialbacksPerDevice.hit(deviceKey, now) > 0 || await dialbacksPerAddress.hit(addressGroupOf(request.ip), now) > 0) {
        request.log.warn({ user, source: request.ip }, 'supernode not listed: over the dial-back rate for its device or address')
        throw new ApiError('unreachable', DIALBACK_FAILED)
      }
      const result = await dialer(target, fromBase64url(deviceKey) as Uint8Array)
      if (!result.ok) {
        request.log.debug({ user, address: target, reason: result.reason }, 'supernode not listed: dial-back failed')
        throw new ApiError('unreachable', DIALBACK_FAILED)
      }
      confirmedAt = now
      request.log.info({ user, address: hb.address, rttMs: Math.round(result.rttMs) }, 'supernode listed after dial-back')
    }
    // Only a device key new to the list counts, once its dial-back worked: a supernode that restarts
    // keeps its admission, and one whose address does not answer uses up nothing.
    if (previous === undefined || previous.expiresAt <= now) await ctx.limit('supernodeAdmissionsPerAddress', group)
    const admitted = await store.putSupernodeIfRoom({
      deviceKey,
      username: user,
      address: hb.address,
      hosts: hb.load.hosts,
      capacity: hb.load.capacity,
      lastHeartbeat: now,
      confirmedAt,
      expiresAt: now + SUPERNODE_TTL_SECONDS,
      lastTimestamp: hb.timestamp
    }, now, ctx.maxSupernodesPerAddress, groupOfAddress)
    if (!admitted) throw full()
    await store.deleteExpiredSupernodes(now)
    const credential = signSupernodeCredential(sodium, {
      user, deviceKey, address: hb.address, dhtId: assignDhtId(ctx.dhtIdSecret, deviceKey, now), issued: now, expires: now + SUPERNODE_CREDENTIAL_TTL_SECONDS
    }, signingKey.secretKey)
    return { listed: true, heartbeatSeconds: SUPERNODE_HEARTBEAT_SECONDS, ttlSeconds: SUPERNODE_TTL_SECONDS, credential }
  })

  app.get('/v1/supernodes', async request => {
    await ctx.authenticate(request)
    return { supernodes: await sampleSupernodes(ctx) }
  })
}

/** The address group of a listed HOST:PORT (per-address caps). */
function groupOfAddress (address: string): string {
  return addressGroupOf(parseHostPort(address)?.host ?? address)
}

/** A random sample of live supernodes, as handed to nodes for their host cache. */
export async function sampleSupernodes (ctx: RouteContext): Promise<SupernodeInfo[]> {
  const entries = await ctx.components.store.sampleLiveSupernodes(ctx.nowSeconds(), SUPERNODE_SAMPLE_SIZE)
  return entries.map(entry => ({
    user: entry.username, deviceKey: entry.deviceKey, address: entry.address, load: { hosts: entry.hosts, capacity: entry.capacity }
  }))
}
