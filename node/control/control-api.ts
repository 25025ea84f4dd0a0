// The local control API's request and response bodies, declared once: the
// server validates with these schemas, the client is typed by them.
import { Type } from 'typebox'
import {
  MAX_CALL_ID_CHARS, MAX_CONTACT_MESSAGE_CHARS, MAX_MESSAGE_CHARS, MAX_PATH_CHARS, MAX_TONE_HZ, MIN_TONE_HZ
} from './constants.js'
import { UsernameInput } from '../../common/schemas.js'
import { MAX_REMOTE_SDP_BYTES } from '../media/sdp-guard.js'
import { PresenceStatusSchema, SettableStatusSchema, UserStatusSchema } from '../../common/presence-schemas.js'

export { ErrorBody } from '../../common/error-body-schema.js'

export const UsernameParams = Type.Object({ username: UsernameInput })

export const AddContactInput = Type.Object({
  username: UsernameInput,
  message: Type.Optional(Type.String({ maxLength: MAX_CONTACT_MESSAGE_CHARS }))
}, { additionalProperties: false })
export const BlockInput = Type.Object({ username: UsernameInput }, { additionalProperties: false })
export const PresenceInput = Type.Object({ status: SettableStatusSchema }, { additionalProperties: false })
const RoleSchema = Type.Union([Type.Literal('host'), Type.Literal('supernode')])
const RoleModeSchema = Type.Union([RoleSchema, Type.Literal('auto')])
export const SignInInput = Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false })
export const RoleInput = Type.Object({ role: RoleModeSchema }, { additionalProperties: false })
export const RoleResponse = Type.Object({ role: RoleSchema, mode: RoleModeSchema })
export const SendMessageInput = Type.Object({
  to: UsernameInput,
  text: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_CHARS })
}, { additionalProperties: false })

// Calls. The node picks the only suitable call when callId is left out, and
// takes a unique prefix of an id. File paths are resolved by the node (the CLI
// sends absolute ones).
/** A call id, or the first characters of one (what `calls` shows): the API and the shell take the same. */
export const CALL_ID_PREFIX = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CALL_ID_CHARS}}$`)
export const CallId = Type.String({ minLength: 1, maxLength: MAX_CALL_ID_CHARS, pattern: CALL_ID_PREFIX.source })
const FilePath = Type.String({ minLength: 1, maxLength: MAX_PATH_CHARS })
const Tone = Type.Number({ minimum: MIN_TONE_HZ, maximum: MAX_TONE_HZ })
/** A web client page's id for itself (random): the page that is the call's media end. */
const MediaPage = Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })

export const PlaceCallInput = Type.Object({
  to: UsernameInput,
  play: Type.Optional(FilePath),
  tone: Type.Optional(Tone),
  record: Type.Optional(FilePath),
  /** Let record replace an existing file. */
  overwrite: Type.Optional(Type.Boolean()),
  relayOnly: Type.Optional(Type.Boolean()),
  mediaPage: Type.Optional(MediaPage)
}, { additionalProperties: false })
export const AnswerCallInput = Type.Object({
  callId: Type.Optional(CallId),
  play: Type.Optional(FilePath),
  tone: Type.Optional(Tone),
  record: Type.Optional(FilePath),
  overwrite: Type.Optional(Type.Boolean()),
  mediaPage: Type.Optional(MediaPage)
}, { additionalProperties: false })
/** The web client's page, the media end of a call: its SDP when asked for it, then its media's state. */
export const BrowserMediaReplyInput = Type.Union([
  Type.Object({ callId: CallId, page: MediaPage, step: Type.Literal('sdp'), sdp: Type.String({ minLength: 1, maxLength: MAX_REMOTE_SDP_BYTES }) }, { additionalProperties: false }),
  Type.Object({ callId: CallId, page: MediaPage, step: Type.Literal('connected'), path: Type.Union([Type.Literal('direct'), Type.Literal('relay')]) }, { additionalProperties: false }),
  Type.Object({ callId: CallId, page: MediaPage, step: Type.Literal('failed'), reason: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
  Type.Object({
    callId: CallId,
    page: MediaPage,
    step: Type.Literal('stats'),
    path: Type.Union([Type.Literal('direct'), Type.Literal('relay')]),
    rttMs: Type.Union([Type.Number({ minimum: 0, maximum: 60_000 }), Type.Null()]),
    jitterMs: Type.Number({ minimum: 0, maximum: 60_000 }),
    lossPct: Type.Number({ minimum: 0, maximum: 100 }),
    bitrateKbps: Type.Number({ minimum: 0, maximum: 100_000 }),
    bufferDelayMs: Type.Number({ minimum: 0, maximum: 60_000 }),
    packetsSent: Type.Integer({ minimum: 0 }),
    packetsReceived: Type.Integer({ minimum: 0 })
  }, { additionalProperties: false })
])
export const CallIdInput = Type.Object({ callId: Type.Optional(CallId) }, { additionalProperties: false })
export const MuteInput = Type.Object({ callId: Type.Optional(CallId), muted: Type.Boolean() }, { additionalProperties: false })

// Responses keep fields they do not declare (additionalProperties), so a field
// the node adds later reaches scripts without a change here.
const open = { additionalProperties: true }

const SupernodeView = Type.Object({
  user: Type.Optional(Type.String()),
  address: Type.String(),
  deviceKey: Type.String()
}, open)

export const StatusResponse = Type.Object({
  user: Type.String(),
  state: Type.Optional(Type.String()),
  waitingForSignIn: Type.Optional(Type.Literal(true)),
  role: RoleSchema,
  supernode: Type.Union([SupernodeView, Type.Null()]),
  presence: UserStatusSchema,
  peers: Type.Integer(),
  hosts: Type.Integer(),
  uptimeSeconds: Type.Number(),
  loginServer: Type.String(),
  listen: Type.Union([Type.String(), Type.Null()]),
  advertise: Type.Union([Type.String(), Type.Null()]),
  deviceKey: Type.String()
}, open)

export const ContactsResponse = Type.Object({
  contacts: Type.Array(Type.Object({
    username: Type.String(), status: PresenceStatusSchema, since: Type.Number(), statusSince: Type.Union([Type.Number(), Type.Null()]),
    statusSinceExact: Type.Boolean()
  }, open))
})

const RequestView = Type.Object({
  id: Type.Integer(), from: Type.String(), to: Type.String(), message: Type.String(), createdAt: Type.Number()
}, open)
const AcceptedRequestView = Type.Object({
  id: Type.Integer(), from: Type.String(), to: Type.String(), message: Type.String(), createdAt: Type.Number(), acceptedAt: Type.Number()
}, open)
export const RequestsResponse = Type.Object({
  incoming: Type.Array(RequestView), outgoing: Type.Array(RequestView), accepted: Type.Array(AcceptedRequestView)
})

export const AddContactResponse = Type.Object({ status: Type.Union([Type.Literal('pending'), Type.Literal('accepted')]) })
export const DoneResponse = Type.Object({ status: Type.String() })
export const PresenceResponse = Type.Object({ status: SettableStatusSchema })
export const SendMessageResponse = Type.Union([
  Type.Object({ status: Type.Literal('delivered'), id: Type.String(), receiptMs: Type.Number() }),
  Type.Object({ status: Type.Literal('sent'), id: Type.String() }),
  Type.Object({ status: Type.Literal('queued'), id: Type.String(), reason: Type.Union([Type.Literal('offline'), Type.Literal('not-connected')]) })
])
/** GET /v1/messages: one conversation (`with`) or the last message of each; `limit` messages at most. */
export const MessagesQuery = Type.Object({
  with: Type.Optional(UsernameInput),
  // A query string is text: digits, checked against the bound by the route.
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$' }))
}, { additionalProperties: false })
const Millis = Type.Union([Type.Number(), Type.Null()])
export const MessagesResponse = Type.Object({
  messages: Type.Array(Type.Object({
    id: Type.String(),
    peer: Type.String(),
    direction: Type.Union([Type.Literal('out'), Type.Literal('in')]),
    text: Type.String(),
    state: Type.Union([Type.Literal('queued'), Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('received')]),
    writtenAt: Type.Number(),
    sentAt: Millis,
    deliveredAt: Millis
  }, open))
})

export const CallIdResponse = Type.Object({ callId: Type.String() })
export const MuteResponse = Type.Object({ muted: Type.Boolean() })

const CallStatsView = Type.Object({
  path: Type.Union([Type.Literal('direct'), Type.Literal('relay'), Type.Literal('unknown')]),
  rttMs: Type.Union([Type.Number(), Type.Null()]),
  jitterMs: Type.Number(),
  lossPct: Type.Number(),
  bitrateKbps: Type.Number(),
  mos: Type.Number(),
  packetsSent: Type.Integer(),
  packetsReceived: Type.Integer()
}, open)
/** How a call's media set up, each step in ms after the answer (CallSetup). */
const CallSetupView = Type.Object({
  descriptionMs: Type.Optional(Type.Integer()),
  candidatesReleasedMs: Type.Optional(Type.Integer()),
  releasedBecause: Type.Optional(Type.String()),
  iceConnectedMs: Type.Optional(Type.Integer()),
  dtlsConnectedMs: Type.Optional(Type.Integer()),
  firstAudioMs: Type.Optional(Type.Integer()),
  localCandidates: Type.Array(Type.String()),
  remoteCandidates: Type.Array(Type.String()),
  pair: Type.Optional(Type.String()),
  dtlsRole: Type.Optional(Type.Union([Type.Literal('client'), Type.Literal('server')]))
}, open)
const CallInfoView = Type.Object({
  callId: Type.String(),
  direction: Type.Union([Type.Literal('outgoing'), Type.Literal('incoming')]),
  peer: Type.String(),
  state: Type.Union([Type.Literal('inviting'), Type.Literal('ringing'), Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('ended')]),
  startedAt: Type.Number(),
  connectedAt: Type.Optional(Type.Number()),
  muted: Type.Boolean(),
  stats: Type.Optional(CallStatsView),
  setup: Type.Optional(CallSetupView),
  /** A call to a phone number: the number dialed (or echo). */
  number: Type.Optional(Type.String()),
  /** A call from a phone: the caller's number. */
  callerNumber: Type.Optional(Type.String())
}, open)
export const CallsResponse = Type.Object({ calls: Type.Array(CallInfoView) })

// Our credit and our calls to and from phone numbers: the login server's answers, passed on as they are.
export { BalanceResponse, CallHistoryQuery, CallHistoryResponse as CallHistoryView } from '../../common/login-api.js'
