// Stateless NONCEs for the long-term credential mechanism (RFC 8489 §9.2): the nonce carries
// its issue time and a MAC over that time and the client's transport address, so the server
// remembers nothing per client and a flood of unauthenticated requests costs it no memory.
// A nonce from another client address, from before a restart (new key), or older than the
// lifetime is stale: the request gets 438 and a fresh nonce.
import { createHmac, timingSafeEqual } from 'node:crypto'

/** Characters of the MAC part (base64url of HMAC-SHA256, 96 bits). */
const MAC_CHARS = 16

export type NonceCheck = { ok: true } | { ok: false, reason: string }

export class NonceBook {
  constructor (private readonly key: Uint8Array, private readonly lifetimeMs: number) {}

  /** A nonce for the client at `clientKey` ("ip:port"), issued at `now` (ms). */
  issue (clientKey: string, now: number): string {
    const issued = Math.floor(now / 1000).toString(16)
    return `${issued}.${this.mac(issued, clientKey)}`
  }

  check (nonce: string, clientKey: string, now: number): NonceCheck {
    const match = /^([0-9a-f]{1,12})\.([A-Za-z0-9_-]+)$/.exec(nonce)
    if (match === null) return { ok: false, reason: 'nonce not issued by this server' }
    const issued = match[1] as string
    const given = Buffer.from(match[2] as string)
    const expected = Buffer.from(this.mac(issued, clientKey))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'nonce not issued to this client by this server' }
    }
    const age = now - parseInt(issued, 16) * 1000
    if (age >= this.lifetimeMs) return { ok: false, reason: `nonce expired (${Math.floor(age / 1000)} s old)` }
    return { ok: true }
  }

  private mac (issued: string, clientKey: string): string {
    return createHmac('sha256', this.key).update(`${issued}|${clientKey}`).digest('base64url').slice(0, MAC_CHARS)
  }
}
