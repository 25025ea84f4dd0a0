// What the node does with its overlay host's events: most become node events
// as they are; attachment facts feed the promotion controller and the
// supernode cache; application bodies go to the application that owns them;
// texts, receipts and contacts coming online go to messaging (history, outbox).
import type { HostEvent } from '../overlay/host.js'
import type { ApplicationBodies } from './application-bodies.js'
import type { ContactBook } from './contact-book.js'
import type { KnownSupernodes } from './known-supernodes.js'
import type { Messaging } from './messaging.js'
import type { PromotionController } from './promotion-controller.js'
import type { NodeEvent } from './api.js'

export function routeHostEvents (parts: {
  emit: (event: NodeEvent) => void
  known: KnownSupernodes
  contacts: ContactBook
  bodies: ApplicationBodies
  promotion: () => PromotionController | undefined
  messaging: Messaging
}): (event: HostEvent) => void {
  const { emit, known } = parts
  return event => {
    switch (event.event) {
      case 'attached':
        parts.promotion()?.setNetworkFacts({ networkEmpty: false })
        known.save()
        emit({ event: 'attached', supernode: { user: event.supernode.user, address: event.supernode.address }, setupMs: event.setupMs })
        parts.contacts.attached()
        parts.messaging.attached()
        return
      case 'detached':
        emit({ event: 'detached', supernode: { user: event.supernode.user, address: event.supernode.address }, reason: event.reason })
        return
      case 'no-supernode':
        parts.promotion()?.setNetworkFacts({ networkEmpty: true })
        // Our cache is exhausted: ask the login server for its current list before the next attempt.
        known.refresh()
        return
      case 'capacity':
        parts.promotion()?.setNetworkFacts({ capacityNeeded: event.needed })
        return
      case 'contact-accepted':
        void parts.contacts.refresh().catch(() => {})
        return
      case 'application-body':
        parts.bodies.deliver(event.from, event.body)
        return
      case 'message':
        // Stored first; shown (emitted) by messaging only the first time this id arrives.
        parts.messaging.received(event)
        return
      case 'receipt':
        emit(event)
        parts.messaging.receipt(event.from, event.ref)
        return
      case 'presence':
        parts.contacts.statusChanged(event.user)
        emit(event)
        if (event.status !== 'offline') parts.messaging.peerOnline(event.user)
        return
      default:
        emit(event)
    }
  }
}
