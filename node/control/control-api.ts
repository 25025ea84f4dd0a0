// The local control API's request and response bodies, declared once: the
// server validates with these schemas, the client is typed by them.
import { Type, type Static } from 'typebox'
import { MAX_CONTACT_MESSAGE_CHARS, MAX_MESSAGE_CHARS, MAX_USERNAME_INPUT_CHARS } from './constants.js'

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() })
})
export type ErrorBody = Static<typeof ErrorBody>

const UsernameInput = Type.String({ minLength: 1, maxLength: MAX_USERNAME_INPUT_CHARS })
export const UsernameParams = Type.Object({ username: UsernameInput })

export const SETTABLE_STATUSES = ['online', 'away', 'busy', 'invisible'] as const
export const PRESENCE_VIEW_STATUSES = ['online', 'away', 'busy', 'offline'] as const

const PresenceView = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('offline')])
export const SettableStatus = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('busy'), Type.Literal('invisible')])

export const AddContactInput = Type.Object({
  username: UsernameInput,
  message: Type.Optional(Type.String({ maxLength: MAX_CONTACT_MESSAGE_CHARS }))
}, { additionalProperties: false })
export const BlockInput = Type.Object({ username: UsernameInput }, { additionalProperties: false })
export const PresenceInput = Type.Object({ status: SettableStatus }, { additionalProperties: false })
export const SendMessageInput = Type.Object({
  to: UsernameInput,
  text: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_CHARS })
}, { additionalProperties: false })

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
  role: Type.Union([Type.Literal('host'), Type.Literal('supernode')]),
  supernode: Type.Union([SupernodeView, Type.Null()]),
  presence: Type.Union([...PresenceView.anyOf, Type.Literal('invisible')]),
  peers: Type.Integer(),
  hosts: Type.Integer(),
  uptimeSeconds: Type.Number(),
  loginServer: Type.String(),
  listen: Type.Union([Type.String(), Type.Null()]),
  advertise: Type.Union([Type.String(), Type.Null()]),
  deviceKey: Type.String()
}, open)

export const ContactsResponse = Type.Object({
  contacts: Type.Array(Type.Object({ username: Type.String(), status: PresenceView, since: Type.Number() }, open))
})

const RequestView = Type.Object({
  id: Type.Integer(), from: Type.String(), to: Type.String(), message: Type.String(), createdAt: Type.Number()
}, open)
export const RequestsResponse = Type.Object({ incoming: Type.Array(RequestView), outgoing: Type.Array(RequestView) })

export const AddContactResponse = Type.Object({ status: Type.Union([Type.Literal('pending'), Type.Literal('accepted')]) })
export const DoneResponse = Type.Object({ status: Type.String() })
export const PresenceResponse = Type.Object({ status: SettableStatus })
export const SendMessageResponse = Type.Union([
  Type.Object({ status: Type.Literal('delivered'), id: Type.String(), receiptMs: Type.Number() }),
  Type.Object({ status: Type.Literal('sent'), id: Type.String() }),
  Type.Object({ status: Type.Literal('offline'), id: Type.String() })
])
