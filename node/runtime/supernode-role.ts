// Running as a supernode: the overlay service, the login server heartbeat
// (whose dial-back proves we are reachable, and whose answer is the credential
// that admits us into the mesh), and finding mesh neighbours.
import { canonicalEncode } from '../../common/canonical.js'
import { toBase64url } from '../../common/base64url.js'
import { LoginApiError } from '../../common/login-client.js'
import { supernodeHeartbeatBody, type SupernodeHeartbeat } from '../../common/login-api.js'
import { createDialer, DIALBACK_TIMEOUT_MS } from '../../common/dialback.js'
import { systemClock } from '../../common/clock.js'
import { createBackoff } from '../../common/backoff.js'
import type { Sodium } from '../../common/sodium.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import type { Transport } from '../net/transport.js'
import type { Logger } from '../../common/logger.js'
import type { SupernodeRef } from '../overlay/messages.js'
import { createSupernode, type Supernode } from '../overlay/supernode/supernode.js'
import { supernodeRef } from '../overlay/supernode-cache.js'
import type { LoginSession } from './login-session.js'
import { SUPERNODE_DISCOVERY_MS, TURN_CREDENTIAL_TTL_SECONDS } from './defaults.js'
import { startRevocationPoller } from './revocation-poller.js'
import { randomBytes } from 'node:crypto'
import { parseHostPort, type HostPort } from '../../common/address.js'
import { issueTurnCredentials, startTurnServer, type RunningTurnServer } from '../relay/index.js'

export type HeartbeatOutcome = { listed: true } | { listed: false, unreachable: boolean, reason: string }

export interface SupernodeRole {
  supernode: Supernode
  /** The STUN/TURN relay on UDP at the same port as the overlay listener. */
  turn: RunningTurnServer
  /** One heartbeat now; the login server dials us back when it has not confirmed our address lately. */
  heartbeat: () => Promise<HeartbeatOutcome>
  /** Heartbeats and mesh discovery on their own timers; `onOutcome` sees every heartbeat result. */
  run: (onOutcome: (outcome: HeartbeatOutcome) => void) => void
  close: () => void
}

export interface SupernodeRoleOptions {
  sodium: Sodium
  log: Logger
  identity: LinkIdentity
  session: LoginSession
  transport: Transport
  user: string
  deviceKey: string
  advertise: string
  maxHosts?: number
  minSupernodes?: number
  maxLinksPerAddress?: number
  /** The IP heartbeats leave from (our advertised one when it is ours), so the login server's dial-back goes where we said. */
  sourceAddress?: string
  /** Supernodes we already know (host cache), to join the mesh through. */
  known: () => SupernodeRef[]
  /** The overlay listener's bound address: the relay listens on UDP at the same host and port. */
  listen: string
  /** The lab flag (`--relay-allow-private`): the relay may relay to loopback and private peers. */
  relayAllowPrivate?: boolean
}

export async function startSupernodeRole (options: SupernodeRoleOptions): Promise<SupernodeRole> {
  const { sodium, log, identity, session } = options
  const advertised = parseHostPort(options.advertise) as HostPort
  const secret = randomBytes(32)
  const turn = await startTurnServer({
    listen: options.listen,
    relayHost: advertised.host,
    realm: 'voxmesh',
    secret,
    // Credentials die with the host's registration: each names its host's grant (below).
    requireGrant: true,
    tcp: { port: 0 }, // TURN over TCP too (for hosts whose network drops UDP), on a port of its own: the overlay has ours on TCP.
    allowPrivatePeers: options.relayAllowPrivate === true, log: log.child({ component: 'turn' })
  })
  log.info({ turn: `${turn.address}:${turn.port}`, turnTcpPort: turn.tcpPort, allowPrivatePeers: options.relayAllowPrivate === true }, 'STUN/TURN relay listening')
  /** The open relay grant of each registered host that asked for credentials, by device key. */
  const grants = new Map<string, string>()
  const supernode = createSupernode({
    sodium,
    clock: systemClock,
    transport: options.transport,
    identity,
    issuerKey: session.issuerKey,
    log,
    dialer: createDialer(sodium, DIALBACK_TIMEOUT_MS),
    turn: {
      issue: (user, device) => {
        let grant = grants.get(device)
        if (grant === undefined) {
          grants.set(device, grant = randomBytes(16).toString('base64url'))
          turn.openGrant(grant)
        }
        const issued = issueTurnCredentials(secret, user, TURN_CREDENTIAL_TTL_SECONDS, Date.now(), grant)
        return { host: advertised.host, port: turn.port, ...(turn.tcpPort === undefined ? {} : { tcpPort: turn.tcpPort }), username: issued.username, password: issued.password, ttlSeconds: TURN_CREDENTIAL_TTL_SECONDS }
      },
      revoke: (_user, device) => {
        const grant = grants.get(device)
        if (grant === undefined) return 0
        grants.delete(device)
        return turn.revokeGrant(grant)
      },
      release: (user, relayed) => turn.releaseAllocations(user, relayed.map(({ ip, port }) => ({ address: ip, port })))
    }
  }, {
    address: options.advertise,
    user: options.user,
    deviceKey: options.deviceKey,
    maxHosts: options.maxHosts,
    minSupernodes: options.minSupernodes,
    linkCaps: options.maxLinksPerAddress === undefined ? undefined : { perAddress: options.maxLinksPerAddress }
  })

  // From the start, not from run(): a supernode serves hosts before its first heartbeat.
  const revocations = startRevocationPoller(session.client, log, list => { supernode.revoke(list) })

  let heartbeatSeconds = 30
  let timers: NodeJS.Timeout[] = []
  let closed = false

  const heartbeat = async (): Promise<HeartbeatOutcome> => {
    const stats = supernode.stats()
    const unsigned = { address: options.advertise, load: { hosts: stats.hosts, capacity: stats.capacity }, timestamp: Math.floor(Date.now() / 1000) }
    const signature = sodium.crypto_sign_detached(canonicalEncode(supernodeHeartbeatBody(unsigned, options.deviceKey)), identity.secretKey)
    const hb: SupernodeHeartbeat = { ...unsigned, certificate: { ...identity.certificate }, signature: toBase64url(signature) }
    try {
      const answer = await session.client.heartbeatSupernode(hb, { localAddress: options.sourceAddress })
      heartbeatSeconds = answer.heartbeatSeconds
      // Our admission into the mesh, renewed with every heartbeat.
      supernode.admit(answer.credential)
      return { listed: true }
    } catch (err) {
      const unreachable = err instanceof LoginApiError && err.code === 'unreachable'
      return { listed: false, unreachable, reason: (err as Error).message }
    }
  }

  /** Joins neighbours from the host cache and the login server's list that we are not linked to yet. */
  const discover = async (): Promise<void> => {
    const fromServer = await session.client.supernodes().then(r => r.supernodes, () => [])
    const candidates = [...fromServer.map(supernodeRef), ...options.known()].filter(s => s.deviceKey !== options.deviceKey)
    const linked = new Set(supernode.knownSupernodes(1000).map(s => s.deviceKey))
    const fresh = candidates.filter(s => !linked.has(s.deviceKey)).slice(0, 8)
    if (fresh.length > 0) await supernode.bootstrap(fresh)
  }

  return {
    supernode,
    turn,
    heartbeat,
    run (onOutcome) {
      // Not admitted yet (the login server was down or refused): try again sooner, with jitter.
      const admission = createBackoff({ initialMs: 2000, maxMs: heartbeatSeconds * 1000 })
      const beat = (): void => {
        if (closed) return
        void heartbeat().then(outcome => {
          if (!outcome.listed) log.warn({ reason: outcome.reason }, 'supernode heartbeat refused')
          onOutcome(outcome)
          if (supernode.admitted) admission.reset()
          const delayMs = supernode.admitted ? heartbeatSeconds * 1000 : admission.next()
          if (!closed) timers.push(setTimeout(beat, delayMs).unref())
        })
      }
      const meet = (): void => {
        if (closed) return
        void discover().finally(() => { if (!closed) timers.push(setTimeout(meet, SUPERNODE_DISCOVERY_MS).unref()) })
      }
      timers.push(setTimeout(beat, heartbeatSeconds * 1000).unref())
      meet()
    },
    close () {
      if (closed) return
      closed = true
      revocations.stop()
      for (const timer of timers) clearTimeout(timer)
      timers = []
      supernode.close()
      void turn.close()
    }
  }
}
