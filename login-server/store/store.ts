// The login server's persistence, as the routes see it. Every method is one
// atomic operation (a transaction where it writes more than one row), and every
// method is async, so a PostgreSQL store can implement the same interface
// without the routes changing. SQLite (sqlite-store.ts) is the embedded default;
// PostgreSQL (postgres-store.ts) is for several instances on one database.
import type { RateLimit } from '../constants.js'
import type { RateLimiter } from '../rate-limiter.js'

export interface Account { username: string, passwordHash: string, createdAt: number }

export interface Session { username: string, deviceKey: string, createdAt: number, expiresAt: number }

export interface ContactRequest {
  id: number
  from: string
  to: string
  message: string
  createdAt: number
}

/** A request the addressee accepted (or that completed a pair), listed for a while after. */
export interface AcceptedRequest extends ContactRequest { acceptedAt: number }

export interface Contact { username: string, since: number }

export interface SupernodeEntry {
  deviceKey: string
  username: string
  address: string
  hosts: number
  capacity: number
  lastHeartbeat: number
  /** unix seconds of the last successful dial-back */
  confirmedAt: number
  expiresAt: number
  /** newest signed heartbeat timestamp seen (replay guard) */
  lastTimestamp: number
}

/** "Certificates of this user's device up to `serial` are void", until `expiresAt` (unix s) when the last of them expires anyway. */
export interface RevocationRow { id: number, username: string, deviceKey: string, serial: number, expiresAt: number }

/**
 * One line of a user's credit ledger, in minor units (cents): a credit (positive) or a call's
 * charge (zero or negative, one per call id). Lines are only ever added; the balance is their sum.
 */
export interface CreditEntry {
  id: number
  username: string
  amount: number
  kind: 'credit' | 'charge'
  /** The call a charge is for (unique); undefined for a credit. */
  callId?: string
  note: string
  createdAt: number
}

/** A call to or from a phone number as the PSTN gateway recorded it; `cost` is the ledger's charge for it (0 if none). */
export interface PstnCallRecord {
  callId: string
  username: string
  direction: 'outbound' | 'inbound'
  number: string
  callerNumber?: string
  /** Unix ms. */
  startedAt: number
  answeredAt?: number
  endedAt: number
  billsec: number
  disposition: string
  reason: string
}

/** A call to a phone number the gateway may connect: its rate, how long, and the credit held for it until it is charged. */
export interface PstnAuthorization {
  callId: string
  username: string
  number: string
  ratePerMinute: number
  maxSeconds: number
  hold: number
  /** Unix s. */
  authorizedAt: number
  settled: boolean
}

export type AuthorizeResult =
  /** `again`: the same call asked before (another gateway, a retry): the same authorization. */
  | { kind: 'authorized' | 'again', authorization: PstnAuthorization, available: number }
  | { kind: 'no_credit', available: number }
  /** The call id is another call's (or one already charged): refused, so an id cannot buy a second call. */
  | { kind: 'reused' }
  | { kind: 'no_account' }

export type ChargeResult =
  | { kind: 'charged', entry: CreditEntry }
  /** This call was charged before: the entry then, unchanged. */
  | { kind: 'already', entry: CreditEntry }
  | { kind: 'no_account' }

export type CreateRequestResult =
  | { kind: 'created', request: ContactRequest }
  | { kind: 'exists', request: ContactRequest }
  /** the other side had already asked: both are now contacts */
  | { kind: 'accepted' }
  /** the two are contacts already: nothing was written */
  | { kind: 'already_contacts' }

/**
 * Who the login server is, as its database records it: the public half of the signing key and a
 * check value of the lookup secret (a keyed hash, not the secret). Every instance on the database
 * must hold these same two secrets: the first to start records them, the others compare.
 */
export interface ServerIdentity { signingPublicKey: string, lookupSecretCheck: string }

export interface LoginStore {
  /** Records `identity` as the database's unless one is recorded already; returns the recorded one. */
  claimIdentity (identity: ServerIdentity, now: number): Promise<ServerIdentity>
  /**
   * The limiter `name`, counting where every instance on this store counts: the database for a
   * store several instances share, this process's memory for one only one process opens.
   */
  rateLimiter (name: string, limit: RateLimit): RateLimiter

  createAccount (username: string, passwordHash: string, now: number): Promise<'created' | 'taken'>
  getAccount (username: string): Promise<Account | undefined>

  createSession (tokenHash: Uint8Array, session: Session): Promise<void>
  getSession (tokenHash: Uint8Array, now: number): Promise<Session | undefined>
  deleteSession (tokenHash: Uint8Array): Promise<boolean>
  /**
   * Logout: deletes the session and, in the same transaction, revokes every unexpired certificate
   * issued so far to its user's device (one entry up to the newest serial, kept until graceSeconds
   * after that certificate expires); drops entries no longer needed.
   */
  endSession (tokenHash: Uint8Array, now: number, graceSeconds: number): Promise<boolean>
  /** Unexpired revocations with id > `after`, oldest first, at most `limit`. */
  listRevocations (after: number, now: number, limit: number): Promise<RevocationRow[]>
  /** A device key that logged in successfully for `username` at or after `since` (a "device cookie"). */
  isKnownDevice (username: string, deviceKey: string, since: number): Promise<boolean>
  /** Marks the device known for `username` (or refreshes its last login); keeps at most `maxPerUser`, forgetting the least recently used. */
  recordKnownDevice (username: string, deviceKey: string, now: number, maxPerUser: number): Promise<void>
  /** Records an issued certificate and returns its serial number (strictly increasing). */
  recordCertificate (username: string, deviceKey: string, issued: number, expires: number): Promise<number>

  /**
   * Sends a request, or completes the pair when `to` had already asked `from`. A request to someone
   * who has blocked `from` is hidden: invisible to `to`, and it completes nothing. Whether they are
   * contacts and whether `to` blocked `from` are read in the same transaction as the write, so a
   * block (or a contact made) at the same moment, on any instance, is never half seen.
   */
  createContactRequest (from: string, to: string, message: string, now: number): Promise<CreateRequestResult>
  /** Pending (not yet answered) requests only, here and in the two lists below. */
  countOutgoingRequests (from: string): Promise<number>
  listIncomingRequests (username: string): Promise<ContactRequest[]>
  listOutgoingRequests (username: string): Promise<ContactRequest[]>
  /** Requests from or to `username` accepted at or after `since`, while the two are still contacts. */
  listAcceptedRequests (username: string, since: number): Promise<AcceptedRequest[]>
  /** Only the addressee may accept; makes both users contacts of each other and keeps the request as accepted. */
  acceptContactRequest (id: number, username: string, now: number): Promise<'accepted' | 'not_found'>
  declineContactRequest (id: number, username: string): Promise<'declined' | 'not_found'>
  areContacts (a: string, b: string): Promise<boolean>
  listContacts (username: string): Promise<Contact[]>
  /** Removes the contact both ways (and the accepted request that made it). */
  removeContact (username: string, contact: string): Promise<boolean>

  /** Blocks `blocked` for `owner` and drops every pending request between them addressed to `owner`. */
  block (owner: string, blocked: string, now: number): Promise<void>
  unblock (owner: string, blocked: string): Promise<boolean>
  isBlocked (owner: string, blocked: string): Promise<boolean>
  listBlocks (owner: string): Promise<string[]>

  getSupernode (deviceKey: string): Promise<SupernodeEntry | undefined>
  /**
   * Writes the entry, unless the one stored has a newer or equal lastTimestamp: a replayed heartbeat
   * that raced its original past the route's check (on another instance, or during the dial-back)
   * does not take the entry back to it. The same holds in putSupernodeIfRoom.
   */
  putSupernode (entry: SupernodeEntry): Promise<void>
  /**
   * Puts the entry only while fewer than `max` other live entries share its address group
   * (`groupOf` of their addresses), checked and written in one transaction: concurrent
   * heartbeats from one address cannot all get in. False when there was no room.
   */
  putSupernodeIfRoom (entry: SupernodeEntry, now: number, max: number, groupOf: (address: string) => string): Promise<boolean>
  /** Up to `limit` unexpired entries, in random order. */
  sampleLiveSupernodes (now: number, limit: number): Promise<SupernodeEntry[]>
  countLiveSupernodes (now: number): Promise<number>
  /** Every unexpired entry (the supernode list is small: it bounds itself by address). */
  listLiveSupernodes (now: number): Promise<SupernodeEntry[]>
  deleteExpiredSupernodes (now: number): Promise<number>

  /**
   * A service account (the PSTN gateway): an account `name` no password opens, and the hash of
   * the token it logs in with, in one transaction. 'taken' when the name is anyone's already.
   */
  createService (name: string, tokenHash: Uint8Array, now: number): Promise<'created' | 'taken'>
  /** The service whose token this is. */
  getServiceByToken (tokenHash: Uint8Array): Promise<string | undefined>
  /** Every service's name. */
  listServices (): Promise<string[]>

  /** Adds a credit line (amount > 0); 'no_account' when there is no such user. */
  addCredit (username: string, amount: number, note: string, now: number): Promise<CreditEntry | 'no_account'>
  /** The sum of the user's ledger; 0 for a user with none. */
  getBalance (username: string): Promise<number>
  /**
   * Authorizes a call: credit for at least a minute beyond what open authorizations hold (each holds
   * what its maxSeconds could cost, until charged or until it expires `holdSeconds` after it was made),
   * for at most `maxMinutes`. One transaction: concurrent calls cannot spend the same credit twice.
   */
  authorizeCall (request: { callId: string, username: string, number: string, ratePerMinute: number, maxMinutes: number, holdSeconds: number }, now: number): Promise<AuthorizeResult>
  getAuthorization (callId: string): Promise<PstnAuthorization | undefined>
  /** Charges a call (amount ≥ 0, recorded negated) once, releasing its authorization's hold: a second charge of the same call id changes nothing. */
  chargeCall (username: string, callId: string, amount: number, note: string, now: number): Promise<ChargeResult>
  /** The user's newest ledger lines first, at most `limit`. */
  listCreditEntries (username: string, limit: number): Promise<CreditEntry[]>

  /** Keeps a call's record once (a second report of its id changes nothing); at most `maxPerUser` per user, the oldest dropped. */
  recordPstnCall (record: PstnCallRecord, maxPerUser: number): Promise<'recorded' | 'exists' | 'no_account'>
  /** The user's records, newest first, each with its cost from the ledger. */
  listPstnCalls (username: string, limit: number): Promise<Array<PstnCallRecord & { cost: number }>>

  close (): Promise<void>
}
