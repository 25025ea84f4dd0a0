// What a supernode may send a host unasked: deliveries (verified end to end in
// deliveries.ts) and redirects. Anything else is a protocol error that closes the link.
import type { LinkMessage } from '../messages.js'
import { handleDelivery } from './deliveries.js'
import { route } from './requests.js'
import type { HostState } from './state.js'
import type { HostComponents } from './types.js'

export function handleSupernodeMessage (components: HostComponents, state: HostState, message: LinkMessage): void {
  const { sodium, clock, log, cache } = components
  switch (message.t) {
    case 'deliver':
      handleDelivery({
        sodium, clock, issuerKey: components.issuerKey, log, presence: state.presence, emit: state.emit, user: state.init.user, seen: state.seen,
        device: { deviceKey: state.init.deviceKey, secretKey: components.identity.secretKey },
        accepts: state.init.accepts ?? (() => true),
        reply: (to, body) => { route(components, state, to, body).catch(() => {}) }
      }, message.envelope)
      return
    case 'redirect':
      cache.add(message.supernodes, clock.now())
      log.info({ reason: message.reason }, 'supernode asked us to move')
      state.link?.close(`redirected: ${message.reason}`)
      return
    default:
      throw new Error(`supernodes do not send ${message.t} to hosts`)
  }
}
