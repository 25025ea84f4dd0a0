// A host: attaches to the best supernode it knows (parallel attempts; the
// first to register wins), keeps the link alive, re-homes when its supernode
// dies, and carries this user's presence, messages and contact notices.
// Sans-IO: the network comes in through Transport, time through Clock.
import { randomBytes } from 'node:crypto'
import type { Sodium } from '../../common/sodium.js'
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { CanonicalValue } from '../../common/canonical.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { sealEnvelope } from '../../common/wire/signed-envelope.js'
import { signLocator } from '../../common/wire/locator.js'
import { sealLocatorRecord } from '../../common/wire/sealed-locator.js'
import { openOwnLookup, reachTokenOf, type OwnLookup } from '../../common/lookup-keys.js'
import { createBackoff } from '../../common/backoff.js'
import type { Transport } from '../net/transport.js'
import { verifySupernodeCredential } from '../../common/supernode-credential.js'
import { openLink, type Link } from './link.js'
import type { Logger } from '../../common/logger.js'
import type { PresenceStatus, UserStatus } from '../../common/presence.js'
import {
  CAPABILITIES_PER_MESSAGE, MAX_RELEASED_RELAYS, type Envelope, type LinkMessage, type LookupCapability, type SealedLocatorRecord, type SupernodeRef
} from './messages.js'
import type { HostCache } from './host-cache.js'
import { createPresenceBook } from './presence-book.js'
import { handleDelivery } from './host-deliveries.js'
import type { ApplicationBody } from './envelope-bodies.js'
import { createSeenOneShots } from './seen-one-shots.js'
import { ONE_SHOT_TYPES } from './envelope-bodies.js'
import { recipientDevices, sealText } from './sealed-text.js'
import {
  DIAL_TIMEOUT_MS, PARALLEL_DIALS, PING_INTERVAL_MS, PRESENCE_EXPIRY_CHECK_MS, PING_TIMEOUT_MS, RECONNECT_BACKOFF, RECORD_LIFETIME_MS, REPUBLISH_INTERVAL_MS,
  REPUBLISH_JITTER
} from './constants.js'

export type { UserStatus } from '../../common/presence.js'

export type HostEvent =
  | { event: 'attached', supernode: SupernodeRef, setupMs: number }
  | { event: 'detached', supernode: SupernodeRef, reason: string }
  | { event: 'no-supernode', retryInMs: number, reason: string }
  | { event: 'presence', user: string, status: PresenceStatus }
  | { event: 'message', from: string, id: string, text: string, sentAt: number }
  | { event: 'receipt', from: string, ref: string }
  | { event: 'contact-accepted', from: string }
  | { event: 'capacity', needed: boolean }
  /** A body of a type the overlay does not interpret (call signaling): signed by `from`, addressed to us. */
  | { event: 'application-body', from: { user: string, deviceKey: string }, body: ApplicationBody }

export interface HostComponents {
  sodium: Sodium
  clock: Clock
  transport: Transport
  /** Mutable: the node swaps in renewed certificates. */
  identity: LinkIdentity
  issuerKey: Uint8Array
  log: Logger
  cache: HostCache
}

export interface HostInit {
  user: string
  deviceKey: string
  status?: UserStatus
  /** Who may see this user's presence: authorized contacts, minus blocked users. */
  audience?: string[]
  /** Our own lookup key seed and seal key, from the login server: our locators are published sealed with them. */
  lookup: OwnLookup
  /** Our contacts' lookup capabilities, from the login server: our supernode finds them (and only them) with these. */
  capabilities?: LookupCapability[]
  onEvent?: (event: HostEvent) => void
  /** Supernodes never to register with (e.g. ourselves while demoting). */
  exclude?: () => Set<string>
  /** Whether to act on a delivery from `from` (the node drops blocked users' and non-contacts' presence). */
  accepts?: (from: string, type: string) => boolean
}

export type SendResult = { delivered: number }

export interface TurnServerCredentials { host: string, port: number, username: string, password: string, ttlSeconds: number }

export interface Host {
  readonly supernode: SupernodeRef | undefined
  start: () => void
  setStatus: (status: UserStatus) => void
  readonly status: UserStatus
  /** Who may see our presence, and (when given) the capabilities our supernode finds our contacts with. */
  setAudience: (users: string[], capabilities?: LookupCapability[]) => void
  /** Sends a signed envelope to every online device of `to`. */
  send: (to: string, body: Record<string, string | number | boolean>) => Promise<SendResult>
  /** `id` (default: random) lets the caller watch for the receipt before the send resolves: receipts can outrun the route result. */
  sendText: (to: string, text: string, id?: string) => Promise<SendResult & { id: string }>
  /** Asks for the presence of these users; answers arrive as 'presence' events. */
  queryPresence: (users: string[]) => void
  presenceOf: (user: string) => PresenceStatus
  /** Asks our supernode to dial back `address` (promotion check). */
  checkReachable: (address: string) => Promise<{ ok: boolean, reason: string }>
  /** TURN credentials on our supernode's relay, or undefined when it runs none (or we are not attached). */
  turnCredentials: () => Promise<TurnServerCredentials | undefined>
  /** Tells our supernode the TURN allocations at these relayed addresses are no longer needed. */
  releaseTurn: (relayed: Array<{ ip: string, port: number }>) => void
  /** Leaves the current supernode and attaches to the best one again (e.g. ourselves, just promoted). */
  rehome: (reason: string) => void
  close: () => void
}

export const newMessageId = (): string => randomBytes(12).toString('base64url')

/** REPUBLISH_INTERVAL_MS ± REPUBLISH_JITTER, uniform: hosts that attached in one wave do not republish in one. */
const republishDelay = (): number => Math.round(REPUBLISH_INTERVAL_MS * (1 - REPUBLISH_JITTER + 2 * REPUBLISH_JITTER * Math.random()))

export function createHost (components: HostComponents, init: HostInit): Host {
  const { sodium, clock, log, cache } = components
  const emit = init.onEvent ?? (() => {})
  const presence = createPresenceBook()
  const seen = createSeenOneShots()
  const backoff = createBackoff(RECONNECT_BACKOFF)
  let status: UserStatus = init.status ?? 'online'
  let audience = init.audience ?? []
  let capabilities = init.capabilities ?? []
  const ownLookup = openOwnLookup(sodium, init.lookup)
  const reachToken = reachTokenOf(init.lookup.sealKey)
  let link: Link | undefined
  let supernode: SupernodeRef | undefined
  let attaching = false
  let closed = false
  let seq = 0
  let retryTimer: TimerHandle | undefined
  let pingTimer: TimerHandle | undefined
  let republishTimer: TimerHandle | undefined
  let expiryTimer: TimerHandle | undefined
  /** Set by rehome(): the next detach is our choice, not the supernode's failure. */
  let rehoming = false
  /** What our supernode last said about the mesh's need for supernodes. */
  let capacityNeeded = false
  let lastPong = 0

  const seal = (body: Record<string, CanonicalValue>): Envelope => sealEnvelope(sodium, components.identity, body)
  /** Sequence numbers from the clock, strictly increasing even within one millisecond. */
  const nextSeq = (): number => (seq = Math.max(seq + 1, clock.now()))
  const presenceEnvelopes = (): { presence: Envelope, offline: Envelope } => {
    const shown = status === 'invisible' ? 'offline' : status
    const expires = clock.now() + RECORD_LIFETIME_MS
    const presenceSeq = nextSeq()
    return {
      presence: seal({ type: 'presence', from: init.user, status: shown, seq: presenceSeq, expires }),
      // Pre-signed, higher seq: what the supernode publishes if this host vanishes.
      offline: seal({ type: 'presence', from: init.user, status: 'offline', seq: nextSeq(), expires })
    }
  }
  /** A signed locator naming `target`, and its twin sealed for our contacts (what goes into the DHT). */
  const locatorFor = (target: SupernodeRef): { locator: Envelope, lookupRecord: SealedLocatorRecord } => {
    const content = { seq: nextSeq(), expires: Math.floor((clock.now() + RECORD_LIFETIME_MS) / 1000) }
    const locator = signLocator(sodium, components.identity, { supernode: { address: target.address, deviceKey: target.deviceKey }, ...content })
    return { locator, lookupRecord: sealLocatorRecord(sodium, ownLookup, locator, { deviceKey: init.deviceKey, ...content }) }
  }
  /** Our contacts' capabilities, in pieces that fit a message; the last piece completes the set. */
  const sendCapabilities = (target: Link): void => {
    for (let i = 0; i === 0 || i < capabilities.length; i += CAPABILITIES_PER_MESSAGE) {
      target.send({ t: 'contact-capabilities', capabilities: capabilities.slice(i, i + CAPABILITIES_PER_MESSAGE), last: i + CAPABILITIES_PER_MESSAGE >= capabilities.length })
    }
  }

  /** Dials one candidate and runs the link handshake; the round trip ranks it in the host cache. */
  const connect = async (candidate: SupernodeRef): Promise<Link> => {
    const started = clock.now()
    const connection = await components.transport.dial(candidate.address, DIAL_TIMEOUT_MS)
    // A supernode's own user attaches to its own supernode: the one peer with our device key we accept.
    const candidateLink = await openLink(components, connection, 'initiator', candidate.deviceKey, candidate.deviceKey === init.deviceKey)
    cache.succeeded(candidate.deviceKey, clock.now() - started, clock.now())
    return candidateLink
  }

  /** Registers over a fresh link; resolves with the supernode's answer, rejects when it redirects or fails. */
  const register = (candidateLink: Link, candidate: SupernodeRef): Promise<{ hostCache: SupernodeRef[], capacityNeeded: boolean }> =>
    new Promise((resolve, reject) => {
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
            resolve({ hostCache: message.hostCache, capacityNeeded: message.capacityNeeded })
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
      candidateLink.send({ t: 'register', ...locatorFor(candidate), reachToken, audience, ...presenceEnvelopes() })
    })

  const attach = async (): Promise<void> => {
    if (attaching || closed || link !== undefined) return
    attaching = true
    const started = clock.now()
    const tried = new Set(init.exclude?.() ?? [])
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
        const attempts = candidates.map(async c => await connect(c).then(candidateLink => {
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
        const registration = await register(winner, candidate).catch((err: Error) => {
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
        if (closed) { winner.close('host closed'); return }
        adopt(winner, { user: winner.peer.user, deviceKey: candidate.deviceKey, address: candidate.address }, registration)
        emit({ event: 'attached', supernode: supernode as SupernodeRef, setupMs: clock.now() - started })
        return
      }
      const retryInMs = backoff.next()
      log.info({ retryInMs }, `no supernode accepted this host (${lastError}); retrying`)
      emit({ event: 'no-supernode', retryInMs, reason: lastError })
      retryTimer = clock.setTimeout(() => { void attach() }, retryInMs)
    } finally {
      attaching = false
    }
  }

  const adopt = (newLink: Link, ref: SupernodeRef, registration: { hostCache: SupernodeRef[], capacityNeeded: boolean }): void => {
    link = newLink
    supernode = ref
    backoff.reset()
    cache.add(registration.hostCache, clock.now())
    capacityNeeded = registration.capacityNeeded
    emit({ event: 'capacity', needed: capacityNeeded })
    log.info({ supernode: ref.address, user: ref.user }, 'attached to supernode')
    lastPong = clock.now()
    newLink.onMessage = onMessage
    newLink.onClose = reason => {
      if (link !== newLink || closed) return
      link = undefined
      supernode = undefined
      clock.clearTimeout(pingTimer as TimerHandle)
      clock.clearTimeout(republishTimer as TimerHandle)
      log.info({ supernode: ref.address, reason }, 'lost supernode; re-homing')
      emit({ event: 'detached', supernode: ref, reason })
      if (!rehoming) cache.failed(ref.deviceKey, clock.now())
      rehoming = false
      void attach()
    }
    sendCapabilities(newLink)
    schedulePing()
    republishTimer = clock.setTimeout(republish, republishDelay())
    api.queryPresence(audience)
  }

  /** Contacts whose last status ran out (their node vanished without a word) go offline. */
  const expirePresence = (): void => {
    for (const change of presence.expire(clock.now())) emit({ event: 'presence', user: change.user, status: change.status })
    expiryTimer = clock.setTimeout(expirePresence, PRESENCE_EXPIRY_CHECK_MS)
  }

  const schedulePing = (): void => {
    const due = clock.now() + PING_INTERVAL_MS
    pingTimer = clock.setTimeout(() => {
      const current = link
      if (current === undefined) return
      // This late, it is our own process that stalled (GC pause, CPU starvation, suspend), not
      // the supernode that went quiet: its pongs may be waiting unread behind this timer. Judge
      // it on a fresh window rather than drop a healthy link.
      if (clock.now() - due > PING_INTERVAL_MS) lastPong = clock.now()
      if (clock.now() - lastPong > PING_TIMEOUT_MS) {
        current.close(`no pong for ${PING_TIMEOUT_MS} ms`)
        return
      }
      current.request({ t: 'ping', id: current.nextId() }, 'pong', PING_TIMEOUT_MS).then(pong => {
        lastPong = clock.now()
        if (supernode !== undefined) cache.reportLoad(supernode.deviceKey, pong.hosts, pong.capacity)
        if (pong.capacityNeeded !== capacityNeeded) {
          capacityNeeded = pong.capacityNeeded
          emit({ event: 'capacity', needed: capacityNeeded })
        }
      }, () => {})
      schedulePing()
    }, PING_INTERVAL_MS)
  }

  const republish = (): void => {
    const current = link
    if (current === undefined || supernode === undefined) return
    current.send({ t: 'refresh-locator', ...locatorFor(supernode) })
    current.send({ t: 'update-presence', audience, ...presenceEnvelopes() })
    republishTimer = clock.setTimeout(republish, republishDelay())
  }

  const onMessage = (message: LinkMessage): void => {
    switch (message.t) {
      case 'deliver':
        handleDelivery({
          sodium, clock, issuerKey: components.issuerKey, log, presence, emit, user: init.user, seen,
          device: { deviceKey: init.deviceKey, secretKey: components.identity.secretKey },
          accepts: init.accepts ?? (() => true),
          reply: (to, body) => { api.send(to, body).catch(() => {}) }
        }, message.envelope)
        return
      case 'redirect':
        cache.add(message.supernodes, clock.now())
        log.info({ reason: message.reason }, 'supernode asked us to move')
        link?.close(`redirected: ${message.reason}`)
        return
      default:
        throw new Error(`supernodes do not send ${message.t} to hosts`)
    }
  }

  const route = async (to: string, body: Record<string, CanonicalValue>): Promise<SendResult> => {
    const current = link
    if (current === undefined) return { delivered: 0 }
    // One-shot bodies carry their signing time (a text its sentAt): the recipient refuses old replays by it.
    const signedAt: Record<string, number> = ONE_SHOT_TYPES.has(String(body.type)) && !('sentAt' in body) && !('at' in body) ? { at: clock.now() } : {}
    const envelope = seal({ ...body, ...signedAt, from: init.user, to })
    const result = await current.request({ t: 'route', id: current.nextId(), to, envelope }, 'route-result')
    return { delivered: result.delivered }
  }

  const api: Host = {
    get supernode () { return supernode },
    get status () { return status },
    start () {
      expirePresence()
      void attach()
    },
    setStatus (next) {
      status = next
      link?.send({ t: 'update-presence', audience, ...presenceEnvelopes() })
    },
    setAudience (users, next) {
      audience = [...new Set(users)]
      if (next !== undefined) {
        capabilities = next
        // Before the presence: it is pushed with these.
        if (link !== undefined) sendCapabilities(link)
      }
      link?.send({ t: 'update-presence', audience, ...presenceEnvelopes() })
    },
    send: (to, body) => route(to, body),
    async sendText (to, text, id = newMessageId()) {
      const current = link
      if (current === undefined) return { delivered: 0, id }
      // The text goes only sealed, to the devices the login server certified for `to` (whatever our supernode says).
      const located = await current.request({ t: 'locate', id: current.nextId(), to }, 'located')
      const devices = recipientDevices(sodium, located.devices, { user: to, issuerKey: components.issuerKey, nowSeconds: Math.floor(clock.now() / 1000) })
      if (devices.length === 0) return { delivered: 0, id }
      const sealed = sealText(sodium, text, components.identity, devices)
      const result = await route(to, { type: 'text', id, sentAt: clock.now(), ...sealed })
      return { ...result, id }
    },
    queryPresence (users) {
      if (users.length === 0) return
      link?.send({ t: 'presence-query', query: seal({ type: 'presence-query', from: init.user, users, at: clock.now() }) })
    },
    presenceOf: user => presence.status(user, clock.now()),
    async checkReachable (address) {
      const current = link
      if (current === undefined) return { ok: false, reason: 'not attached to a supernode' }
      const result = await current.request({ t: 'dialback-request', id: current.nextId(), address }, 'dialback-result', 10_000)
      return { ok: result.ok, reason: result.reason }
    },
    async turnCredentials () {
      const current = link
      if (current === undefined) return undefined
      const reply = await current.request({ t: 'turn-request', id: current.nextId() }, 'turn-credentials')
      if (!reply.available) return undefined
      return { host: reply.host, port: reply.port, username: reply.username, password: reply.password, ttlSeconds: reply.ttlSeconds }
    },
    releaseTurn (relayed) {
      if (relayed.length > 0) link?.send({ t: 'turn-release', relayed: relayed.slice(0, MAX_RELEASED_RELAYS) })
    },
    rehome (reason) {
      const current = link
      if (current === undefined) { void attach(); return }
      rehoming = true
      current.close(reason)
    },
    close () {
      if (closed) return
      closed = true
      for (const timer of [retryTimer, pingTimer, republishTimer, expiryTimer]) if (timer !== undefined) clock.clearTimeout(timer)
      link?.close('host shutting down')
    }
  }
  return api
}
