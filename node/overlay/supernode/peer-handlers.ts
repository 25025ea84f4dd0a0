// What a supernode does with messages from other supernodes: DHT calls,
// forwarded envelopes for its hosts, and presence fetches.
import { isDeliverableBody, isPresenceQueryBody } from '../envelope-bodies.js'
import { PRESENCE_QUERY_MAX_AGE_MS } from '../constants.js'
import { parseRequest, type DhtPeer } from '../dht/messages.js'
import { verifyEnvelope } from './context.js'
import { checkSealedRecord } from '../../../common/wire/sealed-locator.js'
import { localPresence } from './host-presence.js'
import type { Link } from '../link.js'
import type { LinkMessage } from '../messages.js'
import type { SupernodeInternals } from './supernode.js'

export function handlePeerLink (sn: SupernodeInternals, link: Link, from: DhtPeer): void {
  const { components, router, peers } = sn

  link.onMessage = (message: LinkMessage) => {
    // A renewed admission first: it may arrive just after the old one ran out.
    if (message.t === 'peer-hello') { peers.renewed(link.peer.deviceKey, message); return }
    // A peer whose admission ran out (and was not renewed) is no longer a supernode.
    if (!peers.isAdmitted(link.peer.deviceKey)) throw new Error('the peer\'s supernode credential expired')
    switch (message.t) {
      case 'dht': {
        // A malformed request or a forged record means the peer is rogue or broken: drop the link
        // (thrown here, so the link logs the reason). Records refused for time alone get a normal answer.
        const request = parseRequest(message.request)
        if (request.t === 'store') {
          const check = checkSealedRecord(components.sodium, request.record, components.clock.now())
          if (!check.ok && check.forged) throw new Error(`DHT store of a forged record: ${check.reason}`)
        }
        sn.dht().handleRequest(from, request).then(
          response => { link.send({ t: 'dht-reply', id: message.id, response }) },
          (err: Error) => { link.send({ t: 'dht-reply', id: message.id, response: null, error: err.message.slice(0, 300) }) })
        return
      }
      case 'forward': {
        // A forged envelope means the sending supernode is rogue or broken: drop the link.
        const opened = verifyEnvelope(components, message.envelope)
        if (!opened.ok) throw new Error(`forwarded envelope rejected: ${opened.reason}`)
        const body = opened.body
        if (!isDeliverableBody.Check(body) || ('to' in body && body.to !== message.to)) {
          throw new Error('forwarded envelope is not addressed to its recipient')
        }
        // Only a holder of the user's capability knows the token: a supernode cannot probe who is here.
        link.send({ t: 'forward-result', id: message.id, delivered: router.deliverLocal(message.to, message.envelope, message.token) })
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
      default:
        throw new Error(`supernodes may not send ${message.t}`)
    }
  }
}
