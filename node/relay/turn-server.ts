// A STUN server and TURN relay (RFC 8489, RFC 8656; UDP only) as a sans-IO state machine.
//
// The edge (udp-turn-server.ts) feeds it datagrams and carries out the actions it returns:
//   handleClientPacket(from, bytes)              a datagram on the listening socket
//   handleRelayPacket(allocationId, from, bytes) a datagram on an allocation's relay socket
//   relayOpened / relayFailed                    the outcome of an `open-relay` action
// Actions the server takes on its own (an allocation, reservation or pending open timing out)
// go to components.onActions. Time comes from the Clock, so tests drive expiry with FakeClock.
//
// Authentication (turn-auth.ts) is the long-term credential mechanism with credentials the
// supernode issues (credentials.ts); NONCEs are stateless (nonces.ts). Counters: turn-stats.ts.
// Policy choices beyond the RFCs:
//   - Expired credentials cannot create an allocation (401), but the allocation they created
//     may still be refreshed, and get permissions and channels, with the same username: the
//     credential's lifetime bounds when a call can start, never how long it may last. The
//     allocation's own lifetime (refreshed by the client) and quotas bound the rest.
//   - Revocation (requireGrant): credentials name a grant (credentials.ts); only open grants
//     are honoured, and revokeGrant ends every allocation made under the grant at once. A
//     supernode opens one grant per registered host and revokes it when the host leaves.
//   - Peers (peer-ranges.ts): loopback, private, link-local, CGNAT, multicast, reserved,
//     benchmark and documentation ranges, in every IPv6 spelling that carries them, are
//     refused (403; a Send indication to one is dropped), unless allowPrivatePeers (the lab flag).
//     So is the relay's own address at any port that is not the relayed port of an allocation
//     (two callers on one relay reach each other there; any other port is a service of the
//     supernode's own machine, its TURN listener included), also unless allowPrivatePeers.
//   - Quotas: allocations per user and per client address (486) and in total (508), permissions
//     and channels per allocation (508), a relay rate per allocation and direction (excess
//     dropped, counted), and no cap on total bytes or call duration. A full relay refuses new
//     allocations and keeps relaying for the ones it has.
//   - Channel numbers 0x4000–0x7FFF are accepted (RFC 8656 assigns 0x4000–0x4FFF, RFC 5766
//     allowed up to 0x7FFF and standard clients still use it); see CHANNEL_MAX_ACCEPTED.
//   - Allocate with DONT-FRAGMENT gets 420 (a Node UDP socket cannot set the DF bit).
//
// Every packet that is not served is counted in stats().dropped under a DropReason and logged
// (debug) with the precise reason; bad requests are answered with an error response whose
// reason phrase says what was wrong.
import { addressGroupOf } from '../../common/address.js'
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import type { Clock, TimerHandle } from '../../common/clock.js'
import { silentLogger, type Logger } from '../../common/logger.js'
import { Allocation } from './allocation.js'
import { configFrom, type TurnConfig, type TurnServerInit } from './config.js'
import {
  CHANNEL_MAX_ACCEPTED, CHANNEL_MIN, ERROR, ERROR_PHRASES, MAX_PEERS_PER_CREATE_PERMISSION, MAX_TEXT_CHARS,
  METHOD, METHOD_NAMES, RELAY_OPEN_TIMEOUT_MS, RESERVATION_LIFETIME_MS, RESERVATION_TOKEN_BYTES, TRANSPORT_UDP, ATTR
} from './constants.js'
import { addressKey, canonicalIp, ipFamily, type IpFamily, type TransportAddress } from './ip.js'
import { parseTurnUsername } from './credentials.js'
import { deniedPeerReason } from './peer-ranges.js'
import { Authenticator, type Auth } from './turn-auth.js'
import { countPacket, DROP_REASONS, RECENT_DROPS, TurnCounters, type AllocationStats, type DropReason, type TurnServerStats } from './turn-stats.js'
import {
  decodeChannelData, decodeStunMessage, encodeChannelData, encodeStunMessage, findAttribute, findAttributes,
  packetKind, type StunAttribute, type StunHeader, type StunMessage
} from './stun-codec.js'

export type { TurnServerInit, TurnQuotas } from './config.js'
export type { TransportAddress } from './ip.js'
export { DROP_REASONS, RECENT_DROPS, type AllocationStats, type DropReason, type TurnServerStats }

export type TurnAction =
  /** Send `bytes` from the listening socket to a client. */
  | { type: 'send-to-client', to: TransportAddress, bytes: Uint8Array }
  /**
   * Open a UDP socket on `address` for the allocation and call relayOpened (or relayFailed).
   * `evenPort`: its port must be even. `reserveNextAs`: also hold port+1, as a socket with
   * that id, for a later Allocate with the RESERVATION-TOKEN (EVEN-PORT with the R bit).
   */
  | { type: 'open-relay', allocationId: string, address: string, family: IpFamily, evenPort: boolean, reserveNextAs?: string }
  /** Send `bytes` from the allocation's relay socket to a peer. */
  | { type: 'send-to-peer', allocationId: string, to: TransportAddress, bytes: Uint8Array }
  /** Close the allocation's relay socket (idempotent; also sent for sockets that never opened). */
  | { type: 'close-relay', allocationId: string, reason: string }

export interface TurnServerComponents {
  clock: Clock
  /** Randomness for ids, reservation tokens and the nonce key (default node:crypto). */
  random?: (n: number) => Uint8Array
  log?: Logger
  /** Actions from timers (expiries). Actions caused by a packet are returned by the handle* call instead. */
  onActions?: (actions: TurnAction[]) => void
  /**
   * A reason to refuse relaying to a peer IP (403), or undefined to allow. Default:
   * deniedPeerReason (peer-ranges.ts), with the lab flag of TurnServerInit.allowPrivatePeers.
   */
  peerPolicy?: (ip: string) => string | undefined
}

export interface TurnServer {
  readonly realm: string
  readonly relayAddress: string
  handleClientPacket: (from: TransportAddress, bytes: Uint8Array) => TurnAction[]
  handleRelayPacket: (allocationId: string, from: TransportAddress, bytes: Uint8Array) => TurnAction[]
  /**
   * The relay socket of an `open-relay` is bound at `relay`; `reserved` is the port+1 socket
   * when the action asked for one (`reserveNextAs`).
   */
  relayOpened: (allocationId: string, relay: TransportAddress, reserved?: { allocationId: string, relay: TransportAddress }) => TurnAction[]
  /** The relay socket of an `open-relay` could not be opened: the client gets 508. */
  relayFailed: (allocationId: string, reason: string) => TurnAction[]
  /** Credentials naming `grant` are honoured from now on (with requireGrant). Idempotent. */
  openGrant: (grant: string) => void
  /**
   * Credentials naming `grant` stop working, and every allocation (pending allocation and
   * reservation) made with them ends: close-relay actions. Idempotent.
   */
  revokeGrant: (grant: string) => TurnAction[]
  /**
   * Ends the allocations of `user` whose relayed address is in `relayed` (a host's call ended:
   * its ICE agent does not delete them itself). Other users' allocations are left alone.
   */
  releaseAllocations: (user: string, relayed: TransportAddress[]) => TurnAction[]
  stats: () => TurnServerStats
  /** Idempotent: ends every allocation and timer; close-relay actions for every socket. */
  close: () => TurnAction[]
}

export function createTurnServer (components: TurnServerComponents, init: TurnServerInit): TurnServer {
  return new StunTurnServer(components, init)
}

export { deniedPeerReason } from './peer-ranges.js'

interface Pending {
  id: string
  client: TransportAddress
  request: StunMessage
  auth: Auth
  lifetimeMs: number
  reserveNextAs?: string
  timer: TimerHandle
}

interface Reservation {
  token: string
  allocationId: string
  relay: TransportAddress
  user: string
  /** The client that asked for it: a held socket counts against that client's quotas. */
  clientIp: string
  grant?: string
  timer: TimerHandle
}

/** A request's reply in the making: whom to answer and how to protect it. */
interface Reply {
  to: TransportAddress
  request: StunHeader & { hasFingerprint: boolean }
  auth?: Auth
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

class StunTurnServer implements TurnServer {
  readonly realm: string
  readonly relayAddress: string
  private readonly config: TurnConfig
  private readonly clock: Clock
  private readonly random: (n: number) => Uint8Array
  private readonly log: Logger
  private readonly onActions: (actions: TurnAction[]) => void
  private readonly peerPolicy: (ip: string) => string | undefined
  private readonly auth: Authenticator
  private readonly byId = new Map<string, Allocation>()
  private readonly byClient = new Map<string, Allocation>()
  private readonly expiryTimers = new Map<string, TimerHandle>()
  private readonly pendingById = new Map<string, Pending>()
  private readonly pendingByClient = new Map<string, Pending>()
  private readonly reservations = new Map<string, Reservation>()
  /** Relayed ports of the allocations: the only ports of the relay's own address a peer may have. */
  private readonly relayPorts = new Set<number>()
  /** Grants whose credentials are honoured (requireGrant). */
  private readonly grants = new Set<string>()
  private closed = false
  private readonly counters = new TurnCounters()

  constructor (components: TurnServerComponents, init: TurnServerInit) {
    this.config = configFrom(init)
    this.realm = this.config.realm
    this.relayAddress = this.config.relayAddress
    this.clock = components.clock
    this.random = components.random ?? (n => nodeRandomBytes(n))
    this.log = components.log ?? silentLogger
    this.onActions = components.onActions ?? (() => {})
    const allowPrivate = this.config.allowPrivatePeers
    this.peerPolicy = components.peerPolicy ?? (ip => deniedPeerReason(ip, allowPrivate))
    this.auth = new Authenticator(this.config.realm, this.config.secret, this.random(32), this.config.nonceLifetimeMs, this.config.requireGrant ? this.grants : undefined)
  }

  // ---- entry points ----------------------------------------------------------------------

  handleClientPacket (from: TransportAddress, bytes: Uint8Array): TurnAction[] {
    if (this.closed) return this.drop('closed', 'server closed')
    const client = this.normalize(from)
    if (client === undefined) return this.drop('malformed', `invalid source address ${JSON.stringify(from)}`)
    const kind = packetKind(bytes)
    if (kind === 'channel-data') return this.handleChannelData(client, bytes)
    if (kind !== 'stun') return this.drop('malformed', `${bytes.length}-byte datagram from ${addressKey(client)} is neither STUN nor ChannelData`)

    const decoded = decodeStunMessage(bytes)
    if (!decoded.ok) {
      if (decoded.header?.class === 'request') {
        this.counters.requests++
        this.log.debug({ client: addressKey(client), reason: decoded.reason }, 'turn: bad request')
        return [this.error({ to: client, request: { ...decoded.header, hasFingerprint: false } }, ERROR.BAD_REQUEST, decoded.reason)]
      }
      return this.drop('malformed', `from ${addressKey(client)}: ${decoded.reason}`)
    }
    const message = decoded.message
    if (message.class === 'indication') {
      if (message.method === METHOD.SEND) return this.handleSend(client, message)
      if (message.method === METHOD.BINDING) return [] // a keep-alive (RFC 8489 §6.3.2)
      return this.drop('unexpected', `${METHOD_NAMES[message.method] ?? `method 0x${message.method.toString(16)}`} indication from ${addressKey(client)}`)
    }
    if (message.class !== 'request') return this.drop('unexpected', `STUN ${message.class} response from ${addressKey(client)}`)

    this.counters.requests++
    const reply: Reply = { to: client, request: message }
    if (message.method === METHOD.BINDING) return this.handleBinding(reply, message)
    if (!isTurnRequest(message.method)) return [this.error(reply, ERROR.BAD_REQUEST, `unknown method 0x${message.method.toString(16)}`)]

    const authenticated = this.auth.authenticate(message, addressKey(client), this.clock.now())
    if (!authenticated.ok) {
      if (authenticated.code === ERROR.UNAUTHENTICATED) this.log.debug({ client: addressKey(client), reason: authenticated.detail }, 'turn: unauthenticated request')
      return [authenticated.challenge ? this.challenge(reply, authenticated.code, authenticated.detail) : this.error(reply, authenticated.code, authenticated.detail)]
    }
    reply.auth = authenticated.auth
    if (message.unknownRequired.length > 0) {
      return [this.error(reply, ERROR.UNKNOWN_ATTRIBUTE, 'unknown comprehension-required attributes', [{ type: 'UNKNOWN-ATTRIBUTES', value: message.unknownRequired }])]
    }
    switch (message.method) {
      case METHOD.ALLOCATE: return this.handleAllocate(reply, message, authenticated.auth)
      case METHOD.REFRESH: return this.handleRefresh(reply, message, authenticated.auth)
      case METHOD.CREATE_PERMISSION: return this.handleCreatePermission(reply, message, authenticated.auth)
      default: return this.handleChannelBind(reply, message, authenticated.auth)
    }
  }

  handleRelayPacket (allocationId: string, from: TransportAddress, bytes: Uint8Array): TurnAction[] {
    if (this.closed) return this.drop('closed', 'server closed')
    const allocation = this.byId.get(allocationId)
    if (allocation === undefined) return this.drop('no-allocation', `datagram on relay ${allocationId}, which has no allocation`)
    const peer = this.normalize(from)
    if (peer === undefined) return this.drop('malformed', `invalid peer address ${JSON.stringify(from)}`)
    const now = this.clock.now()
    if (!allocation.hasPermission(peer.address, now)) {
      allocation.fromPeer.dropped++
      return this.drop('no-permission', `from ${addressKey(peer)} to relay ${addressKey(allocation.relay)}: no permission`)
    }
    if (bytes.length > 0xffff - 64) {
      allocation.fromPeer.dropped++
      return this.drop('malformed', `${bytes.length}-byte datagram from ${addressKey(peer)} is too large to relay`)
    }
    if (!allocation.fromPeerBucket.take(bytes.length, now)) {
      allocation.fromPeer.dropped++
      return this.drop('rate-limited', `from ${addressKey(peer)} to allocation ${allocation.id}`)
    }
    const binding = allocation.channelByPeer(peer, now)
    const out = binding !== undefined
      ? encodeChannelData(binding.channel, bytes)
      : encodeStunMessage({
        method: METHOD.DATA,
        class: 'indication',
        transactionId: this.random(12),
        attributes: [{ type: 'XOR-PEER-ADDRESS', value: peer }, { type: 'DATA', value: bytes }]
      })
    countPacket(allocation.fromPeer, bytes.length)
    countPacket(this.counters.fromPeer, bytes.length)
    return [{ type: 'send-to-client', to: allocation.client, bytes: out }]
  }

  relayOpened (allocationId: string, relay: TransportAddress, reserved?: { allocationId: string, relay: TransportAddress }): TurnAction[] {
    const pending = this.pendingById.get(allocationId)
    if (pending === undefined || this.closed) {
      const actions: TurnAction[] = [{ type: 'close-relay', allocationId, reason: 'no allocation waits for this relay' }]
      if (reserved !== undefined) actions.push({ type: 'close-relay', allocationId: reserved.allocationId, reason: 'no allocation waits for this relay' })
      return actions
    }
    this.forgetPending(pending)
    if (reserved !== undefined && reserved.allocationId !== pending.reserveNextAs) {
      return [
        { type: 'close-relay', allocationId, reason: 'reserved socket does not match the request' },
        { type: 'close-relay', allocationId: reserved.allocationId, reason: 'reserved socket does not match the request' },
        this.error({ to: pending.client, request: pending.request, auth: pending.auth }, ERROR.SERVER_ERROR, 'relay sockets mismatched')
      ]
    }
    const relayAddress = this.normalize(relay)
    if (relayAddress === undefined) {
      return [
        { type: 'close-relay', allocationId, reason: 'invalid relay address' },
        this.error({ to: pending.client, request: pending.request, auth: pending.auth }, ERROR.SERVER_ERROR, 'relay socket has an invalid address')
      ]
    }
    const extra: StunAttribute[] = []
    const actions: TurnAction[] = []
    if (pending.reserveNextAs !== undefined) {
      const reservedAddress = reserved === undefined ? undefined : this.normalize(reserved.relay)
      if (reservedAddress === undefined) {
        actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason: 'reservation not opened' })
      } else {
        const token = this.random(RESERVATION_TOKEN_BYTES)
        this.addReservation(toHex(token), pending.reserveNextAs, reservedAddress, pending.auth.user, pending.client.address, pending.auth.grant)
        extra.push({ type: 'RESERVATION-TOKEN', value: token })
      }
    }
    actions.push(this.createAllocation(allocationId, pending.client, relayAddress, pending.request, pending.auth, pending.lifetimeMs, extra))
    return actions
  }

  relayFailed (allocationId: string, reason: string): TurnAction[] {
    const pending = this.pendingById.get(allocationId)
    const actions: TurnAction[] = [{ type: 'close-relay', allocationId, reason: `relay failed: ${reason}` }]
    if (pending === undefined) return actions
    this.forgetPending(pending)
    if (pending.reserveNextAs !== undefined) actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason: 'relay failed' })
    this.log.warn({ allocationId, reason }, 'turn: relay socket failed')
    actions.push(this.error({ to: pending.client, request: pending.request, auth: pending.auth }, ERROR.INSUFFICIENT_CAPACITY, `no relay port: ${reason}`))
    return actions
  }

  releaseAllocations (user: string, relayed: TransportAddress[]): TurnAction[] {
    const wanted = new Set(relayed.map(address => addressKey({ address: canonicalIp(address.address) ?? address.address, port: address.port })))
    const actions: TurnAction[] = []
    for (const allocation of [...this.byId.values()]) {
      if (allocation.user === user && wanted.has(addressKey(allocation.relay))) actions.push(this.removeAllocation(allocation, 'deleted'))
    }
    return actions
  }

  openGrant (grant: string): void {
    this.grants.add(grant)
  }

  revokeGrant (grant: string): TurnAction[] {
    this.grants.delete(grant)
    return this.revokeWhere(
      allocation => grantOf(allocation.username) === grant,
      auth => auth.grant === grant,
      reservation => reservation.grant === grant)
  }

  private revokeWhere (
    allocationMatches: (allocation: Allocation) => boolean,
    pendingMatches: (auth: Auth) => boolean,
    reservationMatches: (reservation: Reservation) => boolean
  ): TurnAction[] {
    const actions: TurnAction[] = []
    for (const allocation of [...this.byId.values()]) {
      if (allocationMatches(allocation)) actions.push(this.removeAllocation(allocation, 'revoked'))
    }
    for (const pending of [...this.pendingById.values()]) {
      if (!pendingMatches(pending.auth)) continue
      this.forgetPending(pending)
      actions.push({ type: 'close-relay', allocationId: pending.id, reason: 'revoked' })
      if (pending.reserveNextAs !== undefined) actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason: 'revoked' })
    }
    for (const reservation of [...this.reservations.values()]) {
      if (reservationMatches(reservation)) actions.push(this.removeReservation(reservation, 'revoked'))
    }
    return actions
  }

  stats (): TurnServerStats {
    const now = this.clock.now()
    return {
      allocations: this.byId.size,
      pendingAllocations: this.pendingById.size,
      reservations: this.reservations.size,
      ...this.counters.snapshot(),
      perAllocation: [...this.byId.values()].map((allocation): AllocationStats => ({
        id: allocation.id,
        user: allocation.user,
        username: allocation.username,
        client: { ...allocation.client },
        relay: { ...allocation.relay },
        createdAt: allocation.createdAt,
        expiresAt: allocation.expiresAt,
        permissions: allocation.permissionCount(now),
        channels: allocation.channelCount(now),
        toPeer: { ...allocation.toPeer },
        fromPeer: { ...allocation.fromPeer }
      }))
    }
  }

  close (): TurnAction[] {
    if (this.closed) return []
    const actions: TurnAction[] = []
    for (const allocation of [...this.byId.values()]) actions.push(this.removeAllocation(allocation, 'revoked'))
    for (const pending of [...this.pendingById.values()]) {
      this.forgetPending(pending)
      actions.push({ type: 'close-relay', allocationId: pending.id, reason: 'server closed' })
      if (pending.reserveNextAs !== undefined) actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason: 'server closed' })
    }
    for (const reservation of [...this.reservations.values()]) actions.push(this.removeReservation(reservation, 'server closed'))
    this.closed = true
    return actions
  }

  // ---- STUN Binding ----------------------------------------------------------------------

  private handleBinding (reply: Reply, message: StunMessage): TurnAction[] {
    this.counters.bindingRequests++
    if (message.unknownRequired.length > 0) {
      return [this.error(reply, ERROR.UNKNOWN_ATTRIBUTE, 'unknown comprehension-required attributes', [{ type: 'UNKNOWN-ATTRIBUTES', value: message.unknownRequired }])]
    }
    return [this.success(reply, [{ type: 'XOR-MAPPED-ADDRESS', value: reply.to }])]
  }

  // ---- Allocate (RFC 8656 §7.2) ----------------------------------------------------------

  private handleAllocate (reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
    const client = reply.to
    const clientKey = addressKey(client)
    const existing = this.byClient.get(clientKey)
    if (existing !== undefined) {
      if (sameBytes(existing.transactionId, message.transactionId)) return [{ type: 'send-to-client', to: client, bytes: existing.successResponse }]
      return [this.error(reply, ERROR.ALLOCATION_MISMATCH, 'this 5-tuple already has an allocation')]
    }
    const pending = this.pendingByClient.get(clientKey)
    if (pending !== undefined) {
      if (sameBytes(pending.request.transactionId, message.transactionId)) return [] // a retransmission; the answer is on its way
      return [this.error(reply, ERROR.ALLOCATION_MISMATCH, 'this 5-tuple already has an allocation in progress')]
    }
    if (auth.expired) {
      reply.auth = undefined
      return [this.challenge(reply, ERROR.UNAUTHENTICATED, `credentials expired at ${new Date(auth.expiresAt).toISOString()}`)]
    }
    const transport = findAttribute(message, 'REQUESTED-TRANSPORT')
    if (transport === undefined) return [this.error(reply, ERROR.BAD_REQUEST, 'REQUESTED-TRANSPORT missing')]
    if (transport.value !== TRANSPORT_UDP) return [this.error(reply, ERROR.UNSUPPORTED_TRANSPORT_PROTOCOL, `only UDP (17) is relayed, not protocol ${transport.value}`)]
    if (findAttribute(message, 'DONT-FRAGMENT') !== undefined) {
      return [this.error(reply, ERROR.UNKNOWN_ATTRIBUTE, 'DONT-FRAGMENT is not supported', [{ type: 'UNKNOWN-ATTRIBUTES', value: [ATTR.DONT_FRAGMENT] }])]
    }
    const token = findAttribute(message, 'RESERVATION-TOKEN')
    const evenPort = findAttribute(message, 'EVEN-PORT')
    const family = findAttribute(message, 'REQUESTED-ADDRESS-FAMILY')
    if (token !== undefined && (evenPort !== undefined || family !== undefined)) {
      return [this.error(reply, ERROR.BAD_REQUEST, `RESERVATION-TOKEN cannot come with ${evenPort !== undefined ? 'EVEN-PORT' : 'REQUESTED-ADDRESS-FAMILY'}`)]
    }
    const requestedFamily = family?.value ?? 4
    if (requestedFamily !== this.config.relayFamily) {
      return [this.error(reply, ERROR.ADDRESS_FAMILY_NOT_SUPPORTED, `this relay serves IPv${this.config.relayFamily} only`)]
    }
    const ofUser = this.allocationsOf(auth.user)
    if (ofUser >= this.config.maxAllocationsPerUser) {
      this.log.info({ user: auth.user, allocations: ofUser }, 'turn: allocation quota reached')
      return [this.error(reply, ERROR.ALLOCATION_QUOTA_REACHED, `user has ${ofUser} allocations, the most allowed`)]
    }
    const fromAddress = this.allocationsFrom(client.address)
    if (fromAddress >= this.config.maxAllocationsPerAddress) {
      this.log.warn({ user: auth.user, client: client.address, allocations: fromAddress }, 'turn: allocation quota of the client address reached')
      return [this.error(reply, ERROR.ALLOCATION_QUOTA_REACHED, `address has ${fromAddress} allocations, the most allowed`)]
    }
    const total = this.byId.size + this.pendingById.size + this.reservations.size
    if (total >= this.config.maxAllocations) {
      this.log.warn({ allocations: total }, 'turn: at capacity')
      return [this.error(reply, ERROR.INSUFFICIENT_CAPACITY, 'relay at its allocation capacity')]
    }
    const lifetimeMs = this.lifetimeFor(findAttribute(message, 'LIFETIME')?.value)

    if (token !== undefined) {
      const reservation = this.reservations.get(toHex(token.value))
      if (reservation === undefined || reservation.user !== auth.user) {
        return [this.error(reply, ERROR.INSUFFICIENT_CAPACITY, 'RESERVATION-TOKEN unknown or expired')]
      }
      this.reservations.delete(reservation.token)
      this.clock.clearTimeout(reservation.timer)
      return [this.createAllocation(reservation.allocationId, client, reservation.relay, message, auth, lifetimeMs, [])]
    }

    const id = this.newId()
    const reserveNextAs = evenPort?.value.reserve === true ? this.newId() : undefined
    const entry: Pending = {
      id,
      client,
      request: message,
      auth,
      lifetimeMs,
      reserveNextAs,
      timer: this.clock.setTimeout(() => { this.pendingTimedOut(id) }, RELAY_OPEN_TIMEOUT_MS)
    }
    this.pendingById.set(id, entry)
    this.pendingByClient.set(clientKey, entry)
    return [{ type: 'open-relay', allocationId: id, address: this.relayAddress, family: this.config.relayFamily, evenPort: evenPort !== undefined, reserveNextAs }]
  }

  private createAllocation (id: string, client: TransportAddress, relay: TransportAddress, request: StunMessage, auth: Auth, lifetimeMs: number, extra: StunAttribute[]): TurnAction {
    const now = this.clock.now()
    const response = this.success({ to: client, request, auth }, [
      { type: 'XOR-RELAYED-ADDRESS', value: relay },
      { type: 'LIFETIME', value: lifetimeMs / 1000 },
      ...extra,
      { type: 'XOR-MAPPED-ADDRESS', value: client }
    ])
    const allocation = new Allocation(id, client, relay, auth.username, auth.user, request.transactionId, response.bytes, now, lifetimeMs, this.config.maxBytesPerSecond)
    this.byId.set(id, allocation)
    this.relayPorts.add(relay.port)
    this.byClient.set(addressKey(client), allocation)
    this.scheduleExpiry(allocation)
    this.counters.allocationsCreated++
    this.log.info({ id, user: auth.user, client: addressKey(client), relay: addressKey(relay), lifetimeSeconds: lifetimeMs / 1000 }, 'turn: allocation created')
    return response
  }

  // ---- Refresh (RFC 8656 §7.3) -----------------------------------------------------------

  private handleRefresh (reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
    const allocation = this.allocationFor(reply, auth)
    if (!(allocation instanceof Allocation)) return allocation
    const family = findAttribute(message, 'REQUESTED-ADDRESS-FAMILY')
    if (family !== undefined && family.value !== this.config.relayFamily) {
      return [this.error(reply, ERROR.PEER_ADDRESS_FAMILY_MISMATCH, `the allocation is IPv${this.config.relayFamily}`)]
    }
    const requested = findAttribute(message, 'LIFETIME')?.value
    if (requested === 0) {
      const close = this.removeAllocation(allocation, 'deleted')
      return [this.success(reply, [{ type: 'LIFETIME', value: 0 }]), close]
    }
    const lifetimeMs = this.lifetimeFor(requested)
    allocation.expiresAt = this.clock.now() + lifetimeMs
    this.scheduleExpiry(allocation)
    return [this.success(reply, [{ type: 'LIFETIME', value: lifetimeMs / 1000 }])]
  }

  // ---- CreatePermission (RFC 8656 §9) ----------------------------------------------------

  private handleCreatePermission (reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
    const allocation = this.allocationFor(reply, auth)
    if (!(allocation instanceof Allocation)) return allocation
    const peers = findAttributes(message, 'XOR-PEER-ADDRESS')
    if (peers.length === 0) return [this.error(reply, ERROR.BAD_REQUEST, 'XOR-PEER-ADDRESS missing')]
    if (peers.length > MAX_PEERS_PER_CREATE_PERMISSION) return [this.error(reply, ERROR.BAD_REQUEST, `more than ${MAX_PEERS_PER_CREATE_PERMISSION} XOR-PEER-ADDRESS`)]
    const ips: string[] = []
    for (const peer of peers) {
      const refused = this.checkPeer(reply, peer.value)
      if (refused !== undefined) return [refused]
      ips.push(peer.value.address)
    }
    const now = this.clock.now()
    if (allocation.permissionCountWith(ips, now) > this.config.maxPermissions) {
      return [this.error(reply, ERROR.INSUFFICIENT_CAPACITY, `at most ${this.config.maxPermissions} permissions per allocation`)]
    }
    for (const ip of ips) allocation.installPermission(ip, now)
    return [this.success(reply, [])]
  }

  // ---- ChannelBind (RFC 8656 §11.2) ------------------------------------------------------

  private handleChannelBind (reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
    const allocation = this.allocationFor(reply, auth)
    if (!(allocation instanceof Allocation)) return allocation
    const channel = findAttribute(message, 'CHANNEL-NUMBER')?.value
    if (channel === undefined) return [this.error(reply, ERROR.BAD_REQUEST, 'CHANNEL-NUMBER missing')]
    if (channel < CHANNEL_MIN || channel > CHANNEL_MAX_ACCEPTED) return [this.error(reply, ERROR.BAD_REQUEST, `channel 0x${channel.toString(16)} is not in 0x4000..0x${CHANNEL_MAX_ACCEPTED.toString(16)}`)]
    const peer = findAttribute(message, 'XOR-PEER-ADDRESS')?.value
    if (peer === undefined) return [this.error(reply, ERROR.BAD_REQUEST, 'XOR-PEER-ADDRESS missing')]
    const refused = this.checkPeer(reply, peer)
    if (refused !== undefined) return [refused]
    const now = this.clock.now()
    const byNumber = allocation.channelByNumber(channel, now)
    if (byNumber !== undefined && addressKey(byNumber.peer) !== addressKey(peer)) {
      return [this.error(reply, ERROR.BAD_REQUEST, `channel 0x${channel.toString(16)} is bound to another peer`)]
    }
    const byPeer = allocation.channelByPeer(peer, now)
    if (byPeer !== undefined && byPeer.channel !== channel) {
      return [this.error(reply, ERROR.BAD_REQUEST, `the peer is bound to channel 0x${byPeer.channel.toString(16)}`)]
    }
    if (byNumber === undefined && allocation.channelCount(now) >= this.config.maxChannels) {
      return [this.error(reply, ERROR.INSUFFICIENT_CAPACITY, `at most ${this.config.maxChannels} channels per allocation`)]
    }
    if (allocation.permissionCountWith([peer.address], now) > this.config.maxPermissions) {
      return [this.error(reply, ERROR.INSUFFICIENT_CAPACITY, `at most ${this.config.maxPermissions} permissions per allocation`)]
    }
    allocation.bindChannel(channel, peer, now)
    allocation.installPermission(peer.address, now)
    return [this.success(reply, [])]
  }

  // ---- data from the client --------------------------------------------------------------

  private handleSend (client: TransportAddress, message: StunMessage): TurnAction[] {
    const allocation = this.byClient.get(addressKey(client))
    if (allocation === undefined) return this.drop('no-allocation', `Send indication from ${addressKey(client)}, which has no allocation`)
    if (message.unknownRequired.length > 0) return this.drop('bad-indication', `Send indication with unknown comprehension-required attributes ${message.unknownRequired.join(', ')}`)
    const peer = findAttribute(message, 'XOR-PEER-ADDRESS')?.value
    const data = findAttribute(message, 'DATA')?.value
    if (peer === undefined || data === undefined) return this.drop('bad-indication', `Send indication without ${peer === undefined ? 'XOR-PEER-ADDRESS' : 'DATA'}`)
    if (ipFamily(peer.address) !== this.config.relayFamily) return this.drop('bad-indication', `Send indication to IPv${ipFamily(peer.address)} peer from an IPv${this.config.relayFamily} relay`)
    const refused = this.peerPolicy(peer.address)
    if (refused !== undefined) {
      // Data, not a request: counted and logged at debug like every other drop (no log flood).
      allocation.toPeer.dropped++
      return this.drop('forbidden-peer', `Send indication to ${addressKey(peer)}: ${refused}`)
    }
    return this.relayToPeer(allocation, peer, data)
  }

  private handleChannelData (client: TransportAddress, bytes: Uint8Array): TurnAction[] {
    const decoded = decodeChannelData(bytes)
    if (!decoded.ok) return this.drop('malformed', `from ${addressKey(client)}: ${decoded.reason}`)
    const allocation = this.byClient.get(addressKey(client))
    if (allocation === undefined) return this.drop('no-allocation', `ChannelData from ${addressKey(client)}, which has no allocation`)
    const binding = allocation.channelByNumber(decoded.channel, this.clock.now())
    if (binding === undefined) {
      allocation.toPeer.dropped++
      return this.drop('no-channel', `ChannelData on unbound channel 0x${decoded.channel.toString(16)} from ${addressKey(client)}`)
    }
    return this.relayToPeer(allocation, binding.peer, decoded.data, true)
  }

  private relayToPeer (allocation: Allocation, peer: TransportAddress, data: Uint8Array, viaChannel = false): TurnAction[] {
    const now = this.clock.now()
    if (!viaChannel && !allocation.hasPermission(peer.address, now)) {
      allocation.toPeer.dropped++
      return this.drop('no-permission', `Send indication to ${addressKey(peer)}: no permission`)
    }
    // Permissions and channels name an IP; the port is checked here, per packet (a Set lookup).
    const intoItself = this.selfRefusal(peer)
    if (intoItself !== undefined) {
      allocation.toPeer.dropped++
      return this.drop('forbidden-peer', `to ${addressKey(peer)}: ${intoItself}`)
    }
    if (!allocation.toPeerBucket.take(data.length, now)) {
      allocation.toPeer.dropped++
      return this.drop('rate-limited', `from allocation ${allocation.id} to ${addressKey(peer)}`)
    }
    countPacket(allocation.toPeer, data.length)
    countPacket(this.counters.toPeer, data.length)
    return [{ type: 'send-to-peer', allocationId: allocation.id, to: peer, bytes: data }]
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** The allocation of the request's 5-tuple, or the error response (437, 441). */
  private allocationFor (reply: Reply, auth: Auth): Allocation | TurnAction[] {
    const allocation = this.byClient.get(addressKey(reply.to))
    if (allocation === undefined) return [this.error(reply, ERROR.ALLOCATION_MISMATCH, 'no allocation for this 5-tuple')]
    if (allocation.username !== auth.username) return [this.error(reply, ERROR.WRONG_CREDENTIALS, 'the allocation was created with another username')]
    return allocation
  }

  /** The error response refusing a peer address (443, 403), or undefined when it is acceptable. */
  private checkPeer (reply: Reply, peer: TransportAddress): TurnAction | undefined {
    const family = ipFamily(peer.address)
    if (family !== this.config.relayFamily) return this.error(reply, ERROR.PEER_ADDRESS_FAMILY_MISMATCH, `peer is IPv${family}, the relay IPv${this.config.relayFamily}`)
    const refused = this.peerPolicy(peer.address) ?? this.selfRefusal(peer)
    if (refused !== undefined) {
      this.log.warn({ user: reply.auth?.user, peer: peer.address, reason: refused }, 'turn: peer refused')
      return this.error(reply, ERROR.FORBIDDEN, `peer ${peer.address}: ${refused}`)
    }
    return undefined
  }

  /** Why `peer` is the supernode's own machine rather than another allocation of this relay, or undefined. */
  private selfRefusal (peer: TransportAddress): string | undefined {
    if (this.config.allowPrivatePeers || peer.address !== this.relayAddress || this.relayPorts.has(peer.port)) return undefined
    return `the relay's own address, at port ${peer.port}, which relays no allocation`
  }

  private lifetimeFor (requestedSeconds: number | undefined): number {
    const requestedMs = requestedSeconds === undefined ? this.config.defaultLifetimeMs : requestedSeconds * 1000
    return Math.max(this.config.defaultLifetimeMs, Math.min(requestedMs, this.config.maxLifetimeMs))
  }

  private allocationsOf (user: string): number {
    let n = 0
    for (const allocation of this.byId.values()) if (allocation.user === user) n++
    for (const pending of this.pendingById.values()) if (pending.auth.user === user) n++
    for (const reservation of this.reservations.values()) if (reservation.user === user) n++
    return n
  }

  /** Allocations (pending ones and reserved sockets too) whose client is at `ip`, or in its /64 for IPv6. */
  private allocationsFrom (ip: string): number {
    const key = addressGroupOf(ip)
    let n = 0
    for (const allocation of this.byId.values()) if (addressGroupOf(allocation.client.address) === key) n++
    for (const pending of this.pendingById.values()) if (addressGroupOf(pending.client.address) === key) n++
    for (const reservation of this.reservations.values()) if (addressGroupOf(reservation.clientIp) === key) n++
    return n
  }

  private scheduleExpiry (allocation: Allocation): void {
    const previous = this.expiryTimers.get(allocation.id)
    if (previous !== undefined) this.clock.clearTimeout(previous)
    this.expiryTimers.set(allocation.id, this.clock.setTimeout(() => {
      this.expiryTimers.delete(allocation.id)
      if (this.byId.get(allocation.id) !== allocation) return
      this.onActions([this.removeAllocation(allocation, 'expired')])
    }, allocation.expiresAt - this.clock.now()))
  }

  private removeAllocation (allocation: Allocation, why: 'expired' | 'deleted' | 'revoked'): TurnAction {
    this.byId.delete(allocation.id)
    this.relayPorts.delete(allocation.relay.port)
    if (this.byClient.get(addressKey(allocation.client)) === allocation) this.byClient.delete(addressKey(allocation.client))
    const timer = this.expiryTimers.get(allocation.id)
    if (timer !== undefined) this.clock.clearTimeout(timer)
    this.expiryTimers.delete(allocation.id)
    if (why === 'expired') this.counters.allocationsExpired++
    else if (why === 'deleted') this.counters.allocationsDeleted++
    else this.counters.allocationsRevoked++
    this.log.info({
      id: allocation.id,
      user: allocation.user,
      why,
      toPeer: allocation.toPeer,
      fromPeer: allocation.fromPeer
    }, 'turn: allocation ended')
    return { type: 'close-relay', allocationId: allocation.id, reason: why }
  }

  private forgetPending (pending: Pending): void {
    this.pendingById.delete(pending.id)
    if (this.pendingByClient.get(addressKey(pending.client)) === pending) this.pendingByClient.delete(addressKey(pending.client))
    this.clock.clearTimeout(pending.timer)
  }

  private pendingTimedOut (id: string): void {
    const pending = this.pendingById.get(id)
    if (pending === undefined) return
    this.forgetPending(pending)
    this.log.warn({ allocationId: id }, 'turn: relay socket did not open in time')
    const actions: TurnAction[] = [{ type: 'close-relay', allocationId: id, reason: 'relay open timed out' }]
    if (pending.reserveNextAs !== undefined) actions.push({ type: 'close-relay', allocationId: pending.reserveNextAs, reason: 'relay open timed out' })
    actions.push(this.error({ to: pending.client, request: pending.request, auth: pending.auth }, ERROR.INSUFFICIENT_CAPACITY, 'relay socket did not open in time'))
    this.onActions(actions)
  }

  private addReservation (token: string, allocationId: string, relay: TransportAddress, user: string, clientIp: string, grant: string | undefined): void {
    const reservation: Reservation = {
      token,
      allocationId,
      relay,
      user,
      clientIp,
      grant,
      timer: this.clock.setTimeout(() => {
        if (this.reservations.get(token) !== reservation) return
        this.onActions([this.removeReservation(reservation, 'reservation expired')])
      }, RESERVATION_LIFETIME_MS)
    }
    this.reservations.set(token, reservation)
  }

  private removeReservation (reservation: Reservation, reason: string): TurnAction {
    this.reservations.delete(reservation.token)
    this.clock.clearTimeout(reservation.timer)
    return { type: 'close-relay', allocationId: reservation.allocationId, reason }
  }

  private newId (): string {
    for (;;) {
      const id = toHex(this.random(8))
      if (!this.byId.has(id) && !this.pendingById.has(id) && ![...this.reservations.values()].some(r => r.allocationId === id)) return id
    }
  }

  private normalize (address: TransportAddress): TransportAddress | undefined {
    if (typeof address?.address !== 'string' || !Number.isInteger(address.port) || address.port < 0 || address.port > 0xffff) return undefined
    const ip = canonicalIp(address.address)
    return ip === undefined ? undefined : { address: ip, port: address.port }
  }

  private drop (reason: DropReason, detail: string): TurnAction[] {
    this.counters.drop(reason, detail, this.clock.now())
    this.log.debug({ reason, detail }, 'turn: packet dropped')
    return []
  }

  private success (reply: Reply, attributes: StunAttribute[]): TurnAction & { type: 'send-to-client' } {
    this.counters.successResponses++
    return { type: 'send-to-client', to: reply.to, bytes: this.encodeReply(reply, 'success', attributes) }
  }

  private error (reply: Reply, code: number, detail: string, extra: StunAttribute[] = []): TurnAction {
    this.counters.errorResponse(code)
    const reason = truncate(`${ERROR_PHRASES[code] ?? 'Error'}: ${detail}`, MAX_TEXT_CHARS)
    return { type: 'send-to-client', to: reply.to, bytes: this.encodeReply(reply, 'error', [{ type: 'ERROR-CODE', value: { code, reason } }, ...extra]) }
  }

  /** An error response with REALM and a fresh NONCE, so the client can (re)authenticate (401, 438). */
  private challenge (reply: Reply, code: number, detail: string): TurnAction {
    return this.error(reply, code, detail, [
      { type: 'REALM', value: this.realm },
      { type: 'NONCE', value: this.auth.nonceFor(addressKey(reply.to), this.clock.now()) }
    ])
  }

  private encodeReply (reply: Reply, cls: 'success' | 'error', attributes: StunAttribute[]): Uint8Array {
    return encodeStunMessage({
      method: reply.request.method,
      class: cls,
      transactionId: reply.request.transactionId,
      attributes: [...attributes, { type: 'SOFTWARE', value: this.config.software }]
    }, {
      integrityKey: reply.auth?.key,
      integrity: reply.auth?.algorithm,
      fingerprint: reply.request.hasFingerprint
    })
  }
}

/** The grant a credential username names, if any. */
function grantOf (username: string): string | undefined {
  const parsed = parseTurnUsername(username, 0)
  return parsed.ok ? parsed.grant : undefined
}

function isTurnRequest (method: number): boolean {
  return method === METHOD.ALLOCATE || method === METHOD.REFRESH || method === METHOD.CREATE_PERMISSION || method === METHOD.CHANNEL_BIND
}

function truncate (text: string, maxChars: number): string {
  const chars = [...text]
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars - 1).join('')}…`
}
