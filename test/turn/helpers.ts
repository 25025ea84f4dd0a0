// A scripted TURN client for the sans-IO server: builds requests the way a standard client
// does (long-term credentials, NONCE from the 401 challenge, FINGERPRINT), and decodes what the
// server answers.
import { createHash } from 'node:crypto'
import { expect } from 'vitest'
import { seededRandomBytes } from '../helpers/random.js'
import { FakeClock } from '../../node/net/fake-clock.js'
import { METHOD } from '../../node/relay/constants.js'
import { issueTurnCredentials, type TurnCredentials } from '../../node/relay/credentials.js'
import type { TransportAddress } from '../../node/relay/ip.js'
import { findAttribute, type StunAttribute } from '../../node/relay/stun/attributes.js'
import { longTermKey, verifyIntegrity } from '../../node/relay/stun/integrity.js'
import { decodeStunMessage, encodeStunMessage, type StunMessage } from '../../node/relay/stun/message.js'
import { createTurnServer, type TurnAction, type TurnServer, type TurnServerInit } from '../../node/relay/server/turn-server.js'

export const REALM = 'sn1.voxmesh.test'
export const SECRET = 'supernode-secret'
export const RELAY_IP = '198.18.0.1'

export interface Harness {
  clock: FakeClock
  server: TurnServer
  /** Actions the server emitted from timers. */
  timerActions: TurnAction[]
  /** Relay ports handed out by the fake edge, by allocation id. */
  relays: Map<string, TransportAddress>
  /** Carries out open-relay actions as the edge would (next free port; even when asked). */
  openRelays: (actions: TurnAction[]) => TurnAction[]
}

export function createHarness (init: Partial<TurnServerInit> = {}, seed = 'turn'): Harness {
  const clock = new FakeClock()
  const timerActions: TurnAction[] = []
  const server = createTurnServer({
    clock,
    random: seededRandomBytes(seed),
    onActions: actions => { timerActions.push(...actions) }
  // benchmark-range peers (198.18.0.0/15, the in-memory network's addresses): the lab flag.
  }, { realm: REALM, secret: SECRET, relayAddress: RELAY_IP, allowPrivatePeers: true, ...init })
  const relays = new Map<string, TransportAddress>()
  let nextPort = 50000
  const openRelays = (actions: TurnAction[]): TurnAction[] => actions.flatMap(action => {
    if (action.type !== 'open-relay') return [action]
    if (action.evenPort && nextPort % 2 === 1) nextPort++
    const relay = { address: action.address, port: nextPort++ }
    relays.set(action.allocationId, relay)
    let reserved: { allocationId: string, relay: TransportAddress } | undefined
    if (action.reserveNextAs !== undefined) {
      reserved = { allocationId: action.reserveNextAs, relay: { address: action.address, port: nextPort++ } }
      relays.set(action.reserveNextAs, reserved.relay)
    }
    return server.relayOpened(action.allocationId, relay, reserved)
  })
  return { clock, server, timerActions, relays, openRelays }
}

/** The one STUN message the server sent to the client in `actions`, decoded. */
export function responseIn (actions: TurnAction[]): StunMessage {
  const sends = actions.filter(action => action.type === 'send-to-client')
  expect(sends, `expected one response, got ${JSON.stringify(actions.map(a => a.type))}`).toHaveLength(1)
  const decoded = decodeStunMessage((sends[0] as TurnAction & { type: 'send-to-client' }).bytes)
  if (!decoded.ok) throw new Error(`server sent an undecodable message: ${decoded.reason}`)
  return decoded.message
}

export function errorOf (message: StunMessage): { code: number, reason: string } | undefined {
  return findAttribute(message, 'ERROR-CODE')?.value
}

let txCounter = 0
export function newTransactionId (): Uint8Array {
  return createHash('sha256').update(`tx:${txCounter++}`).digest().subarray(0, 12)
}

export class TestClient {
  nonce: string | undefined
  realm = REALM
  credentials: TurnCredentials
  password: string

  constructor (
    readonly harness: Harness,
    readonly from: TransportAddress,
    user = 'alice',
    ttlSeconds = 3600,
    grant?: string
  ) {
    this.credentials = issueTurnCredentials(SECRET, user, ttlSeconds, harness.clock.now(), grant)
    this.password = this.credentials.password
  }

  get key (): Uint8Array {
    return longTermKey(this.credentials.username, this.realm, this.password)
  }

  /** Encodes a request; authenticated (USERNAME, REALM, NONCE, MESSAGE-INTEGRITY) once a nonce is known. */
  encode (method: number, attributes: StunAttribute[], options: { auth?: boolean, transactionId?: Uint8Array, cls?: 'request' | 'indication' } = {}): Uint8Array {
    const auth = (options.auth ?? true) && this.nonce !== undefined && options.cls !== 'indication'
    return encodeStunMessage({
      method,
      class: options.cls ?? 'request',
      transactionId: options.transactionId ?? newTransactionId(),
      attributes: auth
        ? [...attributes, { type: 'USERNAME', value: this.credentials.username }, { type: 'REALM', value: this.realm }, { type: 'NONCE', value: this.nonce as string }]
        : attributes
    }, { integrityKey: auth ? this.key : undefined, fingerprint: true })
  }

  /** Sends raw bytes; returns the actions after carrying out open-relay like the edge would. */
  sendBytes (bytes: Uint8Array): TurnAction[] {
    return this.harness.openRelays(this.harness.server.handleClientPacket(this.from, bytes))
  }

  /** One request/response; a 401/438 challenge is answered once with the new NONCE, as clients do. */
  request (method: number, attributes: StunAttribute[], options: { transactionId?: Uint8Array } = {}): StunMessage {
    let response = responseIn(this.sendBytes(this.encode(method, attributes, options)))
    const code = errorOf(response)?.code
    if ((code === 401 && this.nonce === undefined) || code === 438) {
      this.nonce = findAttribute(response, 'NONCE')?.value
      response = responseIn(this.sendBytes(this.encode(method, attributes)))
    }
    return response
  }

  /** An authenticated response must carry MESSAGE-INTEGRITY made with our key. */
  expectAuthentic (response: StunMessage): StunMessage {
    expect(verifyIntegrity(response, this.key)).toEqual({ ok: true, algorithm: 'sha1' })
    return response
  }

  allocate (extra: StunAttribute[] = []): StunMessage {
    return this.request(METHOD.ALLOCATE, [{ type: 'REQUESTED-TRANSPORT', value: 17 }, ...extra])
  }

  /** Allocates and returns the relayed address (fails the test otherwise). */
  allocated (extra: StunAttribute[] = []): TransportAddress {
    const response = this.allocate(extra)
    expect(errorOf(response)).toBeUndefined()
    this.expectAuthentic(response)
    return (findAttribute(response, 'XOR-RELAYED-ADDRESS') as { value: TransportAddress }).value
  }

  createPermission (...peers: TransportAddress[]): StunMessage {
    return this.request(METHOD.CREATE_PERMISSION, peers.map(peer => ({ type: 'XOR-PEER-ADDRESS', value: peer })))
  }

  channelBind (channel: number, peer: TransportAddress): StunMessage {
    return this.request(METHOD.CHANNEL_BIND, [{ type: 'CHANNEL-NUMBER', value: channel }, { type: 'XOR-PEER-ADDRESS', value: peer }])
  }

  refresh (lifetime?: number): StunMessage {
    return this.request(METHOD.REFRESH, lifetime === undefined ? [] : [{ type: 'LIFETIME', value: lifetime }])
  }

  sendIndication (peer: TransportAddress, data: Uint8Array): TurnAction[] {
    return this.sendBytes(this.encode(METHOD.SEND, [{ type: 'XOR-PEER-ADDRESS', value: peer }, { type: 'DATA', value: data }], { cls: 'indication' }))
  }
}
