// A STUN server and TURN relay (RFC 8489, RFC 8656; clients on UDP or TCP, relaying UDP) as a sans-IO state machine.
//
// The edge (udp/udp-turn-server.ts, tcp/tcp-edge.ts) feeds it datagrams and carries out the actions it returns:
//   handleClientPacket(from, bytes)              a datagram on the listening socket, or a message on a client's TCP stream
//   handleRelayPacket(allocationId, from, bytes) a datagram on an allocation's relay socket
//   relayOpened / relayFailed                    the outcome of an `open-relay` action
// Actions the server takes on its own (an allocation, reservation or pending open timing out)
// go to components.onActions. Time comes from the Clock, so tests drive expiry with FakeClock.
//
// This class only dispatches: a file per TURN method (allocate.ts, refresh.ts,
// create-permission.ts, channel-bind.ts; binding.ts for STUN), send.ts and peer-data.ts for
// the data each way, relay-open.ts for the edge's answer to open-relay, release.ts for ends
// from outside the protocol; their state is allocation-table.ts. Authentication (turn-auth.ts)
// is the long-term credential mechanism with credentials the supernode issues
// (../credentials.ts); NONCEs are stateless (nonces.ts). Counters: turn-stats.ts.
// Policy choices beyond the RFCs:
//   - Expired credentials cannot create an allocation (401), but the allocation they created
//     may still be refreshed, and get permissions and channels, with the same username: the
//     credential's lifetime bounds when a call can start, never how long it may last. The
//     allocation's own lifetime (refreshed by the client) and quotas bound the rest.
//   - Revocation (requireGrant): credentials name a grant (../credentials.ts); only open grants
//     are honoured, and revokeGrant ends every allocation made under the grant at once. A
//     supernode opens one grant per registered host and revokes it when the host leaves.
//   - Peers (../peer-ranges.ts): loopback, private, link-local, CGNAT, multicast, reserved,
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
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import type { Clock } from '../../../common/clock.js'
import { silentLogger, type Logger } from '../../../common/logger.js'
import { ERROR, METHOD, METHOD_NAMES } from '../constants.js'
import { addressKey, type TransportAddress } from '../ip.js'
import { deniedPeerReason } from '../peer-ranges.js'
import { packetKind } from '../stun/header.js'
import { decodeStunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import { AllocationTable } from './allocation-table.js'
import { configFrom, type TurnServerInit } from './config.js'
import type { TurnContext } from './context.js'
import { handlePeerData } from './peer-data.js'
import { relayFailed, relayOpened } from './relay-open.js'
import { closeAll, releaseAllocations, releaseClient, revokeGrant } from './release.js'
import { drop, errorReply } from './replies.js'
import { handleRequest } from './request.js'
import { normalizeAddress } from './request-checks.js'
import { handleChannelData, handleSend } from './send.js'
import { Authenticator } from './turn-auth.js'
import { allocationStats, TurnCounters, type TurnServerStats } from './turn-stats.js'

export type { TurnAction } from './actions.js'
export type { TurnServerInit, TurnQuotas } from './config.js'
export type { TransportAddress } from '../ip.js'
export { DROP_REASONS, RECENT_DROPS, type AllocationStats, type DropReason, type TurnServerStats } from './turn-stats.js'
export { deniedPeerReason } from '../peer-ranges.js'

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
  /** The client at `client` is gone (its TCP connection closed): its allocation ends. */
  releaseClient: (client: TransportAddress) => TurnAction[]
  stats: () => TurnServerStats
  /** Idempotent: ends every allocation and timer; close-relay actions for every socket. */
  close: () => TurnAction[]
}

export function createTurnServer (components: TurnServerComponents, init: TurnServerInit): TurnServer {
  return new StunTurnServer(components, init)
}

class StunTurnServer implements TurnServer {
  readonly realm: string
  readonly relayAddress: string
  private readonly ctx: TurnContext

  constructor (components: TurnServerComponents, init: TurnServerInit) {
    const config = configFrom(init)
    const random = components.random ?? (n => nodeRandomBytes(n))
    const log = components.log ?? silentLogger
    const onActions = components.onActions ?? (() => {})
    const counters = new TurnCounters()
    const table = new AllocationTable({ clock: components.clock, random, log, counters, onActions })
    const allowPrivate = config.allowPrivatePeers
    this.realm = config.realm
    this.relayAddress = config.relayAddress
    this.ctx = {
      config,
      clock: components.clock,
      random,
      log,
      onActions,
      peerPolicy: components.peerPolicy ?? (ip => deniedPeerReason(ip, allowPrivate)),
      auth: new Authenticator(config.realm, config.secret, random(32), config.nonceLifetimeMs, config.requireGrant ? table.grants : undefined),
      counters,
      table
    }
  }

  handleClientPacket (from: TransportAddress, bytes: Uint8Array): TurnAction[] {
    const ctx = this.ctx
    if (ctx.table.closed) return drop(ctx, 'closed', 'server closed')
    const kind = packetKind(bytes)
    // The hot path: a client's address as the socket gives it is already the canonical key of its
    // allocation (dgram prints IPs canonically), so ChannelData skips re-parsing it.
    const known = kind === 'channel-data' ? ctx.table.byClient.get(addressKey(from)) : undefined
    if (known !== undefined) return handleChannelData(ctx, known, bytes)
    const client = normalizeAddress(from)
    if (client === undefined) return drop(ctx, 'malformed', `invalid source address ${JSON.stringify(from)}`)
    if (kind === 'channel-data') return handleChannelData(ctx, ctx.table.byClient.get(addressKey(client)), bytes, client)
    if (kind !== 'stun') return drop(ctx, 'malformed', `${bytes.length}-byte datagram from ${addressKey(client)} is neither STUN nor ChannelData`)

    const decoded = decodeStunMessage(bytes)
    if (!decoded.ok) {
      if (decoded.header?.class === 'request') {
        ctx.counters.requests++
        ctx.log.debug({ client: addressKey(client), reason: decoded.reason }, 'turn: bad request')
        return [errorReply(ctx, { to: client, request: { ...decoded.header, hasFingerprint: false } }, ERROR.BAD_REQUEST, decoded.reason)]
      }
      return drop(ctx, 'malformed', `from ${addressKey(client)}: ${decoded.reason}`)
    }
    const message = decoded.message
    if (message.class === 'indication') {
      if (message.method === METHOD.SEND) return handleSend(ctx, client, message)
      if (message.method === METHOD.BINDING) return [] // a keep-alive (RFC 8489 §6.3.2)
      return drop(ctx, 'unexpected', `${METHOD_NAMES[message.method] ?? `method 0x${message.method.toString(16)}`} indication from ${addressKey(client)}`)
    }
    if (message.class !== 'request') return drop(ctx, 'unexpected', `STUN ${message.class} response from ${addressKey(client)}`)
    return handleRequest(ctx, client, message)
  }

  handleRelayPacket (allocationId: string, from: TransportAddress, bytes: Uint8Array): TurnAction[] {
    if (this.ctx.table.closed) return drop(this.ctx, 'closed', 'server closed')
    return handlePeerData(this.ctx, allocationId, from, bytes)
  }

  relayOpened (allocationId: string, relay: TransportAddress, reserved?: { allocationId: string, relay: TransportAddress }): TurnAction[] {
    return relayOpened(this.ctx, allocationId, relay, reserved)
  }

  relayFailed (allocationId: string, reason: string): TurnAction[] {
    return relayFailed(this.ctx, allocationId, reason)
  }

  releaseAllocations (user: string, relayed: TransportAddress[]): TurnAction[] {
    return releaseAllocations(this.ctx, user, relayed)
  }

  releaseClient (client: TransportAddress): TurnAction[] {
    return releaseClient(this.ctx, client)
  }

  openGrant (grant: string): void {
    this.ctx.table.grants.add(grant)
  }

  revokeGrant (grant: string): TurnAction[] {
    return revokeGrant(this.ctx, grant)
  }

  stats (): TurnServerStats {
    const { table, counters, clock } = this.ctx
    const now = clock.now()
    return {
      allocations: table.byId.size,
      pendingAllocations: table.pendingById.size,
      reservations: table.reservations.size,
      ...counters.snapshot(),
      perAllocation: [...table.byId.values()].map(allocation => allocationStats(allocation, now))
    }
  }

  close (): TurnAction[] {
    return closeAll(this.ctx)
  }
}
