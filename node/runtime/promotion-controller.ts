// When a node becomes a supernode, and when it stops being one. --role auto
// reconsiders every PROMOTION_CHECK_MS: decidePromotion (promotion.ts) on the
// measured facts, then a dial-back to our advertised address, then the login
// server's listing; a supernode whose reachability checks keep failing hands
// its hosts off and demotes. Time comes from the injected Clock and the
// machine's figures from `measure`, so tests can drive it.
import type { Clock, TimerHandle } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { HeartbeatOutcome, SupernodeRole } from './supernode-role.js'
import { decidePromotion, type PromotionThresholds } from './promotion.js'
import { DEMOTE_AFTER_FAILED_CHECKS, PROMOTION_CHECK_MS } from './defaults.js'
import type { Role, RoleMode } from './api.js'
import { DIALBACK_FAILED } from '../../common/dialback.js'
import { UserError } from '../../common/user-error.js'

const CANNOT_SERVE_HERE = 'this node cannot serve as a supernode: it has no address others can reach (start it with --listen HOST:PORT, and --advertise if that address is not the public one)'

const CANNOT_START_HERE = 'this node could not start serving as a supernode (the log says why)'

/** Runs `close` after `ms`, or at once when the function returned is called first; once either way. */
function closeLater (clock: Clock, close: () => void, ms: number): () => void {
  let done = false
  const now = (): void => {
    if (done) return
    done = true
    clock.clearTimeout(timer)
    close()
  }
  const timer = clock.setTimeout(now, ms)
  return now
}

/** Runs the functions given to it one after the other, each once the one before has settled. */
function serialQueue (): <T>(run: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve()
  return run => {
    const result = queue.then(run)
    queue = result.catch(() => {})
    return result
  }
}

/** How long a demoted supernode keeps serving, so its hand-off reaches its hosts first. */
const DEMOTE_CLOSE_DELAY_MS = 1000

export interface PromotionComponents {
  clock: Clock
  log: Logger
  /** The machine's free memory (MB) and 1-minute load per core, now. */
  measure: () => { freeMemoryMb: number, loadPerCore: number }
  /** Starts the supernode service (undefined when it cannot run here; the reason is logged). */
  startRole: () => Promise<SupernodeRole | undefined>
  /** Asks the network to dial our advertised address back. */
  checkReachable: () => Promise<{ ok: boolean, reason?: string }>
  /** Whether our host is attached to a supernode now. */
  attached: () => boolean
  /** Called on every role change, after it happened. */
  onRole: (role: Role, reason: string, supernode: SupernodeRole | undefined) => void
}

export interface PromotionInit {
  mode: RoleMode
  thresholds: PromotionThresholds
  /** Whether this node has an address to advertise and a listener to serve on. */
  canServe: boolean
  advertise?: string
}

export interface PromotionController {
  readonly role: Role
  readonly supernode: SupernodeRole | undefined
  /** What the host learned: whether the mesh needs capacity, whether any supernode answers. */
  setNetworkFacts: (facts: { capacityNeeded?: boolean, networkEmpty?: boolean }) => void
  /** --role supernode: becomes one now; --role auto: starts the periodic check. */
  start: () => Promise<void>
  /**
   * The user's choice while running (the web client's settings): `supernode` serves now (throws
   * why it cannot), `host` hands its hosts off and stays a host, `auto` lets the checks decide again.
   */
  setMode: (mode: PromotionInit['mode']) => Promise<void>
  readonly mode: PromotionInit['mode']
  close: () => void
}

export function createPromotionController (components: PromotionComponents, init: PromotionInit): PromotionController {
  const { clock, log } = components
  const started = clock.now()
  let role: Role = 'host'
  let supernode: SupernodeRole | undefined
  let capacityNeeded = false
  let networkEmpty = false
  let lastReason = ''
  let timer: TimerHandle | undefined
  let closed = false
  let mode = init.mode
  /** The mode last asked for, at once (`mode` changes when its turn in the queue comes): a check waiting on its dial-back looks here. */
  let requested = init.mode
  /** Closes the service a demotion left running for its hand-off (set for DEMOTE_CLOSE_DELAY_MS). */
  let closingOld: (() => void) | undefined
  /** Role changes run one at a time: a periodic check and a user's switch never interleave their awaits. */
  const serially = serialQueue()

  const becomeSupernode = async (reason: string): Promise<boolean> => {
    if (!init.canServe) return false
    closingOld?.()
    const candidate = await components.startRole()
    if (candidate === undefined) return false
    supernode = candidate
    const outcome = await candidate.heartbeat()
    // Stopped meanwhile, or (auto) not listed: the service goes again.
    if (closed || (!outcome.listed && mode === 'auto')) {
      supernode = undefined
      candidate.close()
      if (!closed && !outcome.listed) logNotPromoting(log, init.advertise, outcome)
      return false
    }
    if (!outcome.listed) log.warn({ advertise: init.advertise }, `running as a supernode, but the login server does not list us yet: ${outcome.reason}`)
    role = 'supernode'
    log.info({ advertise: init.advertise, reason }, 'now a supernode')
    let failedChecks = 0
    candidate.run(result => {
      failedChecks = result.listed || !result.unreachable ? 0 : failedChecks + 1
      if (mode === 'auto' && failedChecks >= DEMOTE_AFTER_FAILED_CHECKS) demote(`${failedChecks} reachability checks in a row failed`)
    })
    components.onRole(role, reason, candidate)
    return true
  }

  const demote = (reason: string): void => {
    const current = supernode
    if (current === undefined) return
    log.info({ reason }, 'demoting to host: handing hosts off')
    current.supernode.handOff(reason)
    supernode = undefined
    role = 'host'
    // Closed a moment later, or at once when the node serves again before that (the relay's port is taken till then).
    closingOld = closeLater(clock, () => { current.close() }, DEMOTE_CLOSE_DELAY_MS)
    components.onRole(role, reason, undefined)
  }

  const consider = async (): Promise<void> => {
    if (role !== 'host' || mode !== 'auto' || closed) return
    const decision = decidePromotion({ uptimeMs: clock.now() - started, ...components.measure(), hasListenAddress: init.canServe, capacityNeeded, networkEmpty }, init.thresholds)
    if (decision.reason !== lastReason) log.info({ promote: decision.promote }, `promotion check: ${decision.reason}`)
    lastReason = decision.reason
    if (!decision.promote) return
    if (!networkEmpty && components.attached()) {
      const reachable = await components.checkReachable().catch((err: Error) => ({ ok: false, reason: err.message }))
      if (!reachable.ok) {
        log.info({ advertise: init.advertise, reason: reachable.reason }, `not promoting: the dial-back to ${init.advertise ?? '?'} failed${unreachableHint(reachable.reason)}`)
        return
      }
    }
    // The user may have switched while the dial-back ran: their word wins.
    if (requested !== 'auto' || closed) return
    await becomeSupernode(decision.reason)
  }

  /** The next check, while the mode is auto (one timer at a time). */
  const schedule = (ms: number): void => {
    if (closed || mode !== 'auto') return
    if (timer !== undefined) clock.clearTimeout(timer)
    timer = clock.setTimeout(() => {
      timer = undefined
      void serially(consider).finally(() => { schedule(PROMOTION_CHECK_MS) })
    }, ms)
  }

  return {
    get role () { return role },
    get supernode () { return supernode },
    setNetworkFacts (facts) {
      capacityNeeded = facts.capacityNeeded ?? capacityNeeded
      networkEmpty = facts.networkEmpty ?? networkEmpty
    },
    get mode () { return mode },
    async start () {
      if (mode === 'supernode') await serially(async () => await becomeSupernode('--role supernode'))
      else if (mode === 'auto') schedule(networkEmpty ? 0 : PROMOTION_CHECK_MS)
    },
    setMode: next => { requested = next; return serially(async () => {
      if (closed) throw new UserError('the node is stopping')
      const previous = mode
      // Set first: a supernode the user asked for serves even before the login server lists it.
      mode = next
      if (next === 'supernode' && role !== 'supernode') {
        const refused = !init.canServe ? CANNOT_SERVE_HERE : await becomeSupernode('switched on by the user') ? undefined : CANNOT_START_HERE
        if (refused !== undefined) {
          mode = previous
          if (requested === next) requested = previous
          throw new UserError(refused, 'cannot_serve')
        }
      }
      if (next === 'host') demote('switched off by the user')
      if (next !== 'auto' && timer !== undefined) { clock.clearTimeout(timer); timer = undefined }
      if (next === 'auto') schedule(PROMOTION_CHECK_MS)
    }) },
    close () {
      closed = true
      if (timer !== undefined) clock.clearTimeout(timer)
    }
  }
}

function logNotPromoting (log: Logger, advertise: string | undefined, outcome: Extract<HeartbeatOutcome, { listed: false }>): void {
  log.info({ advertise, reason: outcome.reason }, outcome.unreachable
    ? `not promoting: the dial-back to ${advertise ?? '?'} failed${unreachableHint(outcome.reason)}`
    : `not promoting: the login server refused: ${outcome.reason}`)
}

/**
 * What a failed dial-back means for the user. The dialer answers every failure alike (DIALBACK_FAILED: it
 * tells nobody what it found at an address), so that answer adds nothing; any other reason is ours.
 */
function unreachableHint (reason: string | undefined): string {
  if (reason === undefined || reason === DIALBACK_FAILED) return ': nothing outside reaches that address (a NAT or a firewall in the way?)'
  return `: ${reason}`
}
