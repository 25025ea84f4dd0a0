// What a call's media session gets from our overlay host: the ICE servers (our
// supernode's TURN relay, with fresh credentials, and a local TCP bridge to it when
// UDP does not get there), a wait for our host to re-attach (a recovery's session
// after our supernode died), and the path a connected session settled on.
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { Host, TurnServerCredentials } from '../overlay/host.js'
import type { MediaIceServer, MediaSession } from '../media/media-session.js'
import { createRelayRouter, type TurnTcpBridge } from '../relay/index.js'
import type { CallPath } from './call-types.js'
import { PATH_SETTLE_POLL_MS, PATH_SETTLE_TIMEOUT_MS, REATTACH_POLL_MS, REATTACH_WAIT_MS } from './constants.js'

export interface CallIce {
  /** Resolves once our host is attached, or after REATTACH_WAIT_MS (it re-homes when its supernode died). */
  attached: () => Promise<void>
  /** Our relay's credentials from our supernode (one request over our link); undefined when it offers no relay. */
  credentials: () => Promise<TurnServerCredentials | undefined>
  /**
   * Our relay for one session, and the TCP bridge to it when UDP does not get there (the caller
   * closes it); with `credentials` already asked for, or asks for them.
   */
  servers: (credentials?: Promise<TurnServerCredentials | undefined>) => Promise<{ servers: MediaIceServer[], bridge?: TurnTcpBridge }>
  /** The path of a session that just connected: the selected candidate pair can show up a little after the state change. */
  settledPath: (session: MediaSession) => Promise<{ path: CallPath, relay?: string, pair?: string }>
}

export function createCallIce (options: { clock: Clock, log: Logger, host: Host, bindAddress?: string }): CallIce {
  const { clock, log, host } = options
  const router = createRelayRouter({ log, bindAddress: options.bindAddress })
  const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => clock.setTimeout(() => { resolve(undefined) }, ms)) }

  /** The relaying supernode: ours when our relay candidate was chosen, else the other side's. */
  const relayName = (ours: boolean): string => {
    const sn = host.supernode
    return ours && sn !== undefined ? `${sn.user ?? 'supernode'}@${sn.address}` : 'the other side\'s supernode'
  }

  return {
    async attached () {
      for (let waited = 0; host.supernode === undefined && waited < REATTACH_WAIT_MS; waited += REATTACH_POLL_MS) await sleep(REATTACH_POLL_MS)
    },
    credentials: async () => await host.turnCredentials().catch(() => undefined),
    async servers (credentials) {
      const turn = await (credentials ?? this.credentials())
      if (turn === undefined) return { servers: [] }
      const route = await router.route(turn)
      const bridge = route.via === 'tcp' ? route.bridge : undefined
      return { servers: [{ hostname: route.host, port: route.port, username: turn.username, password: turn.password, relayType: 'TurnUdp' }], bridge }
    },
    async settledPath (session) {
      let stats = session.stats()
      for (let waited = 0; stats.path === 'unknown' && waited < PATH_SETTLE_TIMEOUT_MS; waited += PATH_SETTLE_POLL_MS) {
        await sleep(PATH_SETTLE_POLL_MS)
        stats = session.stats()
      }
      const path = stats.path === 'relay' ? 'relay' : 'direct'
      return { path, relay: path === 'relay' ? relayName(stats.localCandidateType === 'relay') : undefined, pair: stats.selectedPair }
    }
  }
}
