// The node's sockets: the WebSocket transport its links dial out on (from the
// advertised IP, so a dial-back goes where we said), and, with --listen, the
// listener that serves links once this node is a supernode.
import type { Sodium } from '../../common/sodium.js'
import type { Logger } from '../../common/logger.js'
import { UserError } from '../../common/user-error.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { createWsTransport } from '../net/ws-transport.js'
import type { Listener, Transport } from '../net/transport.js'
import { startSupernodeRole, type SupernodeRole } from './supernode-role.js'
import { sourceAddressFor } from './source-address.js'
import type { KnownSupernodes } from './known-supernodes.js'
import type { LoginSession } from './login-session.js'
import type { NodeOptions } from './node-options.js'

export interface NodeNetwork {
  transport: Transport
  listener: Listener | undefined
  /** Starts the supernode service on our listener (undefined, with the reason logged, when it cannot run). */
  startSupernodeRole: (parts: { log: Logger, identity: LinkIdentity, session: LoginSession, user: string, deviceKey: string, known: KnownSupernodes, options: NodeOptions }) => Promise<SupernodeRole | undefined>
}

export async function openNodeNetwork (init: {
  sodium: Sodium
  secretKey: Uint8Array
  advertise?: string
  listen?: string
  /** The supernode role now, if any: inbound links go to it, or are refused. */
  supernode: () => SupernodeRole | undefined
}): Promise<NodeNetwork> {
  const { sodium, advertise } = init
  const sourceAddress = sourceAddressFor(advertise)
  const transport = createWsTransport({ dialback: { sodium, secretKey: init.secretKey, advertisedAddress: () => advertise ?? '' }, localAddress: sourceAddress })
  let listener: Listener | undefined
  if (init.listen !== undefined) {
    listener = await transport.listen(init.listen, connection => {
      const role = init.supernode()
      if (role === undefined) connection.close('this node is not a supernode')
      else role.supernode.acceptConnection(connection)
    }).catch((err: Error) => { throw new UserError(err.message) })
  }
  return {
    transport,
    listener,
    async startSupernodeRole ({ log, identity, session, user, deviceKey, known, options }) {
      if (advertise === undefined || listener === undefined) return undefined
      return await startSupernodeRole({
        sodium, log, identity, session, transport, user, deviceKey, advertise, listen: listener.address, sourceAddress,
        maxHosts: options.maxHosts, minSupernodes: options.minSupernodes, maxLinksPerAddress: options.maxLinksPerAddress,
        known: () => known.cache.entries(), relayAllowPrivate: options.relayAllowPrivate
      }).catch((err: Error) => {
        log.warn({}, `cannot run as a supernode: ${err.message}`)
        return undefined
      })
    }
  }
}
