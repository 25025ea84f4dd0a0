// Dial-back: proof that an advertised address really reaches the node that
// advertises it. The checker opens a WebSocket to ws://ADDRESS/voxmesh/dialback,
// sends a random nonce, and expects the node's device key to sign
// canonical({purpose, nonce, address}). A local interface address alone proves
// nothing; only an answer from outside does.
//
// A checker is not a scanner for hire: it dials only the address the request
// came from (dialbackTarget), and every failure, whatever happened, is told to
// the requester as DIALBACK_FAILED, after the full timeout (see createDialer);
// the detailed reason is for the checker's own debug log.
import { randomBytes } from 'node:crypto'
import { WebSocket, WebSocketServer } from 'ws'
import type { IncomingMessage } from 'node:http'
import { canonicalEncode } from './canonical.js'
import { fromBase64url, toBase64url } from './base64url.js'
import { formatHostPort, normalizeIp, parseHostPort } from './address.js'
import type { Sodium } from './sodium.js'

export const DIALBACK_PATH = '/voxmesh/dialback'
/** How long a checker waits for the answer (every failure takes this long). */
export const DIALBACK_TIMEOUT_MS = 3000
const PURPOSE = 'voxmesh/dialback/v1'
const MAX_DIALBACK_MESSAGE_BYTES = 1024

/** The one answer a requester gets for any failed dial-back: refused, timed out, another service, a bad proof, a foreign address, over the rate. */
export const DIALBACK_FAILED = 'dial-back failed'

/** `reason` says what went wrong, for the checker's log only: requesters get DIALBACK_FAILED. */
export type DialbackResult = { ok: true, rttMs: number } | { ok: false, reason: string }

export type Dialer = (address: string, expectedDeviceKey: Uint8Array) => Promise<DialbackResult>

function proofBytes (nonce: string, address: string): Uint8Array {
  return canonicalEncode({ purpose: PURPOSE, nonce, address })
}

/**
 * What a checker may dial for a request from `sourceIp` advertising `advertised`:
 * the advertised address itself when its host is that same IP (the port is the
 * advertised one, and may differ from the request's), else undefined — refuse.
 * A host name is refused too: it could name anyone.
 */
export function dialbackTarget (advertised: string, sourceIp: string): string | undefined {
  const target = parseHostPort(advertised)
  if (target === undefined) return undefined
  const host = normalizeIp(target.host)
  return host !== undefined && host === normalizeIp(sourceIp) ? advertised : undefined
}

/**
 * The checking side (login server, or a supernode testing a candidate). A
 * failure resolves only once `timeoutMs` has passed since the dial started, so
 * a refused port, another service and a silent address take the same time.
 */
export function createDialer (sodium: Sodium, timeoutMs: number): Dialer {
  return async (address, expectedDeviceKey) => await new Promise<DialbackResult>(resolve => {
    const started = performance.now()
    const nonce = randomBytes(32).toString('base64url')
    let settled = false
    const socket = new WebSocket(`ws://${address}${DIALBACK_PATH}`, {
      maxPayload: MAX_DIALBACK_MESSAGE_BYTES,
      handshakeTimeout: timeoutMs,
      followRedirects: false
    })
    const finish = (result: DialbackResult): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.terminate()
      if (result.ok) resolve(result)
      else setTimeout(() => { resolve(result) }, Math.max(0, timeoutMs - (performance.now() - started)))
    }
    const timer = setTimeout(() => { finish({ ok: false, reason: `no answer from ${address} within ${timeoutMs} ms` }) }, timeoutMs)
    socket.on('open', () => { socket.send(JSON.stringify({ nonce })) })
    socket.on('error', err => { finish({ ok: false, reason: `cannot reach ${address}: ${err.message}` }) })
    socket.on('close', () => { finish({ ok: false, reason: `${address} closed the dial-back without a proof` }) })
    socket.on('message', data => {
      let signature: Uint8Array | undefined
      try {
        const msg = JSON.parse(String(data)) as { signature?: unknown }
        signature = typeof msg.signature === 'string' ? fromBase64url(msg.signature) : undefined
      } catch {}
      const valid = signature?.length === sodium.crypto_sign_BYTES &&
        sodium.crypto_sign_verify_detached(signature, proofBytes(nonce, address), expectedDeviceKey)
      finish(valid
        ? { ok: true, rttMs: performance.now() - started }
        : { ok: false, reason: `${address} answered, but not with a valid proof from the registering device key` })
    })
  })
}

/**
 * The answering side: attach to a WebSocketServer (noServer) in front of which
 * the node routes DIALBACK_PATH upgrades. `advertisedAddress` is what the proof
 * is bound to, so a proof cannot be replayed for another address.
 */
export function answerDialback (sodium: Sodium, socket: WebSocket, secretKey: Uint8Array, advertisedAddress: string): void {
  socket.once('message', data => {
    try {
      const { nonce } = JSON.parse(String(data)) as { nonce?: unknown }
      if (typeof nonce !== 'string' || nonce.length > 128) throw new Error('bad nonce')
      socket.send(JSON.stringify({ signature: toBase64url(sodium.crypto_sign_detached(proofBytes(nonce, advertisedAddress), secretKey)) }))
    } catch {
      socket.close(1008, 'malformed dial-back')
    }
  })
}

/** A stand-alone dial-back responder on its own port (tests, and nodes before their link server exists). */
export function listenForDialback (sodium: Sodium, options: { host: string, port: number, secretKey: Uint8Array, advertisedAddress?: string }): Promise<{ address: string, checks: () => number, close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = new WebSocketServer({ host: options.host, port: options.port, path: DIALBACK_PATH, maxPayload: MAX_DIALBACK_MESSAGE_BYTES })
    server.once('error', reject)
    server.on('listening', () => {
      const { port } = server.address() as { port: number }
      const address = options.advertisedAddress ?? formatHostPort({ host: options.host, port })
      let checks = 0
      server.on('connection', (socket: WebSocket, _req: IncomingMessage) => {
        checks++
        answerDialback(sodium, socket, options.secretKey, address)
      })
      resolve({
        address,
        checks: () => checks,
        close: () => new Promise(done => {
          for (const client of server.clients) client.terminate()
          server.close(() => { done() })
        })
      })
    })
  })
}
