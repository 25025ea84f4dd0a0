// A running node: logs in, joins the overlay as a host, becomes a supernode
// when told to or when --role auto decides, and offers NodeApi to the control
// API, the shell and --json output. Sockets, timers and files live here and in
// the modules it wires; the protocol logic is in node/overlay.
import { EventEmitter } from 'node:events'
import { freemem, loadavg, availableParallelism } from 'node:os'
import { loadSodium } from '../../common/sodium.js'
import { systemClock } from '../../common/clock.js'
import { UserError } from '../../common/user-error.js'
import { normalizeUsername } from '../../common/usernames.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { createWsTransport } from '../net/ws-transport.js'
import type { Listener } from '../net/transport.js'
import { createHost, newMessageId, type Host, type HostEvent } from '../overlay/host.js'
import type { UserStatus } from '../../common/presence.js'
import { createHostCache, supernodeRef } from '../overlay/host-cache.js'
import type { Logger } from '../../common/logger.js'
import { openDataDir } from './data-dir.js'
import { openLoginSession } from './login-session.js'
import { startSupernodeRole, type SupernodeRole } from './supernode-role.js'
import { decidePromotion, type PromotionThresholds } from './promotion.js'
import { sourceAddressFor } from './source-address.js'
import { createContactBook } from './contact-book.js'
import type { NodeApi, NodeEvent, NodeStatus, Role, SendMessageResult } from './api.js'
import { createCallService, type CallDefaults } from '../calls/call-service.js'
import {
  CONTACT_REQUEST_POLL_MS, DEFAULT_MAX_LOAD_PER_CORE, DEFAULT_MIN_FREE_MEMORY_MB, DEFAULT_PROMOTE_AFTER_MS, DEMOTE_AFTER_FAILED_CHECKS, PROMOTION_CHECK_MS
} from './defaults.js'

export interface NodeOptions {
  user: string
  password: string
  loginServer: string
  dataDir: string
  role: 'auto' | 'host' | 'supernode'
  listen?: string
  advertise?: string
  log: Logger
  thresholds?: Partial<PromotionThresholds>
  maxHosts?: number
  minSupernodes?: number
  /** Inbound links a supernode takes per source address (labs with many hosts on one address raise it). */
  maxLinksPerAddress?: number
  /** How long `msg` waits for a delivery receipt. */
  receiptTimeoutMs?: number
  /** Call settings: auto-answer, default audio source and sink, who may call. */
  calls?: CallDefaults
  /** ICE gathers only on this address (tests on one machine). */
  mediaBindAddress?: string
  /** The lab flag: as a supernode, relay to loopback and private peers too (labs and tests on one machine). */
  relayAllowPrivate?: boolean
}

export interface RunningNode extends NodeApi {
  deviceKey: string
}

export async function startNode (options: NodeOptions): Promise<RunningNode> {
  const user = normalizeUsername(options.user)
  if (user === undefined) throw new UserError(`"${options.user}" is not a valid username`)
  if (options.role === 'supernode' && options.listen === undefined) throw new UserError('--role supernode needs --listen HOST:PORT')
  const log = options.log.child({ node: user })
  const sodium = await loadSodium()
  const dataDir = openDataDir(sodium, options.dataDir)
  const session = await openLoginSession({ url: options.loginServer, user, password: options.password, dataDir, log })
  const identity: LinkIdentity = { certificate: session.certificate, secretKey: dataDir.device.secretKey }
  session.keepRenewed(certificate => { identity.certificate = certificate })

  const started = Date.now()
  const events = new EventEmitter()
  const emit = (event: NodeEvent): void => { events.emit('event', event) }
  const thresholds: PromotionThresholds = {
    promoteAfterMs: options.thresholds?.promoteAfterMs ?? DEFAULT_PROMOTE_AFTER_MS,
    minFreeMemoryMb: options.thresholds?.minFreeMemoryMb ?? DEFAULT_MIN_FREE_MEMORY_MB,
    maxLoadPerCore: options.thresholds?.maxLoadPerCore ?? DEFAULT_MAX_LOAD_PER_CORE
  }
  const advertise = options.advertise ?? options.listen

  // Host cache: persisted, seeded from the login server's bootstrap list.
  const cache = createHostCache(dataDir.loadHostCache())
  cache.add(session.supernodes.map(supernodeRef), Date.now())
  const saveCache = (): void => { try { dataDir.saveHostCache(cache.entries()) } catch (err) { log.warn({}, `host cache not saved: ${(err as Error).message}`) } }
  saveCache()

  // Dials leave from the advertised IP: a supernode checking our reachability dials back only where our link comes from.
  const sourceAddress = sourceAddressFor(advertise)
  const transport = createWsTransport({ dialback: { sodium, secretKey: dataDir.device.secretKey, advertisedAddress: () => advertise ?? '' }, localAddress: sourceAddress })
  let role: Role = 'host'
  let supernodeRole: SupernodeRole | undefined
  let listener: Listener | undefined
  if (options.listen !== undefined) {
    listener = await transport.listen(options.listen, connection => {
      if (supernodeRole === undefined) connection.close('this node is not a supernode')
      else supernodeRole.supernode.acceptConnection(connection)
    }).catch((err: Error) => { throw new UserError(`cannot listen on ${options.listen}: ${err.message}`) })
  }

  let capacityNeeded = false
  let networkEmpty = cache.size() === 0
  const onHostEvent = (event: HostEvent): void => {
    switch (event.event) {
      case 'attached':
        networkEmpty = false
        saveCache()
        emit({ event: 'attached', supernode: { user: event.supernode.user, address: event.supernode.address }, setupMs: event.setupMs })
        return
      case 'detached':
        emit({ event: 'detached', supernode: { user: event.supernode.user, address: event.supernode.address }, reason: event.reason })
        return
      case 'no-supernode':
        networkEmpty = true
        // Our cache is exhausted: ask the login server for its current list before the next attempt.
        void session.client.supernodes().then(({ supernodes }) => {
          cache.add(supernodes.map(supernodeRef), Date.now())
        }, () => {})
        return
      case 'capacity':
        capacityNeeded = event.needed
        return
      case 'contact-accepted':
        void contacts.refresh().catch(() => {})
        return
      case 'application-body':
        // Call signaling is the only application carried today; the call service checks its shape.
        onCallSignal(event.from, event.body)
        return
      default:
        emit(event)
    }
  }

  // Set once the host exists; signals before that cannot belong to a call of ours.
  let onCallSignal = (_from: { user: string, deviceKey: string }, _body: unknown): void => {}
  let hostRef: Host | undefined
  const contacts = createContactBook({ session, log, emit, getHost: () => hostRef })
  await contacts.refresh()
  await contacts.pollRequests().catch(() => {})
  const host: Host = hostRef = createHost(
    { sodium, clock: systemClock, transport, identity, issuerKey: session.issuerKey, log, cache },
    {
      user,
      deviceKey: dataDir.device.deviceKey,
      audience: contacts.audience(),
      lookup: session.lookup,
      capabilities: contacts.capabilities(),
      onEvent: onHostEvent,
      accepts: (from, type) => contacts.accepts(from, type)
    }
  )

  const calls = createCallService({
    sodium,
    log,
    host,
    user,
    deviceKey: dataDir.device.deviceKey,
    deviceSecretKey: dataDir.device.secretKey,
    isContact: username => contacts.audience().includes(username),
    defaults: options.calls ?? {},
    emit,
    bindAddress: options.mediaBindAddress
  })
  onCallSignal = (from, body) => { calls.handleSignal(from, body) }

  const becomeSupernode = async (reason: string): Promise<boolean> => {
    if (advertise === undefined || listener === undefined) return false
    const candidate = await startSupernodeRole({
      sodium, log, identity, session, transport, user, deviceKey: dataDir.device.deviceKey, advertise, listen: listener.address, sourceAddress,
      maxHosts: options.maxHosts, minSupernodes: options.minSupernodes, maxLinksPerAddress: options.maxLinksPerAddress, known: () => cache.entries(),
      relayAllowPrivate: options.relayAllowPrivate
    }).catch((err: Error) => {
      log.warn({}, `cannot run as a supernode: ${err.message}`)
      return undefined
    })
    if (candidate === undefined) return false
    supernodeRole = candidate
    const outcome = await candidate.heartbeat()
    if (!outcome.listed && options.role === 'auto') {
      supernodeRole = undefined
      candidate.close()
      log.info({ advertise }, `not promoting: ${outcome.unreachable ? 'the dial-back to our advertised address failed' : 'the login server refused'}: ${outcome.reason}`)
      return false
    }
    if (!outcome.listed) log.warn({ advertise }, `running as a supernode, but the login server does not list us yet: ${outcome.reason}`)
    role = 'supernode'
    log.info({ advertise, reason }, 'now a supernode')
    emit({ event: 'role', role, reason })
    let failedChecks = 0
    candidate.run(result => {
      failedChecks = result.listed || !result.unreachable ? 0 : failedChecks + 1
      if (options.role === 'auto' && failedChecks >= DEMOTE_AFTER_FAILED_CHECKS) demote(`${failedChecks} reachability checks in a row failed`)
    })
    // Our own user is served by our own supernode.
    cache.add([{ user, deviceKey: dataDir.device.deviceKey, address: advertise }], Date.now())
    cache.succeeded(dataDir.device.deviceKey, 0, Date.now())
    if (hostRef !== undefined && hostRef.supernode?.deviceKey !== dataDir.device.deviceKey) hostRef.rehome('promoted: moving to our own supernode')
    return true
  }

  const demote = (reason: string): void => {
    const current = supernodeRole
    if (current === undefined) return
    log.info({ reason }, 'demoting to host: handing hosts off')
    current.supernode.handOff(reason)
    supernodeRole = undefined
    role = 'host'
    cache.failed(dataDir.device.deviceKey, Date.now())
    setTimeout(() => { current.close() }, 1000).unref()
    emit({ event: 'role', role, reason })
  }

  let lastPromotionReason = ''
  let promotionBusy = false
  const considerPromotion = async (): Promise<void> => {
    if (role !== 'host' || promotionBusy) return
    promotionBusy = true
    try {
      const decision = decidePromotion({
        uptimeMs: Date.now() - started,
        freeMemoryMb: freemem() / 2 ** 20,
        loadPerCore: (loadavg()[0] ?? 0) / availableParallelism(),
        hasListenAddress: advertise !== undefined && listener !== undefined,
        capacityNeeded,
        networkEmpty
      }, thresholds)
      if (decision.reason !== lastPromotionReason) log.info({ promote: decision.promote }, `promotion check: ${decision.reason}`)
      lastPromotionReason = decision.reason
      if (!decision.promote) return
      if (!networkEmpty && host.supernode !== undefined) {
        const reachable = await host.checkReachable(advertise as string).catch((err: Error) => ({ ok: false, reason: err.message }))
        if (!reachable.ok) {
          log.info({ advertise }, `not promoting: the dial-back to ${advertise as string} failed: ${reachable.reason}`)
          return
        }
      }
      await becomeSupernode(decision.reason)
    } finally {
      promotionBusy = false
    }
  }

  let promotionTimer: NodeJS.Timeout | undefined
  if (options.role === 'supernode') {
    await becomeSupernode('--role supernode')
  } else if (options.role === 'auto') {
    const tick = (): void => {
      void considerPromotion().finally(() => { promotionTimer = setTimeout(tick, PROMOTION_CHECK_MS).unref() })
    }
    promotionTimer = setTimeout(tick, networkEmpty ? 0 : PROMOTION_CHECK_MS).unref()
  }
  host.start()

  const cacheTimer = setInterval(saveCache, 60_000).unref()
  const requestPollTimer = setInterval(() => {
    contacts.pollRequests().catch((err: Error) => { log.debug({}, `contact requests not polled: ${err.message}`) })
  }, CONTACT_REQUEST_POLL_MS).unref()
  let closing: Promise<void> | undefined

  const relayCounters = (): NodeStatus['relay'] => {
    const turn = supernodeRole?.turn.stats()
    return turn === undefined
      ? null
      : {
          allocations: turn.allocations,
          toPeer: { ...turn.toPeer },
          fromPeer: { ...turn.fromPeer },
          requests: turn.requests,
          errorResponses: { ...turn.errorResponses },
          dropped: { ...turn.dropped }
        }
  }

  const status = (): NodeStatus => {
    const sn = supernodeRole?.supernode.stats()
    return {
      user,
      role,
      supernode: host.supernode === undefined ? null : { user: host.supernode.user, address: host.supernode.address, deviceKey: host.supernode.deviceKey },
      presence: host.status,
      peers: sn?.peerLinks ?? 0,
      hosts: sn?.hosts ?? 0,
      relay: relayCounters(),
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      loginServer: options.loginServer,
      listen: listener?.address ?? null,
      advertise: advertise ?? null,
      deviceKey: dataDir.device.deviceKey
    }
  }

  const sendMessage = async (to: string, text: string): Promise<SendMessageResult> => {
    const target = normalizeUsername(to)
    if (target === undefined) throw new UserError(`"${to}" is not a valid username`)
    if (host.supernode === undefined) throw new UserError('not connected to the network yet (no supernode); try again shortly')
    const id = newMessageId()
    const sentAt = Date.now()
    // Listen before sending: the receipt can arrive before the route result does.
    let onReceipt = (_event: NodeEvent): void => {}
    const receipt = new Promise<boolean>(resolve => {
      const timer = setTimeout(() => { resolve(false) }, options.receiptTimeoutMs ?? 5000)
      onReceipt = event => { if (event.event === 'receipt' && event.ref === id && event.from === target) { clearTimeout(timer); resolve(true) } }
      events.on('event', onReceipt)
    })
    try {
      const sent = await host.sendText(target, text, id)
      if (sent.delivered === 0) return { status: 'offline', id }
      return await receipt ? { status: 'delivered', id, receiptMs: Date.now() - sentAt } : { status: 'sent', id }
    } finally {
      events.off('event', onReceipt)
    }
  }

  return {
    deviceKey: dataDir.device.deviceKey,
    status,
    contacts: async () => contacts.list(username => host.presenceOf(username)),
    requests: () => contacts.requests(),
    addContact: (username, message) => contacts.add(username, message),
    acceptContact: username => contacts.accept(username),
    declineContact: username => contacts.decline(username),
    removeContact: username => contacts.remove(username),
    block: username => contacts.block(username),
    unblock: username => contacts.unblock(username),
    setPresence: (next: UserStatus) => { host.setStatus(next) },
    sendMessage,
    placeCall: (to, callOptions) => calls.placeCall(to, callOptions),
    answerCall: (callId, audio) => calls.answerCall(callId, audio),
    declineCall: callId => { calls.declineCall(callId) },
    hangup: callId => { calls.hangup(callId) },
    setMuted: (muted, callId) => { calls.setMuted(muted, callId) },
    calls: () => calls.calls(),
    subscribe (listener) {
      events.on('event', listener)
      return () => { events.off('event', listener) }
    },
    close () {
      closing ??= (async () => {
        clearTimeout(promotionTimer)
        clearInterval(cacheTimer)
        clearInterval(requestPollTimer)
        saveCache()
        await calls.close()
        supernodeRole?.supernode.handOff('supernode shutting down')
        host.close()
        supernodeRole?.close()
        session.close()
        await listener?.close()
        events.removeAllListeners()
      })()
      return closing
    }
  }
}
