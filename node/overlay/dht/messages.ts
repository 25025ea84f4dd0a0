// DHT messages, declared once as schemas (which also type the code), and the checks every
// incoming request and response goes through: schema, then what a schema cannot say
// (parseable address, JSON-only value within its byte bound, whole-message size).
import { Type, type Static, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { parseHostPort } from '../../../common/address.js'
import { DeviceKey, SafeUint } from '../../../common/schemas.js'
import {
  MAX_ADDRESS_LENGTH, MAX_MESSAGE_BYTES, MAX_PEERS_PER_RESPONSE, MAX_REASON_LENGTH,
  MAX_RECORDS_PER_RESPONSE, MAX_SUBKEY_LENGTH, MAX_VALUE_BYTES, MAX_VALUE_DEPTH
} from './constants.js'
import { DhtError, type DhtErrorCode } from './errors.js'
import { HEX_ID_PATTERN } from './ids.js'

const HexId = Type.String({ pattern: HEX_ID_PATTERN })

export const DhtPeerSchema = Type.Object({
  /** 64 lowercase hex characters (32 bytes). */
  id: HexId,
  /** "host:port" */
  address: Type.String({ minLength: 3, maxLength: MAX_ADDRESS_LENGTH }),
  /**
   * The key the peer authenticates with (for voxmesh supernodes, the base64url device key).
   * Whoever dials the peer checks that this key holds a credential for `id`.
   */
  key: Type.Optional(DeviceKey)
}, { additionalProperties: false })
export type DhtPeer = Static<typeof DhtPeerSchema>

/** A copy of exactly the fields of a peer (no extra properties carried along). */
export function copyPeer (peer: DhtPeer): DhtPeer {
  return peer.key === undefined ? { id: peer.id, address: peer.address } : { id: peer.id, address: peer.address, key: peer.key }
}

export const DhtRecordSchema = Type.Object({
  /** 64 lowercase hex characters, e.g. a user's lookup key (common/lookup-keys.ts). */
  key: HexId,
  /** Printable ASCII without spaces, 1–128 characters, e.g. a device key. */
  subkey: Type.String({ pattern: `^[\\x21-\\x7e]{1,${MAX_SUBKEY_LENGTH}}$` }),
  /** Any JSON value, at most MAX_VALUE_BYTES when JSON-encoded. */
  value: Type.Unknown(),
  /** Per subkey, a higher seq replaces a lower one. */
  seq: SafeUint,
  /** Milliseconds since the epoch. */
  expiresAt: SafeUint
}, { additionalProperties: false })
export type DhtRecord = Static<typeof DhtRecordSchema>

const Peers = Type.Array(DhtPeerSchema, { maxItems: MAX_PEERS_PER_RESPONSE })
const Records = Type.Array(DhtRecordSchema, { maxItems: MAX_RECORDS_PER_RESPONSE })

export const PingRequest = Type.Object({ t: Type.Literal('ping') }, { additionalProperties: false })
export const FindNodeRequest = Type.Object({ t: Type.Literal('find_node'), target: HexId }, { additionalProperties: false })
export const StoreRequest = Type.Object({ t: Type.Literal('store'), record: DhtRecordSchema }, { additionalProperties: false })
export const FindValueRequest = Type.Object({ t: Type.Literal('find_value'), key: HexId }, { additionalProperties: false })
export const DhtRequestSchema = Type.Union([PingRequest, FindNodeRequest, StoreRequest, FindValueRequest])
export type DhtRequest = Static<typeof DhtRequestSchema>

export const PongResponse = Type.Object({ t: Type.Literal('pong') }, { additionalProperties: false })
export const NodesResponse = Type.Object({ t: Type.Literal('nodes'), peers: Peers }, { additionalProperties: false })
export const StoredResponse = Type.Object({
  t: Type.Literal('stored'),
  ok: Type.Boolean(),
  reason: Type.Optional(Type.String({ maxLength: MAX_REASON_LENGTH }))
}, { additionalProperties: false })
export const ValueResponse = Type.Object({ t: Type.Literal('value'), records: Records, peers: Peers }, { additionalProperties: false })
export const DhtResponseSchema = Type.Union([PongResponse, NodesResponse, StoredResponse, ValueResponse])
export type DhtResponse = Static<typeof DhtResponseSchema>

export type DhtRequestType = DhtRequest['t']
export type DhtResponseType = DhtResponse['t']

/** The response type each request must be answered with. */
export const RESPONSE_TYPE_FOR: Readonly<Record<DhtRequestType, DhtResponseType>> = {
  ping: 'pong',
  find_node: 'nodes',
  store: 'stored',
  find_value: 'value'
}

type Validator = ReturnType<typeof Compile<TSchema>>
const compile = (schema: TSchema): Validator => Compile(schema)

const requestValidators: Readonly<Record<DhtRequestType, Validator>> = {
  ping: compile(PingRequest),
  find_node: compile(FindNodeRequest),
  store: compile(StoreRequest),
  find_value: compile(FindValueRequest)
}
const responseValidators: Readonly<Record<DhtResponseType, Validator>> = {
  pong: compile(PongResponse),
  nodes: compile(NodesResponse),
  stored: compile(StoredResponse),
  value: compile(ValueResponse)
}
const peerValidator = compile(DhtPeerSchema)
const recordValidator = compile(DhtRecordSchema)

/** UTF-8 bytes of a value's JSON encoding (the value must already be known to be JSON). */
export function encodedBytes (value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8')
}

/** Why `value` is not plain JSON data (or undefined when it is). Walks at most MAX_VALUE_DEPTH deep. */
export function jsonValueProblem (value: unknown, depth = 0): string | undefined {
  if (depth > MAX_VALUE_DEPTH) return `nested deeper than ${MAX_VALUE_DEPTH}`
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'a non-finite number'
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonValueProblem(item, depth + 1)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return 'an object that is not plain JSON'
    for (const item of Object.values(value)) {
      const problem = jsonValueProblem(item, depth + 1)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  return `a ${typeof value}`
}

function schemaProblem (validator: Validator, value: unknown): string | undefined {
  if (validator.Check(value)) return undefined
  const errors = validator.Errors(value)
  // "schema is false" (an extra field seen from inside) says less than its additionalProperties twin.
  const error = errors.find(e => e.keyword !== 'boolean') ?? errors[0]
  if (error === undefined) return 'does not match its schema'
  const where = error.instancePath === '' ? '' : `${error.instancePath} `
  const extra = (error.params as { additionalProperties?: unknown }).additionalProperties
  if (error.keyword === 'additionalProperties' && Array.isArray(extra)) {
    return `${where}has unexpected field(s) ${extra.map(name => JSON.stringify(name)).join(', ')}`
  }
  return `${where}${error.message}`
}

function addressProblem (address: string): string | undefined {
  return parseHostPort(address) === undefined ? `address ${JSON.stringify(address)} is not host:port` : undefined
}

/** Why `peer` is not a valid DhtPeer, or undefined. */
export function peerProblem (peer: unknown): string | undefined {
  const problem = schemaProblem(peerValidator, peer)
  if (problem !== undefined) return problem
  return addressProblem((peer as DhtPeer).address)
}

/** Why `record` is not a well-formed DhtRecord (schema, JSON value, value size), or undefined. Says nothing about expiry or signatures. */
export function recordProblem (record: unknown): string | undefined {
  const problem = schemaProblem(recordValidator, record)
  if (problem !== undefined) return problem
  const value = (record as DhtRecord).value
  const valueProblem = jsonValueProblem(value)
  if (valueProblem !== undefined) return `/value is ${valueProblem}`
  const bytes = encodedBytes(value)
  if (bytes > MAX_VALUE_BYTES) return `/value is ${bytes} bytes as JSON, more than ${MAX_VALUE_BYTES}`
  return undefined
}

function fail (code: DhtErrorCode, what: string, problem: string): never {
  throw new DhtError(code, `${what}: ${problem}`)
}

/** Throws ERR_INVALID_PEER unless `peer` is a valid DhtPeer. */
export function parsePeer (peer: unknown, what = 'invalid peer'): DhtPeer {
  const problem = peerProblem(peer)
  if (problem !== undefined) fail('ERR_INVALID_PEER', what, problem)
  return peer as DhtPeer
}

/** Throws ERR_INVALID_RECORD unless `record` is a well-formed DhtRecord. */
export function parseRecord (record: unknown): DhtRecord {
  const problem = recordProblem(record)
  if (problem !== undefined) fail('ERR_INVALID_RECORD', 'invalid record', problem)
  return record as DhtRecord
}

function messageType (message: unknown): unknown {
  return typeof message === 'object' && message !== null && !Array.isArray(message) ? (message as { t?: unknown }).t : undefined
}

/**
 * A peer's "t" for an error message: a string cut short, anything else by its kind. Never
 * stringified whole: it can be tens of KB long, or nested deeper than JSON.stringify can recurse.
 */
function typeText (t: unknown): string {
  if (typeof t === 'string') return JSON.stringify(t.length > 32 ? `${t.slice(0, 32)}…` : t)
  return t === null ? 'null' : Array.isArray(t) ? 'an array' : t === undefined ? 'undefined' : typeof t === 'object' ? 'an object' : `a ${typeof t}`
}

function checkPeers (peers: DhtPeer[], what: string): void {
  peers.forEach((peer, i) => {
    const problem = addressProblem(peer.address)
    if (problem !== undefined) fail('ERR_INVALID_MESSAGE', what, `/peers/${i}/address: ${problem}`)
  })
}

function checkSize (message: unknown, what: string): void {
  const bytes = encodedBytes(message)
  if (bytes > MAX_MESSAGE_BYTES) fail('ERR_INVALID_MESSAGE', what, `${bytes} bytes as JSON, more than ${MAX_MESSAGE_BYTES}`)
}

/** Validates an incoming request. Throws DhtError ERR_INVALID_MESSAGE saying what is wrong. */
export function parseRequest (message: unknown): DhtRequest {
  const t = messageType(message)
  if (typeof t !== 'string' || !Object.hasOwn(requestValidators, t)) {
    fail('ERR_INVALID_MESSAGE', 'invalid request', `unknown request type ${typeText(t)}`)
  }
  const what = `invalid ${t} request`
  const problem = schemaProblem(requestValidators[t as DhtRequestType], message)
  if (problem !== undefined) fail('ERR_INVALID_MESSAGE', what, problem)
  const request = message as DhtRequest
  if (request.t === 'store') {
    const recordIssue = recordProblem(request.record)
    if (recordIssue !== undefined) fail('ERR_INVALID_MESSAGE', what, `/record${recordIssue}`)
  }
  checkSize(request, what)
  return request
}

/**
 * Validates the response to `request`: the matching type, schema and bounds, every
 * record's value, and the whole message's size. Throws DhtError ERR_INVALID_MESSAGE.
 * (Whether the records belong to the key asked for, are live and pass validateRecord is
 * the caller's business.)
 */
export function parseResponse (request: DhtRequest, message: unknown): DhtResponse {
  const expected = RESPONSE_TYPE_FOR[request.t]
  const t = messageType(message)
  if (t !== expected) {
    fail('ERR_INVALID_MESSAGE', `invalid response to ${request.t}`, `expected type "${expected}", got ${typeText(t)}`)
  }
  const what = `invalid ${expected} response`
  const problem = schemaProblem(responseValidators[expected], message)
  if (problem !== undefined) fail('ERR_INVALID_MESSAGE', what, problem)
  const response = message as DhtResponse
  if (response.t === 'nodes' || response.t === 'value') checkPeers(response.peers, what)
  if (response.t === 'value') {
    response.records.forEach((record, i) => {
      const recordIssue = recordProblem(record)
      if (recordIssue !== undefined) fail('ERR_INVALID_MESSAGE', what, `/records/${i}${recordIssue}`)
    })
  }
  checkSize(response, what)
  return response
}
