// Calls on testnet hosts: the real call signaling over the real overlay, with
// a stand-in media layer that "connects" both ends once the caller applied the
// callee's answer (media itself is node-datachannel's, tested on its own).
// Call ids come from the testnet's seed, so a seeded run replays exactly.
import { seededRandomBytes } from '../../common/random.js'
import { silentLogger } from '../../common/logger.js'
import { isCallBody } from '../calls/call-bodies.js'
import { createCallSignaling, type CallEvent, type CallSignaling, type MediaPort } from '../calls/signaling/signaling.js'
import type { Testnet, TestnetHost } from './testnet.js'

export interface TestnetPhone {
  host: TestnetHost
  calls: CallSignaling
  /** Every call event, with the simulated time it happened at. */
  events: Array<CallEvent & { at: number }>
}

/** Call signaling on `host`; `peers` are the phones that see media come up with it. */
/** `isService`: the users whose invites may carry a phone caller's number (the PSTN gateway's `pstn`). */
export function addTestnetPhone (net: Testnet, host: TestnetHost, peers: () => TestnetPhone[], seed = 0, isService: (user: string) => boolean = () => false): TestnetPhone {
  const port: MediaPort = {
    offer: async call => `v=0 offer ${call.id}`,
    answer: async call => `v=0 answer ${call.id}`,
    accept: call => {
      for (const phone of [self, ...peers()]) phone.calls.mediaConnected(call.id, { path: 'direct' })
    }
  }
  const self: TestnetPhone = {
    host,
    events: [],
    calls: createCallSignaling(
      {
        sodium: net.sodium,
        clock: net.clock,
        log: silentLogger,
        media: port,
        send: (to, body) => host.host.send(to, body),
        deviceSecretKey: host.identity.secretKey,
        randomBytes: seededRandomBytes(`calls:${host.user}:${seed}`)
      },
      {
        user: host.user,
        deviceKey: host.identity.deviceKey,
        mayCall: from => host.contacts?.has(from) ?? true,
        isService,
        onEvent: event => { self.events.push({ ...event, at: net.clock.now() }) }
      }
    )
  }
  host.onEvent = event => { if (event.event === 'application-body' && isCallBody.Check(event.body)) self.calls.handleSignal(event.from, event.body) }
  return self
}
