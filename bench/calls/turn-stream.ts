// Part 3's simulated voice streams: a TURN client each (Allocate with long-term credentials,
// CreatePermission, ChannelBind) that then sends ChannelData to a peer socket through the relay.
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:dgram'
import {
  decodeStunMessage, encodeStunMessage, findAttribute, issueTurnCredentials, longTermKey, METHOD, packetKind,
  type StunAttribute, type StunMessage, type TransportAddress, type TurnSecret
} from '../../node/index.js'
import { bindUdp, closeSocket, TURN_REALM } from './util.js'

export const STREAM_PAYLOAD_BYTES = 100
export const STREAM_PPS = 50
export const CHANNEL = 0x4000

export interface Stream {
  index: number
  socket: Socket
  relay: TransportAddress
  peer: TransportAddress
  start: number
  sent: number
  seq: number
}

/** A TURN client: Allocate (answering the 401 challenge), CreatePermission and ChannelBind for its peer. */
export async function openStream (index: number, server: TransportAddress, secret: TurnSecret, peer: TransportAddress): Promise<Stream> {
  const socket = await bindUdp('127.0.0.1')
  const pending = new Map<string, (message: StunMessage) => void>()
  socket.on('message', bytes => {
    if (packetKind(bytes) !== 'stun') return
    const decoded = decodeStunMessage(bytes)
    if (!decoded.ok) return
    pending.get(Buffer.from(decoded.message.transactionId).toString('hex'))?.(decoded.message)
  })
  const credentials = issueTurnCredentials(secret, `stream-${index}`, 3600, Date.now())
  const key = longTermKey(credentials.username, TURN_REALM, credentials.password)
  let nonce: string | undefined
  const request = async (method: number, attributes: StunAttribute[]): Promise<StunMessage> => {
    for (let challenges = 0; challenges < 3; challenges++) {
      const transactionId = randomBytes(12)
      const id = transactionId.toString('hex')
      const auth: StunAttribute[] = nonce === undefined
        ? []
        : [{ type: 'USERNAME', value: credentials.username }, { type: 'REALM', value: TURN_REALM }, { type: 'NONCE', value: nonce }]
      const bytes = encodeStunMessage({ method, class: 'request', transactionId, attributes: [...attributes, ...auth] },
        { integrityKey: nonce === undefined ? undefined : key, fingerprint: true })
      // Retransmissions (RFC 8489 §6.2.1, shortened for loopback): after 250, 500, 1000, 2000 ms.
      const response = await new Promise<StunMessage | undefined>(resolve => {
        let timer: NodeJS.Timeout | undefined
        let wait = 250
        const attempt = (left: number): void => {
          if (left === 0) { pending.delete(id); resolve(undefined); return }
          socket.send(bytes, server.port, server.address)
          timer = setTimeout(() => { attempt(left - 1) }, wait)
          wait *= 2
        }
        pending.set(id, message => { clearTimeout(timer); pending.delete(id); resolve(message) })
        attempt(4)
      })
      if (response === undefined) throw new Error(`stream ${index}: no answer to method ${method}`)
      const error = findAttribute(response, 'ERROR-CODE')?.value
      if (error === undefined) return response
      const fresh = findAttribute(response, 'NONCE')?.value
      if ((error.code === 401 || error.code === 438) && fresh !== undefined) { nonce = fresh; continue }
      throw new Error(`stream ${index}: method ${method} failed: ${error.code} ${error.reason}`)
    }
    throw new Error(`stream ${index}: too many challenges`)
  }
  try {
    const allocated = await request(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }])
    const relay = findAttribute(allocated, 'XOR-RELAYED-ADDRESS')?.value
    if (relay === undefined) throw new Error(`stream ${index}: no XOR-RELAYED-ADDRESS`)
    await request(METHOD.CREATE_PERMISSION, [{ type: 'XOR-PEER-ADDRESS', value: peer }])
    await request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: CHANNEL }, { type: 'XOR-PEER-ADDRESS', value: peer }])
    return { index, socket, relay, peer, start: 0, sent: 0, seq: 0 }
  } catch (err) {
    await closeSocket(socket)
    throw err
  }
}
