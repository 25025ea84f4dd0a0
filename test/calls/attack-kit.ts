// What the bad-input call tests share: the no-unhandled-rejections guard, an SDP the guard
// accepts and two ways to spoil it, the check that a refusal was logged, and contacts made
// through the login server's API. Used by tampered-signaling, replayed-signaling,
// malformed-sdp and relay-abuse (test/calls/).
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { randomBytes } from 'node:crypto'
import { toBase64url } from '../../common/base64url.js'
import { LoginClient } from '../../common/login-client.js'
import { loadSodium } from '../../common/sodium.js'
import type { LogEntry } from '../overlay/bad-input-harness.js'

/**
 * A rejection nobody handles would take a real node down: none may happen in a file that calls
 * this (at its top level; it registers the file's hooks).
 */
export function expectNoUnhandledRejections (): void {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  beforeAll(() => { process.on('unhandledRejection', onUnhandled) })
  afterEach(() => { expect(unhandled, 'unhandled rejections').toEqual([]) })
  afterAll(() => { process.off('unhandledRejection', onUnhandled) })
}

export const newCallId = (): string => randomBytes(12).toString('base64url')

/**
 * An SDP the guard accepts, as node-datachannel writes one (no candidates), tagged with `tag`
 * in its s= line so a fake media port can tell which call it belongs to.
 */
export function sdpOf (type: 'offer' | 'answer', tag: string): string {
  return [
    'v=0',
    'o=rtc 3864157758 0 IN IP4 127.0.0.1',
    `s=${tag}`,
    't=0 0',
    'a=group:BUNDLE audio',
    'a=msid-semantic:WMS *',
    'a=fingerprint:sha-256 CD:23:5B:5A:77:DF:22:FA:FE:1E:82:A3:18:1D:BE:D6:6D:4B:FB:EB:16:9E:A0:C2:DD:B6:6D:90:0C:A7:56:55',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=mid:audio',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`,
    'a=ice-ufrag:/EXV',
    'a=ice-pwd:cp0u4aqV2s+i+PERuk1SNV',
    ''
  ].join('\r\n')
}

/** `sdp` with a second m-line after everything else. */
export const withSecondMLine = (sdp: string): string => `${sdp.endsWith('\n') ? sdp : `${sdp}\r\n`}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:second\r\n`
/** `sdp` without its a=fingerprint line. */
export const withoutFingerprint = (sdp: string): string => {
  const out = sdp.split('\r\n').filter(line => !line.startsWith('a=fingerprint:')).join('\r\n')
  if (out === sdp) throw new Error('the SDP had no fingerprint to remove')
  return out
}

/** At least one log line at `level` whose message matches `msg`. */
export function expectLogged (logs: LogEntry[], level: LogEntry['level'], msg: RegExp, fields: Record<string, unknown> = {}): void {
  expect(logs, `a ${level} line matching ${String(msg)}`).toContainEqual(expect.objectContaining({ level, msg: expect.stringMatching(msg), fields: expect.objectContaining(fields) }))
}

/** Makes each pair contacts through the login server's API (a request and its acceptance). */
export async function makeContacts (url: string, password: string, pairs: Array<[string, string]>): Promise<void> {
  const sodium = await loadSodium()
  const clients = new Map<string, LoginClient>()
  const clientOf = async (user: string): Promise<LoginClient> => {
    let client = clients.get(user)
    if (client === undefined) {
      client = new LoginClient(url)
      await client.createSession(user, password, toBase64url(sodium.crypto_sign_keypair().publicKey))
      clients.set(user, client)
    }
    return client
  }
  for (const [from, to] of pairs) {
    await (await clientOf(from)).sendContactRequest(to)
    const addressee = await clientOf(to)
    const request = (await addressee.contactRequests()).incoming.find(r => r.from === from)
    if (request === undefined) throw new Error(`no request from ${from} to ${to}`)
    await addressee.acceptRequest(request.id)
  }
}
