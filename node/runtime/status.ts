// The node's status, as `voxmesh status` and GET /v1/status show it.
import type { Host } from '../overlay/host.js'
import type { SupernodeRole } from './supernode-role.js'
import type { NodeStatus, Role } from './api.js'

export interface StatusSources {
  user: string
  deviceKey: string
  role: Role
  host: Host
  supernode: SupernodeRole | undefined
  uptimeMs: number
  loginServer: string
  listen: string | null
  advertise: string | null
}

/** The status of a node that is not up yet: offline, attached to nothing, and `state` saying what it waits for. */
export function startingStatus (s: { user: string, deviceKey: string, state: string, waitingForSignIn: boolean, uptimeMs: number, loginServer: string, listen: string | null, advertise: string | null }): NodeStatus {
  return {
    user: s.user,
    state: s.state,
    ...(s.waitingForSignIn ? { waitingForSignIn: true as const } : {}),
    role: 'host',
    supernode: null,
    presence: 'offline',
    peers: 0,
    hosts: 0,
    relay: null,
    uptimeSeconds: Math.round(s.uptimeMs / 1000),
    loginServer: s.loginServer,
    listen: s.listen,
    advertise: s.advertise,
    deviceKey: s.deviceKey
  }
}

export function nodeStatus (s: StatusSources): NodeStatus {
  const sn = s.supernode?.supernode.stats()
  const attached = s.host.supernode
  return {
    user: s.user,
    role: s.role,
    supernode: attached === undefined ? null : { user: attached.user, address: attached.address, deviceKey: attached.deviceKey },
    presence: s.host.status,
    peers: sn?.peerLinks ?? 0,
    hosts: sn?.hosts ?? 0,
    relay: relayCounters(s.supernode),
    uptimeSeconds: Math.round(s.uptimeMs / 1000),
    loginServer: s.loginServer,
    listen: s.listen,
    advertise: s.advertise,
    deviceKey: s.deviceKey
  }
}

/** The TURN relay's own counters (copies: the status is a snapshot). */
function relayCounters (role: SupernodeRole | undefined): NodeStatus['relay'] {
  const turn = role?.turn.stats()
  if (turn === undefined) return null
  return {
    allocations: turn.allocations,
    toPeer: { ...turn.toPeer },
    fromPeer: { ...turn.fromPeer },
    requests: turn.requests,
    errorResponses: { ...turn.errorResponses },
    dropped: { ...turn.dropped }
  }
}
