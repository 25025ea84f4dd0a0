// Does UDP reach a STUN/TURN server? A STUN Binding request (RFC 8489 §6), resent a few times
// with a short wait, and true at the first success response with the same transaction id.
// A host whose network drops UDP (a TCP-only LAN) gets false and reaches its relay over TCP.
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { METHOD, TRANSACTION_ID_BYTES } from '../constants.js'
import { ipFamily, type TransportAddress } from '../ip.js'
import { decodeStunMessage, encodeStunMessage } from '../stun/message.js'

export interface UdpProbeOptions {
  /** Requests sent (default 3). */
  attempts?: number
  /** Wait after each (default 400 ms): a lost datagram or a dropping network costs attempts × this. */
  waitMs?: number
  /** The local address to send from (default: the system's choice). */
  bindAddress?: string
}

export type UdpProbeResult = { ok: true, rttMs: number } | { ok: false, reason: string }

export async function probeUdp (server: TransportAddress, options: UdpProbeOptions = {}): Promise<UdpProbeResult> {
  const family = ipFamily(server.address)
  if (family === undefined) return { ok: false, reason: `${server.address} is not an IP address` }
  const attempts = options.attempts ?? 3
  const waitMs = options.waitMs ?? 400
  const transactionId = new Uint8Array(randomBytes(TRANSACTION_ID_BYTES))
  const request = encodeStunMessage({ method: METHOD.BINDING, class: 'request', transactionId, attributes: [] }, { fingerprint: true })
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4' })
  if (options.bindAddress !== undefined) {
    const bound = await new Promise<string | undefined>(resolve => {
      const failed = (error: Error): void => { resolve(error.message) }
      socket.once('error', failed)
      socket.bind({ address: options.bindAddress, port: 0 }, () => { socket.off('error', failed); resolve(undefined) })
    })
    if (bound !== undefined) { socket.close(); return { ok: false, reason: `cannot send from ${options.bindAddress}: ${bound}` } }
  }
  const started = Date.now()
  try {
    return await new Promise<UdpProbeResult>(resolve => {
      let sent = 0
      let timer: NodeJS.Timeout | undefined
      const finish = (result: UdpProbeResult): void => { clearTimeout(timer); resolve(result) }
      socket.on('error', error => { finish({ ok: false, reason: `UDP to ${server.address}:${server.port} failed: ${error.message}` }) })
      socket.on('message', bytes => {
        const decoded = decodeStunMessage(bytes)
        if (decoded.ok && decoded.message.class === 'success' && Buffer.from(decoded.message.transactionId).equals(transactionId)) {
          finish({ ok: true, rttMs: Date.now() - started })
        }
      })
      const send = (): void => {
        if (sent === attempts) {
          finish({ ok: false, reason: `no STUN answer over UDP from ${server.address}:${server.port} after ${attempts} tries in ${attempts * waitMs} ms` })
          return
        }
        sent++
        socket.send(request, server.port, server.address)
        timer = setTimeout(send, waitMs)
      }
      send()
    })
  } finally {
    socket.close()
  }
}
