// The login server's HTTP API, declared once: the server validates with these
// schemas and the clients (CLI, nodes) are typed by them.
import { Type, type Static } from 'typebox'
import { ECHO_LINE, PHONE_NUMBER_PATTERN } from './phone-numbers.js'
import { Base64urlOfBytes, CertificateSchema, DeviceKey, HostPortText, SafeUint, Signature, SupernodeCredentialSchema, UsernameInput } from './schemas.js'

export { ErrorBody } from './error-body-schema.js'

/** Every error code the login server answers with, and its HTTP status. */
export const LOGIN_ERROR_STATUS = {
  invalid_request: 400,
  malformed_json: 400,
  invalid_username: 400,
  weak_password: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_certificate: 401,
  invalid_signature: 401,
  forbidden: 403,
  not_found: 404,
  username_taken: 409,
  already_contacts: 409,
  request_exists: 409,
  address_limit: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  unreachable: 422,
  stale_signature: 422,
  payment_required: 402,
  rate_limited: 429,
  internal: 500,
  busy: 503
} as const
export type LoginErrorCode = keyof typeof LOGIN_ERROR_STATUS

export const PasswordInput = Type.String({ minLength: 1, maxLength: 1024 })

export const InfoResponse = Type.Object({
  publicKey: Type.String(),
  version: Type.String(),
  certificateTtlSeconds: Type.Integer()
})
export type InfoResponse = Static<typeof InfoResponse>

export const CreateAccountRequest = Type.Object({
  username: UsernameInput,
  password: PasswordInput
}, { additionalProperties: false })
export const CreateAccountResponse = Type.Object({ username: Type.String() })

/**
 * Proof that the client holds `deviceKey`'s secret key: a signature by it over
 * canonical(loginProofBody(...)). Device keys are public (they are in every
 * certificate), so only a login with a valid proof counts as coming from a known
 * device, the "device cookie" that is exempt from the per-username limit.
 */
export const LoginProof = Type.Object({
  timestamp: SafeUint,
  signature: Signature
}, { additionalProperties: false })
export type LoginProof = Static<typeof LoginProof>

export const LOGIN_PROOF_PURPOSE = 'voxmesh/login/v1'

/** The exact object whose canonical encoding a login proof's signature covers; `server` is the login server's public key. */
export function loginProofBody (server: string, username: string, deviceKey: string, timestamp: number) {
  return { purpose: LOGIN_PROOF_PURPOSE, server, username, deviceKey, timestamp }
}

export const CreateSessionRequest = Type.Object({
  username: UsernameInput,
  password: PasswordInput,
  deviceKey: DeviceKey,
  proof: Type.Optional(LoginProof)
}, { additionalProperties: false })

export const SupernodeInfo = Type.Object({
  user: Type.String(),
  deviceKey: Type.String(),
  address: Type.String(),
  load: Type.Object({ hosts: Type.Integer(), capacity: Type.Integer() })
})
export type SupernodeInfo = Static<typeof SupernodeInfo>

/** The user's own lookup key seed and seal key (common/lookup-keys.ts): to publish its sealed locators. */
export const OwnLookup = Type.Object({ seed: Base64urlOfBytes(32), sealKey: Base64urlOfBytes(32) }, { additionalProperties: false })

export const CreateSessionResponse = Type.Object({
  token: Type.String(),
  certificate: CertificateSchema,
  supernodes: Type.Array(SupernodeInfo),
  lookup: OwnLookup
})
export type CreateSessionResponse = Static<typeof CreateSessionResponse>

export const CertificateResponse = Type.Object({ certificate: CertificateSchema })

/** Revocations (common/revocation.ts) after the cursor `after`, oldest first, at most MAX_REVOCATIONS_PER_PAGE. */
export const RevocationsQuery = Type.Object({ after: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$' })) }, { additionalProperties: false })
export const RevocationsResponse = Type.Object({
  revocations: Type.Array(Type.Object({
    id: Type.Integer({ minimum: 1 }),
    key: Base64urlOfBytes(32),
    serial: Type.Integer({ minimum: 0 }),
    expires: Type.Integer({ minimum: 0 })
  }, { additionalProperties: false })),
  /** True when more entries follow: ask again with after = the last id. */
  more: Type.Boolean()
}, { additionalProperties: false })
export type RevocationsResponse = Static<typeof RevocationsResponse>

export const ContactRequestInput = Type.Object({
  to: UsernameInput,
  message: Type.Optional(Type.String({ maxLength: 500 }))
}, { additionalProperties: false })

export const ContactRequestView = Type.Object({
  id: Type.Integer(),
  from: Type.String(),
  to: Type.String(),
  message: Type.String(),
  createdAt: Type.Integer()
})
export const ContactRequestCreated = Type.Object({
  status: Type.Union([Type.Literal('pending'), Type.Literal('accepted')]),
  request: Type.Optional(ContactRequestView)
})
export const AcceptedRequestView = Type.Object({
  id: Type.Integer(),
  from: Type.String(),
  to: Type.String(),
  message: Type.String(),
  createdAt: Type.Integer(),
  acceptedAt: Type.Integer()
})
export const ContactRequestsResponse = Type.Object({
  incoming: Type.Array(ContactRequestView),
  outgoing: Type.Array(ContactRequestView),
  /** Requests either way accepted in the last days (ACCEPTED_REQUESTS_SHOWN_SECONDS), newest last. */
  accepted: Type.Array(AcceptedRequestView)
})
/** Path parameters arrive as text: a decimal id without sign or leading zeros, at most 15 digits (a safe integer). */
export const RequestIdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$' }) })
export const UsernameParams = Type.Object({ username: UsernameInput })

/**
 * A contact's lookup capability (common/lookup-keys.ts) comes with it: where its locators are and
 * the key they are sealed with. Absent when either of the two blocked the other.
 */
export const ContactsResponse = Type.Object({
  contacts: Type.Array(Type.Object({
    username: Type.String(),
    since: Type.Integer(),
    lookupKey: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    sealKey: Type.Optional(Base64urlOfBytes(32))
  }))
})
export const BlockInput = Type.Object({ username: UsernameInput }, { additionalProperties: false })
export const BlocksResponse = Type.Object({ blocked: Type.Array(Type.String()) })

/** A supernode's signed heartbeat: `signature` is by its device key over canonical(SupernodeHeartbeatBody). */
export const SupernodeHeartbeat = Type.Object({
  certificate: CertificateSchema,
  address: HostPortText,
  load: Type.Object({
    hosts: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    capacity: Type.Integer({ minimum: 0, maximum: 1_000_000 })
  }, { additionalProperties: false }),
  timestamp: SafeUint,
  signature: Signature
}, { additionalProperties: false })
export type SupernodeHeartbeat = Static<typeof SupernodeHeartbeat>

export const SUPERNODE_HEARTBEAT_PURPOSE = 'voxmesh/supernode-heartbeat/v1'

/** The exact object whose canonical encoding a heartbeat signature covers. */
export function supernodeHeartbeatBody (hb: Omit<SupernodeHeartbeat, 'signature' | 'certificate'>, deviceKey: string) {
  return { purpose: SUPERNODE_HEARTBEAT_PURPOSE, deviceKey, address: hb.address, load: { ...hb.load }, timestamp: hb.timestamp }
}

export const SupernodeHeartbeatResponse = Type.Object({
  listed: Type.Boolean(),
  heartbeatSeconds: Type.Integer(),
  ttlSeconds: Type.Integer(),
  credential: SupernodeCredentialSchema
})

/** The PSTN gateway logs in as its service: a service token (header) and its device key. */
export const ServiceSessionRequest = Type.Object({ deviceKey: DeviceKey }, { additionalProperties: false })

/** Money: whole minor units (cents) of CURRENCY (common/money.ts). */
export { CURRENCY } from './money.js'
export const BalanceResponse = Type.Object({ balance: Type.Integer(), currency: Type.String() })
export type BalanceResponse = Static<typeof BalanceResponse>

/** A call id as the overlay's calls carry it. */
export const CallIdText = Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' })
export const PhoneNumberText = Type.String({ minLength: 1, maxLength: 32 })

/** Before dialing: may `username` call `number`, at what rate, for how long at most. */
export const AuthorizeCallRequest = Type.Object({ callId: CallIdText, username: UsernameInput, number: PhoneNumberText }, { additionalProperties: false })
export const AuthorizeCallResponse = Type.Object({
  /** Minor units per started minute. */
  ratePerMinute: Type.Integer(),
  /** The prefix of the rate table that matched. */
  prefix: Type.String(),
  balance: Type.Integer(),
  currency: Type.String(),
  /** Connected seconds the balance pays for (whole started minutes); the gateway cuts the call there. */
  maxSeconds: Type.Integer()
})
export type AuthorizeCallResponse = Static<typeof AuthorizeCallResponse>

/** At hangup: charge the call's connected seconds. Charged once per call id, however often sent. */
export const ChargeCallRequest = Type.Object({
  callId: CallIdText,
  username: UsernameInput,
  number: PhoneNumberText,
  billsec: Type.Integer({ minimum: 0, maximum: 86_400 })
}, { additionalProperties: false })
export const ChargeCallResponse = Type.Object({
  cost: Type.Integer(),
  balance: Type.Integer(),
  currency: Type.String(),
  /** True when this call had been charged before: nothing new was recorded. */
  duplicate: Type.Boolean()
})
export type ChargeCallResponse = Static<typeof ChargeCallResponse>

/** How a node reaches a user or a service in the overlay: the user's lookup capability. */
export const CapabilityView = Type.Object({
  username: Type.String(),
  lookupKey: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  sealKey: Base64urlOfBytes(32)
})
export type CapabilityView = Static<typeof CapabilityView>
/** The services (the PSTN gateway) every user may call, with how to reach them. */
export const ServicesResponse = Type.Object({ services: Type.Array(CapabilityView) })

/** The PSTN gateway reports each call's record once it ended (again after a restart: kept once). */
export const PstnCallRecordInput = Type.Object({
  callId: CallIdText,
  username: UsernameInput,
  direction: Type.Union([Type.Literal('outbound'), Type.Literal('inbound')]),
  /** The number dialed, or echo (the echo line); for an inbound call, the number the phone caller dialed. */
  number: Type.String({ pattern: `^(${PHONE_NUMBER_PATTERN.source.slice(1, -1)}|${ECHO_LINE})$` }),
  callerNumber: Type.Optional(Type.String({ pattern: PHONE_NUMBER_PATTERN.source })),
  startedAt: SafeUint,
  answeredAt: Type.Optional(SafeUint),
  endedAt: SafeUint,
  billsec: Type.Integer({ minimum: 0, maximum: 86_400 }),
  disposition: Type.Union([Type.Literal('ANSWERED'), Type.Literal('NO ANSWER'), Type.Literal('BUSY'), Type.Literal('FAILED'), Type.Literal('CONGESTION')]),
  reason: Type.String({ pattern: '^[a-z-]{1,32}$' })
}, { additionalProperties: false })
export type PstnCallRecordInput = Static<typeof PstnCallRecordInput>

export const CallHistoryQuery = Type.Object({ limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })) }, { additionalProperties: false })
/** A user's calls to and from phone numbers, newest first; `cost` in minor units of `currency`. */
export const CallHistoryResponse = Type.Object({
  currency: Type.String(),
  calls: Type.Array(Type.Object({
    callId: Type.String(),
    direction: Type.String(),
    number: Type.String(),
    callerNumber: Type.Optional(Type.String()),
    startedAt: Type.Integer(),
    answeredAt: Type.Optional(Type.Integer()),
    endedAt: Type.Integer(),
    billsec: Type.Integer(),
    cost: Type.Integer(),
    disposition: Type.String(),
    reason: Type.String()
  }))
})
export type CallHistoryResponse = Static<typeof CallHistoryResponse>
