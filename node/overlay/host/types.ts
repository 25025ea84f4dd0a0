// The overlay host's public shapes: what it is given (components, init), what
// it reports (events) and what it offers (the Host API).
import type { Sodium } from '../../../common/sodium.js'
import type { Clock } from '../../../common/clock.js'
import type { RandomSource } from '../../../common/random.js'
import type { LinkIdentity } from '../../../common/wire/link-handshake.js'
import type { OwnLookup } from '../../../common/lookup-keys.js'
import type { Logger } from '../../../common/logger.js'
import type { Transport } from '../../net/transport.js'
import type { LookupCapability, SupernodeRef } from '../messages.js'
import type { PresenceStatus, UserStatus } from '../../../common/presence.js'
import type { SupernodeCache } from '../supernode-cache.js'
import type { ApplicationBody } from '../envelope-bodies.js'

export type { UserStatus } from '../../../common/presence.js'

export type HostEvent =
  | { event: 'attached', supernode: SupernodeRef, setupMs: number }
  | { event: 'detached', supernode: SupernodeRef, reason: string }
  | { event: 'no-supernode', retryInMs: number, reason: string }
  | { event: 'presence', user: string, status: PresenceStatus }
  | { event: 'message', from: string, id: string, text: string, sentAt: number, writtenAt: number }
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
  cache: SupernodeCache
  /** Chance for republish jitter and reconnect backoff; default cryptoRandom. A seeded one makes a testnet run repeat exactly. */
  random?: RandomSource
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

export interface TurnServerCredentials { host: string, port: number, username: string, password: string, ttlSeconds: number, tcpPort?: number }

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
  /** `writtenAt`: when the user wrote the text, if it goes out later (a queued text). */
  sendText: (to: string, text: string, id?: string, writtenAt?: number) => Promise<SendResult & { id: string }>
  /** Asks for the presence of these users; answers arrive as 'presence' events. */
  queryPresence: (users: string[]) => void
  presenceOf: (user: string) => PresenceStatus
  /** Asks our supernode to dial back `address` (promotion check). */
  checkReachable: (address: string) => Promise<{ ok: boolean, reason: string }>
  /** TURN credentials on our supernode's relay, or undefined when it runs none (or we are not attached). */
  turnCredentials: () => Promise<TurnServerCredentials | undefined>
  /** Tells our supernode the TURN allocations at these relayed addresses are no longer needed. */
  releaseTurn: (relayed: Array<{ ip: string, port: number }>) => void
  /**
   * Pings our supernode now (SUPERNODE_CHECK_TIMEOUT_MS unless told): true while it answers; one
   * that does not is dropped and the host re-homes. For a call whose media went silent, which may
   * mean our supernode (and its relay) went dark without a close.
   */
  checkSupernode: (timeoutMs?: number) => Promise<boolean>
  /** Leaves the current supernode and attaches to the best one again (e.g. ourselves, just promoted). */
  rehome: (reason: string) => void
  close: () => void
}
