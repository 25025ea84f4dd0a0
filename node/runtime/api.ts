// What a running node offers to its user interfaces: the control API, the
// interactive shell and --json output all go through this, nothing else.
import type { PresenceStatus, UserStatus } from '../../common/presence.js'
import type { BrowserMediaReply, CallAudioOptions, CallProgressEvent, CallInfo, CallOptions } from '../calls/call-types.js'
import type { EndReason } from '../calls/call-bodies.js'
import type { CallHistoryResponse } from '../../common/login-api.js'

export type { BrowserMediaEvent, BrowserMediaReply, CallAudioOptions, CallAudioStreams, CallMediaSummary, CallProgressEvent, CallInfo, CallOptions, CallSetup, CallStats } from '../calls/call-types.js'
export type { EndReason } from '../calls/call-bodies.js'

export type Role = 'host' | 'supernode'
/** What the user chose: a role, or `auto` (promote when reachable and needed). */
export type RoleMode = Role | 'auto'

/** Our calls to and from phone numbers, as the PSTN gateway recorded them (times unix ms, cost in minor units): the login server's answer. */
export type CallHistory = CallHistoryResponse

export interface NodeStatus {
  user: string
  /** Only while the node starts: what it waits for, e.g. "waiting for the login server at URL (retrying in 4 s)". */
  state?: string
  /** Only while the node waits for its user's password (started without one): `signIn` gives it. */
  waitingForSignIn?: true
  role: Role
  /** For a host (and a supernode's own user session): the supernode it is attached to. */
  supernode: { user?: string, address: string, deviceKey: string } | null
  presence: UserStatus
  /** Supernode ↔ supernode links (supernode role), 0 for hosts. */
  peers: number
  /** Hosts registered here (supernode role). */
  hosts: number
  /**
   * The TURN relay's own counters (supernode role): live allocations, what it relayed each way,
   * requests, error responses sent (by code) and datagrams dropped (by reason, see turn-stats.ts).
   */
  relay: {
    allocations: number
    toPeer: { packets: number, bytes: number }
    fromPeer: { packets: number, bytes: number }
    requests: number
    errorResponses: Record<number, number>
    dropped: Record<string, number>
  } | null
  uptimeSeconds: number
  loginServer: string
  listen: string | null
  advertise: string | null
  deviceKey: string
}

/**
 * `since`: when they became a contact (login server, unix seconds). `statusSince`: when this node
 * saw their status change to the one shown (unix ms), or null when it has seen no status of theirs;
 * `statusSinceExact` false when that was the first status it heard after it started (or they became
 * a contact), so the status may be older.
 */
export interface ContactView { username: string, status: PresenceStatus, since: number, statusSince: number | null, statusSinceExact: boolean }

export interface ContactRequestView { id: number, from: string, to: string, message: string, createdAt: number }
export interface AcceptedRequestView extends ContactRequestView { acceptedAt: number }
/** Pending requests both ways, and the ones accepted in the last days (either way). */
export interface ContactRequestsView { incoming: ContactRequestView[], outgoing: ContactRequestView[], accepted: AcceptedRequestView[] }

/** Events, as printed one JSON object per line with --json and streamed by the control API. */
export type NodeEvent =
  | { event: 'ready', user: string, role: Role, control: string }
  | { event: 'role', role: Role, reason: string }
  | { event: 'attached', supernode: { user?: string, address: string }, setupMs: number }
  | { event: 'detached', supernode: { user?: string, address: string }, reason: string }
  | { event: 'presence', user: string, status: PresenceStatus }
  | { event: 'message', from: string, id: string, text: string, sentAt: number, writtenAt: number }
  | { event: 'receipt', from: string, ref: string }
  /** A text of ours got its receipt after `msg` had returned (it was queued, or its receipt was late). */
  | { event: 'delivered', to: string, id: string, writtenAt: number }
  | { event: 'contact-request', from: string, message: string }
  | { event: 'contact-added', username: string }
  | { event: 'contact-removed', username: string }
  | { event: 'error', message: string }
  | CallProgressEvent

export type SendMessageResult =
  | { status: 'delivered', id: string, receiptMs: number }
  /** Reached at least one device but no receipt came back in time. */
  | { status: 'sent', id: string }
  /** Kept by this node: it goes out when the recipient comes online. */
  | { status: 'queued', id: string, reason: 'offline' | 'not-connected' }

/** Outgoing: queued, sent (reached a device), delivered (receipted). Incoming: received. */
export type MessageState = 'queued' | 'sent' | 'delivered' | 'received'

/**
 * A message in this node's history. Outgoing: `writtenAt` when it was given to the node, `sentAt` when
 * it first reached a device of `peer` (null while queued), `deliveredAt` when the receipt came.
 * Incoming: `writtenAt` = `sentAt` = the sender's signed send time, `deliveredAt` when it arrived here.
 * Times in unix ms.
 */
export interface MessageView {
  id: string
  peer: string
  direction: 'out' | 'in'
  text: string
  state: MessageState
  writtenAt: number
  sentAt: number | null
  deliveredAt: number | null
}

export interface NodeApi {
  status: () => NodeStatus
  /** Our credit for calls to phone numbers, from the login server: minor units (cents) of `currency`. */
  balance: () => Promise<{ balance: number, currency: string }>
  /** Our calls to and from phone numbers (the PSTN gateway's records, kept by the login server), newest first. */
  callHistory: (limit?: number) => Promise<CallHistory>
  contacts: () => Promise<ContactView[]>
  requests: () => Promise<ContactRequestsView>
  /** Sends a contact request (or completes one the other side sent). */
  addContact: (username: string, message?: string) => Promise<{ status: 'pending' | 'accepted' }>
  acceptContact: (username: string) => Promise<void>
  declineContact: (username: string) => Promise<void>
  removeContact: (username: string) => Promise<void>
  block: (username: string) => Promise<void>
  unblock: (username: string) => Promise<void>
  setPresence: (status: UserStatus) => void
  /** The user's password, for a node started without one (it waits for it: the web client's sign-in); throws why it was refused. */
  signIn: (password: string) => Promise<void>
  /** Whether this node serves as a supernode, chosen while it runs (`auto` lets it decide again); throws why it cannot serve. */
  setRole: (mode: RoleMode) => Promise<{ role: Role, mode: RoleMode }>
  sendMessage: (to: string, text: string) => Promise<SendMessageResult>
  /** The history: one conversation's last `limit` messages (oldest first), or without `peer` the last message of each. */
  messages: (peer?: string, limit?: number) => MessageView[]
  /** Places a call; progress arrives as call-* events. */
  placeCall: (to: string, options?: CallOptions) => Promise<{ callId: string }>
  /** Answers the given (or the only) ringing call. */
  answerCall: (callId?: string, options?: CallAudioOptions) => Promise<{ callId: string }>
  /** `reason` (default declined) is what the caller is told: e.g. busy, from the PSTN gateway. */
  declineCall: (callId?: string, reason?: EndReason) => void
  /** Ends (or cancels) the given (or the only) call. */
  hangup: (callId?: string, reason?: EndReason) => void
  setMuted: (muted: boolean, callId?: string) => void
  /** The web client's page, as the media end of one of its calls: its SDP, or its media's state (calls/browser-media-port.ts). */
  browserMediaReply: (callId: string, reply: BrowserMediaReply) => void
  calls: () => CallInfo[]
  /** Subscribes to events; returns the unsubscribe function. */
  subscribe: (listener: (event: NodeEvent) => void) => () => void
  close: () => Promise<void>
}
