// CreatePermission (RFC 8656 §9): lets the listed peer IPs send to the allocation's relayed address.
import { ERROR, MAX_PEERS_PER_CREATE_PERMISSION } from '../constants.js'
import { findAttributes } from '../stun/attributes.js'
import type { StunMessage } from '../stun/message.js'
import type { TurnAction } from './actions.js'
import { Allocation } from './allocation.js'
import type { Reply, TurnContext } from './context.js'
import { errorReply, successReply } from './replies.js'
import { allocationFor, checkPeer } from './request-checks.js'
import type { Auth } from './turn-auth.js'

export function handleCreatePermission (ctx: TurnContext, reply: Reply, message: StunMessage, auth: Auth): TurnAction[] {
  const allocation = allocationFor(ctx, reply, auth)
  if (!(allocation instanceof Allocation)) return allocation
  const peers = findAttributes(message, 'XOR-PEER-ADDRESS')
  if (peers.length === 0) return [errorReply(ctx, reply, ERROR.BAD_REQUEST, 'XOR-PEER-ADDRESS missing')]
  if (peers.length > MAX_PEERS_PER_CREATE_PERMISSION) return [errorReply(ctx, reply, ERROR.BAD_REQUEST, `more than ${MAX_PEERS_PER_CREATE_PERMISSION} XOR-PEER-ADDRESS`)]
  const ips: string[] = []
  for (const peer of peers) {
    const refused = checkPeer(ctx, reply, peer.value)
    if (refused !== undefined) return [refused]
    ips.push(peer.value.address)
  }
  const now = ctx.clock.now()
  const { maxPermissions } = ctx.config
  if (allocation.permissionCountWith(ips, now) > maxPermissions) {
    return [errorReply(ctx, reply, ERROR.INSUFFICIENT_CAPACITY, `at most ${maxPermissions} permissions per allocation`)]
  }
  for (const ip of ips) allocation.installPermission(ip, now)
  return [successReply(ctx, reply, [])]
}
