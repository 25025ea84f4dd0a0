// A connection our listener accepted: bounded by the inbound link caps, then
// told apart by its first message (a host registers, a supernode says hello).
import type { Connection } from '../../net/transport.js'
import { openLink } from '../link.js'
import { handleHostLink } from './host-handlers.js'
import type { InboundLinks } from './inbound-links.js'
import type { SupernodeInternals } from './supernode.js'

export function acceptConnection (sn: SupernodeInternals, inbound: InboundLinks, connection: Connection): void {
  const { components, init, peers } = sn
  if (sn.isClosed()) { connection.close('supernode is closed'); return }
  if (sn.credential() === undefined) { connection.close('this supernode is not admitted yet'); return }
  const admitted = inbound.admit(connection)
  if (admitted === undefined) return
  // Self is allowed: our own user's host attaches here (only we hold our key).
  openLink(components, admitted.connection, 'responder', undefined, true).then(link => {
    if (!admitted.identified(link)) return
    const firstMessage = inbound.expectFirstMessage(link)
    // The first message says what the peer is: a host registers, a supernode says hello.
    link.onMessage = message => {
      firstMessage.said()
      // Revoked between its handshake and its first message: not in any list revoke() closes.
      const refused = components.refusePeer?.(link.peer.certificateBody)
      if (refused !== undefined) throw new Error(`peer certificate refused: ${refused}`)
      if (message.t === 'register') {
        inbound.closeWhenSilent(link)
        handleHostLink(sn, link, message)
      } else if (message.t === 'peer-hello' && link.peer.deviceKey !== init.deviceKey) peers.adopt(link, message)
      else throw new Error(`first message must be register or peer-hello (not from ourselves), got ${message.t}`) // logged, link closed
    }
  }, (err: Error) => { components.log.debug({ remote: connection.remoteAddress }, `inbound link failed: ${err.message}`) })
}
