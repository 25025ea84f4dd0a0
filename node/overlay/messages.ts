// Every message that crosses an overlay link (inside the encrypted frames),
// declared once as a schema with size bounds. decodeLinkMessage() is the only
// way bytes from a peer become a message.
import { Type, type Static, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { MAX_SEALED_LOCATOR_BYTES, SEALED_SUBKEY_HEX } from '../../common/wire/sealed-locator.js'
import { MAX_SIGNED_BODY_BYTES } from '../../common/wire/signed-record.js'
import { CertificateSchema, DeviceKey, HostPortText, SafeUint, SupernodeCredentialSchema, Username } from '../../common/schemas.js'

export const MAX_LINK_MESSAGE_BYTES = 32 * 1024
export const MAX_CONTACTS = 1000
export const MAX_TEXT_CHARS = 2000
/** Lookup capabilities in one contact-capabilities message (a host with more contacts sends several). */
export const CAPABILITIES_PER_MESSAGE = 100
/** UTF-8 bytes of the longest text: a UTF-16 unit is at most 3 bytes. */
export const MAX_TEXT_BYTES = MAX_TEXT_CHARS * 3
/** Devices of one user a sender learns (and seals a text to) at most. */
export const MAX_LOCATED_DEVICES = 16

const B64 = (max: number) => Type.String({ pattern: '^[A-Za-z0-9_-]*$', maxLength: max })
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' })

/** A signed object (common/wire/signed-envelope.ts); verified by whoever acts on it. */
export const Envelope = Type.Object({ certificate: CertificateSchema, body: B64(Math.ceil(MAX_SIGNED_BODY_BYTES * 4 / 3)), sig: B64(86) }, { additionalProperties: false })
export type Envelope = Static<typeof Envelope>

/** `user` is known once a link to it was made (it comes from its certificate). */
export const SupernodeRef = Type.Object({ user: Type.Optional(Username), deviceKey: DeviceKey, address: HostPortText }, { additionalProperties: false })
export type SupernodeRef = Static<typeof SupernodeRef>

/** How to find one contact (common/lookup-keys.ts): its DHT lookup key and the key its locators are sealed with. */
export const LookupCapability = Type.Object({ user: Username, lookupKey: Hex64, sealKey: B64(43) }, { additionalProperties: false })
export type LookupCapability = Static<typeof LookupCapability>

/** A locator sealed for the user's contacts, as stored in the DHT (common/wire/sealed-locator.ts). */
export const SealedLocatorRecord = Type.Object({
  key: Hex64,
  subkey: Type.String({ pattern: `^[0-9a-f]{${SEALED_SUBKEY_HEX}}$` }),
  value: Type.Object({ pub: B64(43), sealed: B64(Math.ceil(MAX_SEALED_LOCATOR_BYTES * 4 / 3)), sig: B64(86) }, { additionalProperties: false }),
  seq: SafeUint,
  expiresAt: SafeUint
}, { additionalProperties: false })
export type SealedLocatorRecord = Static<typeof SealedLocatorRecord>

const msg = <const L extends string, T extends Record<string, TSchema>>(t: L, fields: T) =>
  Type.Object({ t: Type.Literal(t), ...fields }, { additionalProperties: false })

// Host → supernode
export const Register = msg('register', {
  /** Signed locator (common/wire/locator.ts) naming this supernode. */
  locator: Envelope,
  /** The same locator sealed for our contacts: what the supernode publishes in the DHT. */
  lookupRecord: SealedLocatorRecord,
  /** reachTokenOf(our seal key): forwards to us must carry it (only holders of our capability can compute it). */
  reachToken: Hex64,
  /** Who may see this user's presence (the user's authorized contacts minus blocked users). */
  audience: Type.Array(Username, { maxItems: MAX_CONTACTS }),
  /** Signed presence published now, and a pre-signed "offline" the supernode publishes if the host vanishes. */
  presence: Envelope,
  offline: Envelope
})
export const UpdatePresence = msg('update-presence', {
  audience: Type.Array(Username, { maxItems: MAX_CONTACTS }),
  presence: Envelope,
  offline: Envelope
})
export const RefreshLocator = msg('refresh-locator', { locator: Envelope, lookupRecord: SealedLocatorRecord })
/**
 * The lookup capabilities of our contacts, in pieces of at most CAPABILITIES_PER_MESSAGE; the piece
 * with `last` completes the set, which then replaces the previous one. Sent after every registration.
 */
export const ContactCapabilities = msg('contact-capabilities', {
  capabilities: Type.Array(LookupCapability, { maxItems: CAPABILITIES_PER_MESSAGE }),
  last: Type.Boolean()
})
export const Route = msg('route', { id: SafeUint, to: Username, envelope: Envelope })
/** Asks the supernodes of `users` for their presence; `query` is signed by the asker so they can check the audience. */
export const PresenceQuery = msg('presence-query', { query: Envelope })
export const DialbackRequest = msg('dialback-request', { id: SafeUint, address: HostPortText })
export const Ping = msg('ping', { id: SafeUint })
/** Asks for short-lived TURN credentials on the supernode's relay (for a call). */
export const TurnRequest = msg('turn-request', { id: SafeUint })
/** Relayed addresses one turn-release may name: a call's ICE agent has one per TURN server, and at most 8 servers. */
export const MAX_RELEASED_RELAYS = 8
/** The call that used these relayed addresses on our supernode's relay is over: end their allocations. */
export const TurnRelease = msg('turn-release', {
  relayed: Type.Array(Type.Object({ ip: Type.String({ minLength: 2, maxLength: 45 }), port: Type.Integer({ minimum: 1, maximum: 65535 }) }), { minItems: 1, maxItems: MAX_RELEASED_RELAYS })
})

/** Asks for the devices of `to`, to seal a text to them. */
export const Locate = msg('locate', { id: SafeUint, to: Username })

// Supernode → host
export const Registered = msg('registered', {
  /** The supernode's admission: a host stays only with a supernode the login server vouches for. */
  credential: SupernodeCredentialSchema,
  hostCache: Type.Array(SupernodeRef, { maxItems: 64 }),
  /** The mesh wants more supernodes (input to promotion). */
  capacityNeeded: Type.Boolean()
})
export const Redirect = msg('redirect', { reason: Type.String({ maxLength: 200 }), supernodes: Type.Array(SupernodeRef, { maxItems: 64 }) })
export const RouteResult = msg('route-result', { id: SafeUint, delivered: Type.Integer({ minimum: 0, maximum: 64 }) })
export const Deliver = msg('deliver', { envelope: Envelope })
export const DialbackResult = msg('dialback-result', { id: SafeUint, ok: Type.Boolean(), reason: Type.String({ maxLength: 300 }) })
export const TurnCredentials = msg('turn-credentials', {
  id: SafeUint,
  /** False when this supernode runs no relay. */
  available: Type.Boolean(),
  host: Type.String({ maxLength: 253 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  username: Type.String({ maxLength: 128 }),
  password: Type.String({ maxLength: 128 }),
  ttlSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
  /** The relay's TURN-over-TCP port, when it takes clients over TCP (for hosts whose network drops UDP). */
  tcpPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 }))
})
/** The certificates of the devices of the user asked for (the host checks them: a supernode could lie). */
export const Located = msg('located', { id: SafeUint, devices: Type.Array(CertificateSchema, { maxItems: MAX_LOCATED_DEVICES }) })
export const Pong = msg('pong', { id: SafeUint, hosts: Type.Integer({ minimum: 0 }), capacity: Type.Integer({ minimum: 0 }), capacityNeeded: Type.Boolean() })

// Either way, on any link
/** The sender's certificate was renewed: the link lives on under it (a link closes when its peer's certificate expires). */
export const RenewedCertificate = msg('renewed-certificate', { certificate: CertificateSchema })

// Supernode ↔ supernode
/**
 * The first message on a supernode ↔ supernode link, both ways: where the sender listens and its
 * admission. Sent again when the credential is renewed. A link without a valid one is closed.
 */
export const PeerHello = msg('peer-hello', { address: HostPortText, credential: SupernodeCredentialSchema })
export const DhtCall = msg('dht', { id: SafeUint, request: Type.Unknown() })
export const DhtReply = msg('dht-reply', { id: SafeUint, response: Type.Unknown(), error: Type.Optional(Type.String({ maxLength: 300 })) })
/** Deliver `envelope` to every device of `to` registered at the receiving supernode whose reach token is `token`. */
export const Forward = msg('forward', { id: SafeUint, to: Username, envelope: Envelope, token: Hex64 })
export const ForwardResult = msg('forward-result', { id: SafeUint, delivered: Type.Integer({ minimum: 0, maximum: 64 }) })
/** A presence query relayed to the supernode of one of the queried users. */
export const PresenceFetch = msg('presence-fetch', { id: SafeUint, user: Username, query: Envelope })
export const PresenceFetchResult = msg('presence-fetch-result', { id: SafeUint, presence: Type.Array(Envelope, { maxItems: 16 }) })

const MESSAGES = [
  Register, UpdatePresence, RefreshLocator, ContactCapabilities, Route, PresenceQuery, DialbackRequest, Ping, TurnRequest, TurnRelease, Locate,
  Registered, Redirect, RouteResult, Deliver, DialbackResult, Pong, TurnCredentials, Located,
  PeerHello, DhtCall, DhtReply, Forward, ForwardResult, PresenceFetch, PresenceFetchResult, RenewedCertificate
] as const
export const LinkMessage = Type.Union([...MESSAGES])
export type LinkMessage = Static<typeof LinkMessage>
export type MessageOf<T extends LinkMessage['t']> = Extract<LinkMessage, { t: T }>

const validator = Compile(LinkMessage)
/** Per type, to say what is wrong with a message against its own schema, not the union's first member. */
const validatorOf = new Map<string, { Errors: (value: unknown) => Array<{ instancePath: string, message: string }> }>(
  MESSAGES.map(schema => [schema.properties.t.const, Compile(schema)]))

export type DecodeResult = { ok: true, message: LinkMessage } | { ok: false, reason: string }

export function decodeLinkMessage (bytes: Uint8Array): DecodeResult {
  if (bytes.length > MAX_LINK_MESSAGE_BYTES) return { ok: false, reason: `message of ${bytes.length} bytes exceeds ${MAX_LINK_MESSAGE_BYTES}` }
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return { ok: false, reason: 'message is not UTF-8 JSON' }
  }
  if (validator.Check(value)) return { ok: true, message: value }
  const t = typeof value === 'object' && value !== null ? (value as { t?: unknown }).t : undefined
  const first = (typeof t === 'string' ? validatorOf.get(t) ?? validator : validator).Errors(value)[0]
  return { ok: false, reason: `invalid ${typeof t === 'string' ? `"${t.slice(0, 32)}"` : 'untyped'} message${first === undefined ? '' : `: ${first.instancePath} ${first.message}`}` }
}

export function encodeLinkMessage (message: LinkMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message))
}
