// What one overlay host remembers between events: its link and supernode, what
// it publishes (status, audience, capabilities) and its timers. The pieces in
// this folder take (components, state) and change it in place.
import type { TimerHandle } from '../../../common/clock.js'
import { cryptoRandom, type RandomSource } from '../../../common/random.js'
import { createBackoff, type Backoff } from '../../../common/backoff.js'
import { openOwnLookup, reachTokenOf } from '../../../common/lookup-keys.js'
import type { Link } from '../link.js'
import type { LookupCapability, SupernodeRef } from '../messages.js'
import { createPresenceBook, type PresenceBook } from '../presence-book.js'
import { createSeenOneShots, type SeenOneShots } from '../seen-one-shots.js'
import { RECONNECT_BACKOFF } from '../constants.js'
import type { HostComponents, HostEvent, HostInit, UserStatus } from './types.js'

export interface HostTimers {
  retry?: TimerHandle
  ping?: TimerHandle
  beat?: TimerHandle
  republish?: TimerHandle
  expiry?: TimerHandle
}

export interface HostState {
  readonly init: HostInit
  readonly emit: (event: HostEvent) => void
  readonly random: RandomSource
  readonly presence: PresenceBook
  readonly seen: SeenOneShots
  readonly backoff: Backoff
  readonly ownLookup: ReturnType<typeof openOwnLookup>
  readonly reachToken: string
  readonly timers: HostTimers
  status: UserStatus
  audience: string[]
  capabilities: LookupCapability[]
  link: Link | undefined
  supernode: SupernodeRef | undefined
  attaching: boolean
  closed: boolean
  /** The last sequence number signed (see nextSeq). */
  seq: number
  /** Set by rehome(): the next detach is our choice, not the supernode's failure. */
  rehoming: boolean
  /** What our supernode last said about the mesh's need for supernodes. */
  capacityNeeded: boolean
}

export function createHostState (components: HostComponents, init: HostInit): HostState {
  const random = components.random ?? cryptoRandom
  return {
    init,
    emit: init.onEvent ?? (() => {}),
    random,
    presence: createPresenceBook(),
    seen: createSeenOneShots(),
    backoff: createBackoff({ ...RECONNECT_BACKOFF, random }),
    ownLookup: openOwnLookup(components.sodium, init.lookup),
    reachToken: reachTokenOf(init.lookup.sealKey),
    timers: {},
    status: init.status ?? 'online',
    audience: init.audience ?? [],
    capabilities: init.capabilities ?? [],
    link: undefined,
    supernode: undefined,
    attaching: false,
    closed: false,
    seq: 0,
    rehoming: false,
    capacityNeeded: false
  }
}
