// A minimal real-UDP TURN client for tests, plus socket bookkeeping so afterEach can close
// everything a test opened, also when it failed.
import { createSocket, type Socket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import { METHOD } from '../../node/relay/constants.js'
import type { TurnCredentials } from '../../node/relay/credentials.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute, type StunAttribute } from '../../node/relay/stun/attributes.js'
import { longTermKey } from '../../node/relay/stun/integrity.js'
import { decodeStunMessage, encodeStunMessage, type StunMessage } from '../../node/relay/stun/message.js'
import { newTransactionId } from './helpers.js'

const openSockets = new Set<Socket>()

export async function udpSocket (address = '127.0.0.1', port = 0): Promise<Socket> {
  const socket = createSocket(isIPv6(address) ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' })
  openSockets.add(socket)
  socket.on('close', () => { openSockets.delete(socket) })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, address, () => { socket.off('error', reject); resolve() })
  })
  return socket
}

export async function closeAllSockets (): Promise<void> {
  await Promise.all([...openSockets].map(socket => new Promise<void>(resolve => {
    try { socket.close(() => { resolve() }) } catch { resolve() }
  })))
  openSockets.clear()
}

/** Datagrams arriving at a socket, awaited one at a time. */
export class Inbox {
  private readonly queue: Array<{ bytes: Buffer, from: TransportAddress }> = []
  private readonly waiters: Array<() => void> = []

  constructor (readonly socket: Socket) {
    socket.on('message', (bytes, rinfo) => {
      this.queue.push({ bytes, from: { address: rinfo.address, port: rinfo.port } })
      this.waiters.splice(0).forEach(wake => { wake() })
    })
  }

  get address (): TransportAddress {
    const { address, port } = this.socket.address()
    return { address, port }
  }

  async next (timeoutMs = 2000, match: (bytes: Buffer) => boolean = () => true): Promise<{ bytes: Buffer, from: TransportAddress }> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.queue.findIndex(item => match(item.bytes))
      if (index >= 0) return this.queue.splice(index, 1)[0] as { bytes: Buffer, from: TransportAddress }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no datagram within ${timeoutMs} ms`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Whether nothing (matching) arrives for `ms`. */
  async quiet (ms: number): Promise<boolean> {
    try { await this.next(ms); return false } catch { return true }
  }
}

export class UdpTurnClient {
  nonce: string | undefined
  readonly inbox: Inbox

  private constructor (readonly socket: Socket, readonly server: TransportAddress, readonly credentials: TurnCredentials, readonly realm: string) {
    this.inbox = new Inbox(socket)
  }

  /** A client socket on `bindAddress` (a loopback address: several stand for several machines). */
  static async open (server: TransportAddress, credentials: TurnCredentials, realm: string, bindAddress = '127.0.0.1'): Promise<UdpTurnClient> {
    return new UdpTurnClient(await udpSocket(bindAddress), server, credentials, realm)
  }

  get key (): Uint8Array {
    return longTermKey(this.credentials.username, this.realm, this.credentials.password)
  }

  send (bytes: Uint8Array): void {
    this.socket.send(bytes, this.server.port, this.server.address)
  }

  encode (method: number, attributes: StunAttribute[], cls: 'request' | 'indication' = 'request', transactionId = newTransactionId()): Uint8Array {
    const auth = this.nonce !== undefined && cls === 'request'
    return encodeStunMessage({
      method,
      class: cls,
      transactionId,
      attributes: auth
        ? [...attributes, { type: 'USERNAME', value: this.credentials.username }, { type: 'REALM', value: this.realm }, { type: 'NONCE', value: this.nonce as string }]
        : attributes
    }, { integrityKey: auth ? this.key : undefined, fingerprint: true })
  }

  /** One transaction; a 401/438 challenge is answered once with the new NONCE. */
  async request (method: number, attributes: StunAttribute[]): Promise<StunMessage> {
    let response = await this.transaction(this.encode(method, attributes))
    const code = findAttribute(response, 'ERROR-CODE')?.value.code
    if ((code === 401 && this.nonce === undefined) || code === 438) {
      this.nonce = findAttribute(response, 'NONCE')?.value
      response = await this.transaction(this.encode(method, attributes))
    }
    return response
  }

  async transaction (bytes: Uint8Array): Promise<StunMessage> {
    const transactionId = Buffer.from(bytes.subarray(8, 20))
    this.send(bytes)
    const { bytes: answer } = await this.inbox.next(2000, candidate => candidate.length >= 20 && candidate.subarray(8, 20).equals(transactionId))
    const decoded = decodeStunMessage(answer)
    if (!decoded.ok) throw new Error(`undecodable response: ${decoded.reason}`)
    return decoded.message
  }

  async allocate (extra: StunAttribute[] = []): Promise<StunMessage> {
    return await this.request(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }, ...extra])
  }
}
