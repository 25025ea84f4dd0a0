// How a node is started (the CLI's `voxmesh node` flags map onto this), and
// what a started node is.
import type { Logger } from '../../common/logger.js'
import type { CallDefaults } from '../calls/call-service.js'
import type { PromotionThresholds } from './promotion.js'
import type { NodeApi } from './api.js'

export interface NodeOptions {
  user: string
  /** How the node logs in: a user's password, or a service's token (the PSTN gateway). Exactly one. */
  password?: string
  serviceToken?: string
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
