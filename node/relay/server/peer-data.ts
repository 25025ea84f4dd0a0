// Data from a peer to the client: a datagram on an allocation's relay socket goes to the client
// as ChannelData when the peer has a channel, as a Data indication (RFC 8656 §10.3) otherwise.
import { METHOD } from '../constants.js'
import { addressKey, type TransportAddress } from '../ip.js'
import { encodeChannelData } from '../stun/channel-data.js'
import { encodeStunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import type { TurnContext } from './context.js'
import { drop } from './replies.js'
import { normalizeAddress } from './request-checks.js'
import { countPacket } from './turn-stats.js'

/** The largest peer datagram relayed: room is left for the header and attributes of a Data indication. */
const MAX_RELAYED_BYTES = 0xffff - 64

export function handlePeerData (ctx: TurnContext, allocationId: string, from: TransportAddress, bytes: Uint8Array): TurnAction[] {
  const allocation = ctx.table.byId.get(allocationId)
  if (allocation === undefined) return drop(ctx, 'no-allocation', `datagram on relay ${allocationId}, which has no allocation`)
  const now = ctx.clock.now()
  // The hot path: a peer on a bound channel arrives with the canonical address its binding is
  // keyed by (dgram prints IPs canonically), so only other peers' addresses are re-parsed.
  let binding = allocation.channelByPeer(from, now)
  const peer = binding !== undefined ? from : normalizeAddress(from)
  if (peer === undefined) return drop(ctx, 'malformed', `invalid peer address ${JSON.stringify(from)}`)
  if (binding === undefined && peer !== from) binding = allocation.channelByPeer(peer, now)
  if (!allocation.hasPermission(peer.address, now)) {
    allocation.fromPeer.dropped++
    return drop(ctx, 'no-permission', `from ${addressKey(peer)} to relay ${addressKey(allocation.relay)}: no permission`)
  }
  if (bytes.length > MAX_RELAYED_BYTES) {
    allocation.fromPeer.dropped++
    return drop(ctx, 'malformed', `${bytes.length}-byte datagram from ${addressKey(peer)} is too large to relay`)
  }
  if (!allocation.fromPeerBucket.take(bytes.length, now)) {
    allocation.fromPeer.dropped++
    return drop(ctx, 'rate-limited', `from ${addressKey(peer)} to allocation ${allocation.id}`)
  }
  const out = binding !== undefined
    ? encodeChannelData(binding.channel, bytes)
    : encodeStunMessage({
      method: METHOD.DATA,
      class: 'indication',
      transactionId: ctx.random(12),
      attributes: [{ type: 'XOR-PEER-ADDRESS', value: peer }, { type: 'DATA', value: bytes }]
    })
  countPacket(allocation.fromPeer, bytes.length)
  countPacket(ctx.counters.fromPeer, bytes.length)
  return [{ type: 'send-to-client', to: allocation.client, bytes: out }]
}
