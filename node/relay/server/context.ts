// What every handler of the TURN server works with, passed to it explicitly: the server's
// components (clock, randomness, log, policy), its configuration, and its state.
import type { Clock } from '../../../common/clock.js'
import type { Logger } from '../../../common/logger.js'
import type { TransportAddress } from '../ip.js'
import type { StunHeader } from '../stun/header.js'
import type { TurnAction } from './actions.js'
import type { AllocationTable } from './allocation-table.js'
import type { TurnConfig } from './config.js'
import type { Auth, Authenticator } from './turn-auth.js'
import type { TurnCounters } from './turn-stats.js'

export interface TurnContext {
  readonly config: TurnConfig
  readonly clock: Clock
  readonly random: (n: number) => Uint8Array
  readonly log: Logger
  /** Actions from timers (expiries); actions caused by a packet are returned instead. */
  readonly onActions: (actions: TurnAction[]) => void
  /** A reason to refuse relaying to a peer IP (403), or undefined to allow. */
  readonly peerPolicy: (ip: string) => string | undefined
  readonly auth: Authenticator
  readonly counters: TurnCounters
  readonly table: AllocationTable
}

/** A request's reply in the making: whom to answer and how to protect it. */
export interface Reply {
  to: TransportAddress
  request: StunHeader & { hasFingerprint: boolean }
  auth?: Auth
}

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))
