// What a host publishes about itself and keeps fresh: its signed presence (with
// a pre-signed "offline" twin), its locator (signed, and sealed for the DHT) and
// its contacts' lookup capabilities; all re-signed every republish interval.
import type { CanonicalValue } from '../../../common/canonical.js'
import type { RandomSource } from '../../../common/random.js'
import { sealEnvelope } from '../../../common/wire/signed-envelope.js'
import { signLocator } from '../../../common/wire/locator.js'
import { sealLocatorRecord } from '../../../common/wire/sealed-locator.js'
import type { Link } from '../link.js'
import { CAPABILITIES_PER_MESSAGE, type Envelope, type SealedLocatorRecord, type SupernodeRef } from '../messages.js'
import { RECORD_LIFETIME_MS, REPUBLISH_INTERVAL_MS, REPUBLISH_JITTER } from '../constants.js'
import type { HostState } from './state.js'
import type { HostComponents } from './types.js'

/** REPUBLISH_INTERVAL_MS ± REPUBLISH_JITTER, uniform: hosts that attached in one wave do not stay in step. */
export const republishDelay = (random: RandomSource): number =>
  Math.round(REPUBLISH_INTERVAL_MS * (1 - REPUBLISH_JITTER + 2 * REPUBLISH_JITTER * random()))

/**
 * The first republish after attaching comes anywhere within one interval, uniformly: hosts that
 * attached together (a supernode's death re-homes all of its hosts at once) are spread over the
 * interval at once, as if they had been attached for long, instead of re-signing in one wave
 * that the jitter alone widens only slowly.
 */
export const firstRepublishDelay = (random: RandomSource): number => Math.round(REPUBLISH_INTERVAL_MS * random())

export const seal = (components: HostComponents, body: Record<string, CanonicalValue>): Envelope =>
  sealEnvelope(components.sodium, components.identity, body)

/** Sequence numbers from the clock, strictly increasing even within one millisecond. */
export const nextSeq = (components: HostComponents, state: HostState): number =>
  (state.seq = Math.max(state.seq + 1, components.clock.now()))

export function presenceEnvelopes (components: HostComponents, state: HostState): { presence: Envelope, offline: Envelope } {
  const { user } = state.init
  const shown = state.status === 'invisible' ? 'offline' : state.status
  const expires = components.clock.now() + RECORD_LIFETIME_MS
  const presenceSeq = nextSeq(components, state)
  return {
    presence: seal(components, { type: 'presence', from: user, status: shown, seq: presenceSeq, expires }),
    // Pre-signed, higher seq: what the supernode publishes if this host vanishes.
    offline: seal(components, { type: 'presence', from: user, status: 'offline', seq: nextSeq(components, state), expires })
  }
}

/** Tells our supernode (if any) our current presence and who may see it. */
export function pushPresence (components: HostComponents, state: HostState): void {
  state.link?.send({ t: 'update-presence', audience: state.audience, ...presenceEnvelopes(components, state) })
}

/** A signed locator naming `target`, and its twin sealed for our contacts (what goes into the DHT). */
export function locatorFor (components: HostComponents, state: HostState, target: SupernodeRef): { locator: Envelope, lookupRecord: SealedLocatorRecord } {
  const { sodium, clock, identity } = components
  const content = { seq: nextSeq(components, state), expires: Math.floor((clock.now() + RECORD_LIFETIME_MS) / 1000) }
  const locator = signLocator(sodium, identity, { supernode: { address: target.address, deviceKey: target.deviceKey }, ...content })
  return { locator, lookupRecord: sealLocatorRecord(sodium, state.ownLookup, locator, { deviceKey: state.init.deviceKey, ...content }) }
}

/** Our contacts' capabilities, in pieces that fit a message; the last piece completes the set. */
export function sendCapabilities (state: HostState, target: Link): void {
  const { capabilities } = state
  for (let i = 0; i === 0 || i < capabilities.length; i += CAPABILITIES_PER_MESSAGE) {
    target.send({ t: 'contact-capabilities', capabilities: capabilities.slice(i, i + CAPABILITIES_PER_MESSAGE), last: i + CAPABILITIES_PER_MESSAGE >= capabilities.length })
  }
}

/** Re-signs locator and presence within an interval of attaching, and again after each jittered interval. */
export function scheduleRepublish (components: HostComponents, state: HostState): void {
  const republish = (): void => {
    const current = state.link
    if (current === undefined || state.supernode === undefined) return
    current.send({ t: 'refresh-locator', ...locatorFor(components, state, state.supernode) })
    current.send({ t: 'update-presence', audience: state.audience, ...presenceEnvelopes(components, state) })
    state.timers.republish = components.clock.setTimeout(republish, republishDelay(state.random))
  }
  state.timers.republish = components.clock.setTimeout(republish, firstRepublishDelay(state.random))
}
