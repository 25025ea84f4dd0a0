// ChannelBind (RFC 8656 §11.2): binds a channel number to a peer (and installs or refreshes
// the peer's permission), so data can flow as ChannelData instead of Send/Data indications.
import { CHANNEL_MAX_ACCEPTED, CHANNEL_MIN, ERROR } from '../constants.js'
import { addressKey } from '../ip.js'
import { findAttribute } from '../stun/attributes.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import { Allocation } from './allocation.js'
import type { Reply, TurnContext } from './context.js'
import { errorReply, successReply } from './replies.js'
import { allocationFor, checkPeer } from './request-checks.js'
import type { Auth } from './turn-auth.js'

export function handleChannelBind (ctx: TurnContext, reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
  const allocation = allocationFor(ctx, reply, auth)
  if (!(allocation instanceof Allocation)) return allocation
  const channel = findAttribute(message, 'CHANNEL-NUMBER')?.value
  if (channel === undefined) return [errorReply(ctx, reply, ERROR.BAD_REQUEST, 'CHANNEL-NUMBER missing')]
  if (channel < CHANNEL_MIN || channel > CHANNEL_MAX_ACCEPTED) return [errorReply(ctx, reply, ERROR.BAD_REQUEST, `channel 0x${channel.toString(16)} is not in 0x4000..0x${CHANNEL_MAX_ACCEPTED.toString(16)}`)]
  const peer = findAttribute(message, 'XOR-PEER-ADDRESS')?.value
  if (peer === undefined) return [errorReply(ctx, reply, ERROR.BAD_REQUEST, 'XOR-PEER-ADDRESS missing')]
  const refused = checkPeer(ctx, reply, peer)
  if (refused !== undefined) return [refused]
  const now = ctx.clock.now()
  const { maxChannels, maxPermissions } = ctx.config
  const byNumber = allocation.channelByNumber(channel, now)
  if (byNumber !== undefined && addressKey(byNumber.peer) !== addressKey(peer)) {
    return [errorReply(ctx, reply, ERROR.BAD_REQUEST, `channel 0x${channel.toString(16)} is bound to another peer`)]
  }
  const byPeer = allocation.channelByPeer(peer, now)
  if (byPeer !== undefined && byPeer.channel !== channel) {
    return [errorReply(ctx, reply, ERROR.BAD_REQUEST, `the peer is bound to channel 0x${byPeer.channel.toString(16)}`)]
  }
  if (byNumber === undefined && allocation.channelCount(now) >= maxChannels) {
    return [errorReply(ctx, reply, ERROR.INSUFFICIENT_CAPACITY, `at most ${maxChannels} channels per allocation`)]
  }
  if (allocation.permissionCountWith([peer.address], now) > maxPermissions) {
    return [errorReply(ctx, reply, ERROR.INSUFFICIENT_CAPACITY, `at most ${maxPermissions} permissions per allocation`)]
  }
  allocation.bindChannel(channel, peer, now)
  allocation.installPermission(peer.address, now)
  return [successReply(ctx, reply, [])]
}
