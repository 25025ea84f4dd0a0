// Checks the TURN methods share: the allocation a request is about, whether a peer may be
// relayed to, and the canonical form of an address off the wire.
import { ERROR } from '../constants.js'
import { addressKey, canonicalIp, ipFamily, type TransportAddress } from '../ip.js'
import type { TurnAction } from './actions.js'
import type { Allocation } from './allocation.js'
import type { Reply, TurnContext } from './context.js'
import { errorReply } from './replies.js'
import type { Auth } from './turn-auth.js'

/** The allocation of the request's 5-tuple, or the error response (437, 441). */
export function allocationFor (ctx: TurnContext, reply: Reply, auth: Auth): Allocation | TurnAction[] {
  const allocation = ctx.table.byClient.get(addressKey(reply.to))
  if (allocation === undefined) return [errorReply(ctx, reply, ERROR.ALLOCATION_MISMATCH, 'no allocation for this 5-tuple')]
  if (allocation.username !== auth.username) return [errorReply(ctx, reply, ERROR.WRONG_CREDENTIALS, 'the allocation was created with another username')]
  return allocation
}

/** The error response refusing a peer address (443, 403), or undefined when it is acceptable. */
export function checkPeer (ctx: TurnContext, reply: Reply, peer: TransportAddress): TurnAction | undefined {
  const { relayFamily } = ctx.config
  const family = ipFamily(peer.address)
  if (family !== relayFamily) return errorReply(ctx, reply, ERROR.PEER_ADDRESS_FAMILY_MISMATCH, `peer is IPv${family}, the relay IPv${relayFamily}`)
  const refused = ctx.peerPolicy(peer.address) ?? selfRefusal(ctx, peer)
  if (refused !== undefined) {
    // Routine, not an alarm: every call's ICE asks permission for the other side's LAN and loopback
    // candidates too, and those are refused here (as is a member probing for private addresses).
    ctx.log.debug({ user: reply.auth?.user, peer: peer.address, reason: refused }, 'turn: peer refused')
    return errorReply(ctx, reply, ERROR.FORBIDDEN, `peer ${peer.address}: ${refused}`)
  }
  return undefined
}

/** Why `peer` is the supernode's own machine rather than another allocation of this relay, or undefined. */
export function selfRefusal (ctx: TurnContext, peer: TransportAddress): string | undefined {
  if (ctx.config.allowPrivatePeers || peer.address !== ctx.config.relayAddress || ctx.table.relayPorts.has(peer.port)) return undefined
  return `the relay's own address, at port ${peer.port}, which relays no allocation`
}

/** The address with its IP in canonical form, or undefined when it is not an IP and port. */
export function normalizeAddress (address: TransportAddress): TransportAddress | undefined {
  if (typeof address?.address !== 'string' || !Number.isInteger(address.port) || address.port < 0 || address.port > 0xffff) return undefined
  const ip = canonicalIp(address.address)
  return ip === undefined ? undefined : { address: ip, port: address.port }
}
