// Data from the client to a peer: a Send indication (RFC 8656 §10.2) or ChannelData on a bound
// channel (§12.5), relayed from the allocation's relay socket when the permission, the peer
// policy and the allocation's rate allow it.
import { addressKey, ipFamily, type TransportAddress } from '../ip.js'
import { findAttribute } from '../stun/attributes.js'
import { decodeChannelData } from '../stun/channel-data.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import type { Allocation } from './allocation.js'
import type { TurnContext } from './context.js'
import { drop } from './replies.js'
import { selfRefusal } from './request-checks.js'
import { countPacket } from './turn-stats.js'

export function handleSend (ctx: TurnContext, client: TransportAddress, message: StunMessage): TurnAction[] {
  const allocation = ctx.table.byClient.get(addressKey(client))
  if (allocation === undefined) return drop(ctx, 'no-allocation', `Send indication from ${addressKey(client)}, which has no allocation`)
  if (message.unknownRequired.length > 0) return drop(ctx, 'bad-indication', `Send indication with unknown comprehension-required attributes ${message.unknownRequired.join(', ')}`)
  const peer = findAttribute(message, 'XOR-PEER-ADDRESS')?.value
  const data = findAttribute(message, 'DATA')?.value
  if (peer === undefined || data === undefined) return drop(ctx, 'bad-indication', `Send indication without ${peer === undefined ? 'XOR-PEER-ADDRESS' : 'DATA'}`)
  const { relayFamily } = ctx.config
  if (ipFamily(peer.address) !== relayFamily) return drop(ctx, 'bad-indication', `Send indication to IPv${ipFamily(peer.address)} peer from an IPv${relayFamily} relay`)
  const refused = ctx.peerPolicy(peer.address)
  if (refused !== undefined) {
    // Data, not a request: counted and logged at debug like every other drop (no log flood).
    allocation.toPeer.dropped++
    return drop(ctx, 'forbidden-peer', `Send indication to ${addressKey(peer)}: ${refused}`)
  }
  return relayToPeer(ctx, allocation, peer, data)
}

/** ChannelData from the client of `allocation` (undefined: `client` has none). */
export function handleChannelData (ctx: TurnContext, allocation: Allocation | undefined, bytes: Uint8Array, client = allocation?.client): TurnAction[] {
  const decoded = decodeChannelData(bytes)
  if (!decoded.ok) return drop(ctx, 'malformed', `from ${clientName(client)}: ${decoded.reason}`)
  if (allocation === undefined) return drop(ctx, 'no-allocation', `ChannelData from ${clientName(client)}, which has no allocation`)
  const binding = allocation.channelByNumber(decoded.channel, ctx.clock.now())
  if (binding === undefined) {
    allocation.toPeer.dropped++
    return drop(ctx, 'no-channel', `ChannelData on unbound channel 0x${decoded.channel.toString(16)} from ${clientName(client)}`)
  }
  return relayToPeer(ctx, allocation, binding.peer, decoded.data, true)
}

const clientName = (client: TransportAddress | undefined): string => client === undefined ? 'an unknown client' : addressKey(client)

function relayToPeer (ctx: TurnContext, allocation: Allocation, peer: TransportAddress, data: Uint8Array, viaChannel = false): TurnAction[] {
  const now = ctx.clock.now()
  if (!viaChannel && !allocation.hasPermission(peer.address, now)) {
    allocation.toPeer.dropped++
    return drop(ctx, 'no-permission', `Send indication to ${addressKey(peer)}: no permission`)
  }
  // Permissions and channels name an IP; the port is checked here, per packet (a Set lookup).
  const intoItself = selfRefusal(ctx, peer)
  if (intoItself !== undefined) {
    allocation.toPeer.dropped++
    return drop(ctx, 'forbidden-peer', `to ${addressKey(peer)}: ${intoItself}`)
  }
  if (!allocation.toPeerBucket.take(data.length, now)) {
    allocation.toPeer.dropped++
    return drop(ctx, 'rate-limited', `from allocation ${allocation.id} to ${addressKey(peer)}`)
  }
  countPacket(allocation.toPeer, data.length)
  countPacket(ctx.counters.toPeer, data.length)
  return [{ type: 'send-to-peer', allocationId: allocation.id, to: peer, bytes: data }]
}
