// Attaching to a supernode: dial the best candidates of the supernode cache in
// parallel, register with the first to answer (if the login server admitted it),
// make it our home; when it goes away, attach again (re-home).
import type { TimerHandle } from '../../../common/clock.js'
import { verifySupernodeCredential } from '../../../common/supernode-credential.js'
import { openLink, type Link } from '../link.js'
import type { LinkMessage, SupernodeRef } from '../messages.js'
import { DIAL_TIMEOUT_MS, PARALLEL_DIALS } from '../constants.js'
import { startKeepalive } from './keepalive.js'
import { queryPresence } from './presence.js'
import { locatorFor, presenceEnvelopes, scheduleRepublish, sendCapabilities } from './records.js'
import { handleSupernodeMessage } from './supernode-messages.js'
import type { HostState } from './state.js'
import type { HostComponents } from './types.js'

/**
 * The supernode's answer, and what it sent right behind it: those messages can come in the same
 * read as 'registered', before the link is adopted, and are handled once it is.
 */
interface Registration { hostCache: SupernodeRef[], capacityNeeded: boolean, early: LinkMessage[], closedEarly?: string }

/** Dials one candidate and runs the link handshake; the round trip ranks it in the supernode cache. */
async function connect (components: HostComponents, state: HostState, candidate: SupernodeRef): Promise<Link> {
  const { clock, cache } = components
  const started = clock.now()
  const connection = await components.transport.dial(candidate.address, DIAL_TIMEOUT_MS)
  // A supernode's own user attaches to its own supernode: the one peer with our device key we accept.
  const candidateLink = await openLink(components, connection, 'initiator', candidate.deviceKey, candidate.deviceKey === state.init.deviceKey)
  cache.succeeded(candidate.deviceKey, clock.now() - started, clock.now())
  return candidateLink
}

/** Registers over a fresh link; resolves with the supernode's answer, rejects when it redirects or fails. */
function register (components: HostComponents, state: HostState, candidateLink: Link, candidate: SupernodeRef): Promise<Registration> {
  const { sodium, clock, cache } = components
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => { candidateLink.close('no answer to registration'); reject(new Error('no answer to registration')) }, DIAL_TIMEOUT_MS * 2)
    candidateLink.onClose = reason => { clock.clearTimeout(timer); reject(new Error(reason)) }
    candidateLink.onMessage = message => {
      clock.clearTimeout(timer)
      if (message.t === 'registered') {
        // Only a supernode the login server admitted at the address we dialed: anyone can
        // run the software and hand out host caches, but only admitted ones hold credentials.
        const admitted = verifySupernodeCredential(sodium, message.credential, {
          issuerKey: components.issuerKey, nowSeconds: Math.floor(clock.now() / 1000), expect: { deviceKey: candidate.deviceKey, address: candidate.address }
        })
        if (admitted.ok) {
          const registration: Registration = { hostCache: message.hostCache, capacityNeeded: message.capacityNeeded, early: [] }
          candidateLink.onMessage = next => { registration.early.push(next) }
          candidateLink.onClose = reason => { registration.closedEarly = reason }
          resolve(registration)
          return
        }
        candidateLink.close(`not an admitted supernode: ${admitted.message}`)
        reject(new Error(`not an admitted supernode: ${admitted.message}`))
        return
      }
      if (message.t === 'redirect') cache.add(message.supernodes, clock.now())
      const reason = message.t === 'redirect' ? `redirected: ${message.reason}` : `expected registered, got ${message.t}`
      candidateLink.close(reason)
      reject(new Error(reason))
    }
    candidateLink.send({
      t: 'register', ...locatorFor(components, state, candidate), reachToken: state.reachToken, audience: state.audience, ...presenceEnvelopes(components, state)
    })
  })
}

/** Attaches to the best supernode that takes us; when none does, tries again after a backoff. */
export async function attach (components: HostComponents, state: HostState): Promise<void> {
  const { clock, cache, log } = components
  if (state.attaching || state.closed || state.link !== undefined) return
  state.attaching = true
  const started = clock.now()
  const tried = new Set(state.init.exclude?.() ?? [])
  let lastError = 'no supernode known (empty host cache)'
  try {
    // Rounds of PARALLEL_DIALS connection attempts; the first handshake to
    // finish wins and only it is registered with (registering with several
    // would leave stale registrations behind).
    for (;;) {
      const candidates = cache.candidates(PARALLEL_DIALS, clock.now(), tried)
      if (candidates.length === 0) break
      for (const c of candidates) tried.add(c.deviceKey)
      const connected = new Set<string>()
      const attempts = candidates.map(async c => await connect(components, state, c).then(candidateLink => {
        connected.add(c.deviceKey)
        return candidateLink
      }, (err: Error) => {
        cache.failed(c.deviceKey, clock.now())
        lastError = `${c.address}: ${err.message}`
        throw err
      }))
      const winner = await Promise.any(attempts).catch(() => undefined)
      void Promise.allSettled(attempts).then(results => {
        for (const r of results) if (r.status === 'fulfilled' && r.value !== winner) r.value.close('another supernode answered first')
      })
      if (winner === undefined) continue
      const candidate = candidates.find(c => c.deviceKey === winner.peer.deviceKey) as SupernodeRef
      const registration = await register(components, state, winner, candidate).catch((err: Error) => {
        lastError = `${candidate.address}: ${err.message}`
        return undefined
      })
      if (registration === undefined) {
        // The fastest answer refused us (full, or not a supernode at all): the ones it beat
        // are still worth a try, and it goes to the back of the cache.
        cache.failed(candidate.deviceKey, clock.now())
        // (Only those that did connect: one still dialing is not dialed twice.)
        for (const c of candidates) if (c.deviceKey !== candidate.deviceKey && connected.has(c.deviceKey)) tried.delete(c.deviceKey)
        continue
      }
      if (state.closed) { winner.close('host closed'); return }
      adopt(components, state, winner, { user: winner.peer.user, deviceKey: candidate.deviceKey, address: candidate.address }, registration)
      state.emit({ event: 'attached', supernode: state.supernode as SupernodeRef, setupMs: clock.now() - started })
      return
    }
    const retryInMs = state.backoff.next()
    log.info({ retryInMs }, `no supernode accepted this host (${lastError}); retrying`)
    state.emit({ event: 'no-supernode', retryInMs, reason: lastError })
    state.timers.retry = clock.setTimeout(() => { void attach(components, state) }, retryInMs)
  } finally {
    state.attaching = false
  }
}

/** Makes the registered supernode our home: keepalive, republishing, and re-homing when its link closes. */
function adopt (components: HostComponents, state: HostState, newLink: Link, ref: SupernodeRef, registration: Registration): void {
  const { clock, cache, log } = components
  state.link = newLink
  state.supernode = ref
  state.backoff.reset()
  cache.add(registration.hostCache, clock.now())
  state.capacityNeeded = registration.capacityNeeded
  state.emit({ event: 'capacity', needed: state.capacityNeeded })
  log.info({ supernode: ref.address, user: ref.user }, 'attached to supernode')
  newLink.onMessage = message => { handleSupernodeMessage(components, state, message) }
  newLink.onClose = reason => {
    if (state.link !== newLink || state.closed) return
    state.link = undefined
    state.supernode = undefined
    clock.clearTimeout(state.timers.ping as TimerHandle)
    clock.clearTimeout(state.timers.beat as TimerHandle)
    clock.clearTimeout(state.timers.republish as TimerHandle)
    log.info({ supernode: ref.address, reason }, 'lost supernode; re-homing')
    state.emit({ event: 'detached', supernode: ref, reason })
    if (!state.rehoming) cache.failed(ref.deviceKey, clock.now())
    state.rehoming = false
    void attach(components, state)
  }
  sendCapabilities(state, newLink)
  startKeepalive(components, state)
  scheduleRepublish(components, state)
  queryPresence(components, state, state.audience)
  for (const message of registration.early.splice(0)) handleSupernodeMessage(components, state, message)
  // Closed before it was adopted: re-home at once rather than keep a dead link.
  if (registration.closedEarly !== undefined) newLink.onClose(registration.closedEarly)
}
