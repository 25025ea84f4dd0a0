// A running node: logs in, joins the overlay as a host, becomes a supernode
// when told to or when --role auto decides, and offers NodeApi to the control
// API, the shell and --json output. This file only wires the parts: sockets,
// timers and files live in the modules it calls; the protocol logic is in
// node/overlay and node/calls.
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { freemem, loadavg, availableParallelism } from 'node:os'
import { loadSodium } from '../../common/sodium.js'
import { systemClock } from '../../common/clock.js'
import { UserError } from '../../common/user-error.js'
import { LoginServerUnreachableError } from '../../common/login-client.js'
import { normalizeUsername } from '../../common/usernames.js'
import type { LinkIdentity } from '../../common/wire/link-handshake.js'
import { createHost, type Host } from '../overlay/host.js'
import { createCallService } from '../calls/call-service.js'
import { CALL_BODY_TYPES } from '../calls/call-bodies.js'
import type { Logger } from '../../common/logger.js'
import type { Sodium } from '../../common/sodium.js'
import { openDataDir, type DataDir } from './data-dir.js'
import { openLoginSession, type LoginCredentials, type LoginServerWait, type LoginSession } from './login-session.js'
import { createContactBook } from './contact-book.js'
import { createApplicationBodies } from './application-bodies.js'
import { openKnownSupernodes } from './known-supernodes.js'
import { routeHostEvents } from './host-events.js'
import { createPromotionController, type PromotionController } from './promotion-controller.js'
import type { PromotionThresholds } from './promotion.js'
import { openNodeNetwork, type NodeNetwork } from './node-network.js'
import { createMessaging } from './messaging.js'
import { openMessageStore } from './message-store.js'
import { nodeStatus } from './status.js'
import { MESSAGES_FILE, CONTACT_REQUEST_POLL_MS, DEFAULT_MAX_LOAD_PER_CORE, DEFAULT_MIN_FREE_MEMORY_MB, DEFAULT_PROMOTE_AFTER_MS, SUPERNODE_CACHE_SAVE_MS } from './defaults.js'
import type { NodeOptions, RunningNode } from './node-options.js'
import type { NodeEvent } from './api.js'

export type { NodeOptions, RunningNode } from './node-options.js'

/** How `voxmesh node` follows a start that may wait long for the login server. */
export interface NodeStartup {
  /** The data dir is open and --listen bound (before login): the device key and the listener's address. */
  onOpened?: (opened: { deviceKey: string, listen: string | null }) => void
  /** Each retry while the login server is unreachable or busy. */
  onLoginWait?: (wait: LoginServerWait) => void
  /** Stops a start that has not finished; createNode then rejects, with what it opened closed. */
  signal?: AbortSignal
}

/**
 * Starts a node. What can fail locally (the data dir, the --listen port) fails before it contacts the
 * login server; whatever it opened is closed again when it fails to start.
 */
export async function createNode (options: NodeOptions, startup: NodeStartup = {}): Promise<RunningNode> {
  const user = normalizeUsername(options.user)
  if (user === undefined) throw new UserError(`"${options.user}" is not a valid username`, 'invalid_username')
  if (options.role === 'supernode' && options.listen === undefined) throw new UserError('--role supernode needs --listen HOST:PORT')
  const log = options.log.child({ node: user })
  const sodium = await loadSodium()
  const dataDir = openDataDir(sodium, options.dataDir)
  const roles: { promotion?: PromotionController } = {}
  const network = await openNodeNetwork({
    sodium, secretKey: dataDir.device.secretKey, advertise: options.advertise ?? options.listen, listen: options.listen, supernode: () => roles.promotion?.supernode
  })
  startup.onOpened?.({ deviceKey: dataDir.device.deviceKey, listen: network.listener?.address ?? null })
  let session: LoginSession | undefined
  const opened: OnlineParts = { timers: [] }
  try {
    session = await openLoginSession({ url: options.loginServer, user, credentials: credentialsOf(options), dataDir, log, onWait: startup.onLoginWait, signal: startup.signal })
    return await goOnline({ options, user, log, sodium, dataDir, network, session, roles, opened })
  } catch (err) {
    await closeOnlineParts(opened)
    session?.close()
    await network.listener?.close()
    throw err
  }
}

/** What the login server keeps for us (our credit, our phone calls); `what` names it when it cannot be reached. */
async function fromLoginServer<T> (read: () => Promise<T>, what: string): Promise<T> {
  try {
    return await read()
  } catch (err) {
    if (err instanceof LoginServerUnreachableError) throw new UserError(`${err.message}: ${what} is kept there`, 'login_server_unreachable')
    throw err
  }
}

function credentialsOf (options: NodeOptions): LoginCredentials {
  if (options.serviceToken !== undefined && options.password === undefined) return { serviceToken: options.serviceToken }
  if (options.password !== undefined && options.serviceToken === undefined) return { password: options.password }
  throw new UserError('a node logs in with a password or with a service token: give exactly one')
}

/** The node after login: contacts, the host in the overlay, calls, messaging, promotion. */
async function goOnline (parts: {
  options: NodeOptions
  user: string
  log: Logger
  sodium: Sodium
  dataDir: DataDir
  network: NodeNetwork
  session: LoginSession
  roles: { promotion?: PromotionController }
  opened: OnlineParts
}): Promise<RunningNode> {
  const { options, user, log, sodium, dataDir, network, session, roles, opened } = parts
  const clock = systemClock, deviceKey = dataDir.device.deviceKey
  const identity: LinkIdentity = { certificate: session.certificate, secretKey: dataDir.device.secretKey }
  session.keepRenewed(certificate => { identity.certificate = certificate })

  const started = clock.now()
  const events = new EventEmitter()
  const emit = (event: NodeEvent): void => { events.emit('event', event) }
  const subscribe = (listener: (event: NodeEvent) => void): () => void => { events.on('event', listener); return () => { events.off('event', listener) } }
  const known = openKnownSupernodes({ clock, log, dataDir, session })
  const advertise = options.advertise ?? options.listen

  let hostRef: Host | undefined
  const contacts = createContactBook({ session, log, clock, emit, getHost: () => hostRef })
  const isContact = (username: string): boolean => contacts.audience().includes(username)
  const messaging = createMessaging({ clock, log, store: openMessageStore(join(dataDir.path, MESSAGES_FILE)), getHost: () => hostRef, isContact, emit }, options)
  opened.known = known
  opened.messaging = messaging
  await contacts.refresh()
  await contacts.pollRequests().catch(() => {})
  const bodies = createApplicationBodies(log)
  const host: Host = hostRef = opened.host = createHost(
    { sodium, clock, transport: network.transport, identity, issuerKey: session.issuerKey, log, cache: known.cache },
    {
      user,
      deviceKey,
      audience: contacts.audience(),
      lookup: session.lookup,
      capabilities: contacts.capabilities(),
      onEvent: routeHostEvents({ emit, known, contacts, bodies, promotion: () => roles.promotion, messaging }),
      accepts: (from, type) => contacts.accepts(from, type)
    }
  )
  const calls = opened.calls = createCallService(
    { sodium, clock, log, host, deviceSecretKey: dataDir.device.secretKey },
    { user, deviceKey, isContact, isService: contacts.isService, findService: contacts.findService, reach: contacts.reach, reachesAnyone: session.reachOf !== undefined, defaults: options.calls ?? {}, emit, bindAddress: options.mediaBindAddress, reachable: () => roles.promotion?.role === 'supernode' }
  )
  bodies.register(CALL_BODY_TYPES, (from, body) => { calls.handleSignal(from, body) })

  const promotion = roles.promotion = opened.promotion = createPromotionController({
    clock,
    log,
    measure: measureMachine,
    startRole: () => network.startSupernodeRole({ log, identity, session, user, deviceKey, known, options }),
    checkReachable: () => host.checkReachable(advertise ?? ''),
    attached: () => host.supernode !== undefined,
    onRole: (role, reason, supernode) => {
      emit({ event: 'role', role, reason })
      if (supernode === undefined) { known.cache.failed(deviceKey, clock.now()); return }
      // Our own user is served by our own supernode.
      known.cache.add([{ user, deviceKey, address: advertise ?? '' }], clock.now())
      known.cache.succeeded(deviceKey, 0, clock.now())
      if (host.supernode?.deviceKey !== deviceKey) host.rehome('promoted: moving to our own supernode')
    }
  }, {
    mode: options.role,
    canServe: advertise !== undefined && network.listener !== undefined,
    advertise,
    thresholds: thresholdsOf(options.thresholds)
  })
  promotion.setNetworkFacts({ networkEmpty: known.cache.size() === 0 })
  await promotion.start()
  host.start()

  opened.timers.push(setInterval(known.save, SUPERNODE_CACHE_SAVE_MS).unref(), setInterval(() => {
    contacts.pollRequests().catch((err: Error) => { log.debug({}, `contact requests not polled: ${err.message}`) })
  }, CONTACT_REQUEST_POLL_MS).unref())
  let closing: Promise<void> | undefined

  return {
    deviceKey,
    status: () => nodeStatus({
      user, deviceKey, role: promotion.role, host, supernode: promotion.supernode, uptimeMs: clock.now() - started,
      loginServer: options.loginServer, listen: network.listener?.address ?? null, advertise: advertise ?? null
    }),
    balance: async () => await fromLoginServer(async () => await session.client.balance(), 'the balance'),
    callHistory: async limit => await fromLoginServer(async () => await session.client.callHistory(limit), 'the call history'),
    contacts: async () => contacts.list(username => host.presenceOf(username)),
    requests: () => contacts.requests(),
    addContact: (username, message) => contacts.add(username, message),
    acceptContact: username => contacts.accept(username),
    declineContact: username => contacts.decline(username),
    removeContact: username => contacts.remove(username),
    block: username => contacts.block(username),
    unblock: username => contacts.unblock(username),
    setPresence: next => { host.setStatus(next) },
    signIn: async () => { throw new UserError('already signed in', 'signed_in') },
    setRole: async mode => { await promotion.setMode(mode); return { role: promotion.role, mode: promotion.mode } },
    sendMessage: messaging.sendMessage, messages: messaging.messages,
    placeCall: (to, callOptions) => calls.placeCall(to, callOptions),
    answerCall: (callId, audio) => calls.answerCall(callId, audio),
    declineCall: (callId, reason) => { calls.declineCall(callId, reason) },
    hangup: (callId, reason) => { calls.hangup(callId, reason) },
    setMuted: (muted, callId) => { calls.setMuted(muted, callId) },
    browserMediaReply: (callId, reply) => { calls.browserMediaReply(callId, reply) },
    calls: () => calls.calls(),
    subscribe,
    close () {
      closing ??= (async () => {
        await closeOnlineParts(opened)
        session.close()
        await network.listener?.close()
        events.removeAllListeners()
      })()
      return closing
    }
  }
}

/** The parts goOnline opens, as far as it got: closed by close(), or by createNode when the start fails half-way. */
interface OnlineParts {
  timers: NodeJS.Timeout[]
  known?: ReturnType<typeof openKnownSupernodes>
  messaging?: ReturnType<typeof createMessaging>
  host?: Host
  calls?: ReturnType<typeof createCallService>
  promotion?: PromotionController
}

/** Hangs up calls first (their hangups still need the host), hands our hosts off, then closes the rest. */
async function closeOnlineParts (parts: OnlineParts): Promise<void> {
  parts.promotion?.close()
  for (const timer of parts.timers) clearInterval(timer)
  parts.known?.save()
  await parts.calls?.close()
  parts.promotion?.supernode?.supernode.handOff('supernode shutting down')
  parts.host?.close()
  parts.promotion?.supernode?.close()
  parts.messaging?.close()
}

/** The machine's figures promotion decides on. */
function measureMachine (): { freeMemoryMb: number, loadPerCore: number } {
  return { freeMemoryMb: freemem() / 2 ** 20, loadPerCore: (loadavg()[0] ?? 0) / availableParallelism() }
}

/** The promotion thresholds given, the defaults for the rest (a flag left out arrives as undefined). */
function thresholdsOf (given: Partial<PromotionThresholds> = {}): PromotionThresholds {
  return {
    promoteAfterMs: given.promoteAfterMs ?? DEFAULT_PROMOTE_AFTER_MS,
    minFreeMemoryMb: given.minFreeMemoryMb ?? DEFAULT_MIN_FREE_MEMORY_MB,
    maxLoadPerCore: given.maxLoadPerCore ?? DEFAULT_MAX_LOAD_PER_CORE
  }
}
