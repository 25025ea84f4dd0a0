// A host asks its supernode to dial it back before promoting itself. The
// supernode dials only the address the request came from (the link's source
// IP, at the advertised port), at a bounded rate per device key and per source
// address, and answers every failure with the same DIALBACK_FAILED after the
// dialer's full timeout: no port scans, and no telling services apart.
import { fromBase64url } from '../../../common/base64url.js'
import { addressGroupOf, parseHostPort } from '../../../common/address.js'
import { DIALBACK_FAILED, dialbackTarget } from '../../../common/dialback.js'
import type { Clock } from '../../../common/clock.js'
import { DIALBACKS_PER_ADDRESS, DIALBACKS_PER_DEVICE, MAX_DIALBACK_REQUESTERS } from '../constants.js'
import type { Link } from '../link.js'
import type { MessageOf } from '../messages.js'
import type { SupernodeComponents } from './context.js'

export interface TokenBucketRate { burst: number, refillMs: number }

/** Token buckets by key, fed the clock; at most MAX_DIALBACK_REQUESTERS keys (the least recently used forgotten). */
export interface DialbackLimiter {
  /** Takes a token from every bucket when each has one; false (nothing taken) when any is empty. */
  take: (buckets: Array<{ key: string, rate: TokenBucketRate }>) => boolean
}

export function createDialbackLimiter (clock: Clock): DialbackLimiter {
  // Map order is recency order: re-inserted on use.
  const buckets = new Map<string, { tokens: number, at: number }>()
  const level = (key: string, rate: TokenBucketRate, now: number): { tokens: number, at: number } => {
    const bucket = buckets.get(key) ?? { tokens: rate.burst, at: now }
    bucket.tokens = Math.min(rate.burst, bucket.tokens + (now - bucket.at) / rate.refillMs)
    bucket.at = now
    buckets.delete(key)
    buckets.set(key, bucket)
    return bucket
  }
  return {
    take (wanted) {
      const now = clock.now()
      const levels = wanted.map(({ key, rate }) => level(key, rate, now))
      while (buckets.size > MAX_DIALBACK_REQUESTERS) buckets.delete(buckets.keys().next().value as string)
      if (levels.some(bucket => bucket.tokens < 1)) return false
      for (const bucket of levels) bucket.tokens -= 1
      return true
    }
  }
}

export function handleDialbackRequest (
  components: SupernodeComponents,
  limiter: DialbackLimiter,
  link: Link,
  message: MessageOf<'dialback-request'>
): void {
  const { log, dialer } = components
  const { user, deviceKey } = link.peer
  const sourceIp = parseHostPort(link.remoteAddress)?.host ?? ''
  const fail = (): void => { link.send({ t: 'dialback-result', id: message.id, ok: false, reason: DIALBACK_FAILED }) }

  const target = dialbackTarget(message.address, sourceIp)
  if (target === undefined) {
    log.warn({ user, asked: message.address, source: sourceIp }, 'dial-back refused: not the address the request came from')
    fail()
    return
  }
  if (!limiter.take([
    { key: `device ${deviceKey}`, rate: DIALBACKS_PER_DEVICE },
    { key: `address ${addressGroupOf(sourceIp)}`, rate: DIALBACKS_PER_ADDRESS }
  ])) {
    log.warn({ user, source: sourceIp }, 'dial-back refused: over the rate for this device or address')
    fail()
    return
  }
  // The proof must come from this host's own device key: it can only vouch for its own address.
  void dialer(target, fromBase64url(deviceKey) as Uint8Array).then(result => {
    if (result.ok) {
      link.send({ t: 'dialback-result', id: message.id, ok: true, reason: `answered in ${Math.round(result.rttMs)} ms` })
      return
    }
    log.debug({ user, address: target, reason: result.reason }, 'dial-back failed')
    fail()
  })
}
