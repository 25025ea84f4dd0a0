// What a supernode does with messages from other supernodes: DHT calls,
// forwarded envelopes for its hosts, and presence fetches.
import { isDeliverableBody, isPresenceQueryBody } from '../envelope-bodies.js'
import { PRESENCE_QUERY_MAX_AGE_MS } from '../constants.js'
import { verifyEnvelope } from './context.js'
import { localPresence } from './host-handlers.js'
import { dhtIdOf } from './peer-links.js'
import type { Link } from '../link.js'
import type { LinkMessage } from '../messages.js'
import type { SupernodeInternals } from './supernode.js'

export function handlePeerLink (sn: SupernodeInternals, link: Link, address: string): void {
  const { components, dht, router } = sn
  const from = { id: dhtIdOf(link.peer.deviceKey), address }

  link.onMessage = (message: LinkMessage) => {
    switch (message.t) {
      case 'dht':
        dht.handleRequest(from, message.request).then(
          response => { link.send({ t: 'dht-reply', id: message.id, response }) },
          (err: Error) => { link.send({ t: 'dht-reply', id: message.id, response: null, error: err.message.slice(0, 300) }) })
        return
      case 'forward': {
        // A forged envelope means the sending supernode is rogue or broken: drop the link.
        const opened = verifyEnvelope(components, message.envelope)
        if (!opened.ok) throw new Error(`forwarded envelope rejected: ${opened.reason}`)
        const body = opened.body
        if (!isDeliverableBody.Check(body) || ('to' in body && body.to !== message.to)) {
          throw new Error('forwarded envelope is not addressed to its recipient')
        }
        link.send({ t: 'forward-result', id: message.id, delivered: router.deliverLocal(message.to, message.envelope) })
        return
      }
      case 'presence-fetch': {
        const opened = verifyEnvelope(components, message.query)
        if (!opened.ok || !isPresenceQueryBody.Check(opened.body)) throw new Error('presence fetch without a valid signed query')
        if (Math.abs(components.clock.now() - opened.body.at) > PRESENCE_QUERY_MAX_AGE_MS || !opened.body.users.includes(message.user)) {
          throw new Error('presence fetch with a stale query or one that does not name the user')
        }
        link.send({ t: 'presence-fetch-result', id: message.id, presence: localPresence(sn, message.user, opened.from.user).slice(0, 16) })
        return
      }
      case 'peer-hello':
        return
      default:
        throw new Error(`supernodes may not send ${message.t}`)
    }
  }
}
