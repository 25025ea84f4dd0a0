// STUN messages (RFC 8489) with the TURN attributes (RFC 8656), and TURN ChannelData framing.
//
// Decoding takes bytes off the network: it is bounded (MAX_ATTRIBUTES, per-attribute length
// rules, the 16-bit length field) and never throws; a failure is a result with a reason, and
// carries the header when that much parsed, so a server can still answer a bad request with
// 400. Encoding takes our own values and throws TurnError when the wire cannot carry them.
//
// Attribute values of a decoded message (DATA, tokens, integrity) are views into the input.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import {
  ATTR, CHANNEL_DATA_HEADER_BYTES, COMPREHENSION_OPTIONAL_MIN, FAMILY_IPV4, FAMILY_IPV6,
  FINGERPRINT_XOR, HEADER_BYTES, MAGIC_COOKIE, MAX_ATTRIBUTES, MAX_STUN_MESSAGE_BYTES,
  MAX_TEXT_BYTES, MAX_USERNAME_BYTES, RESERVATION_TOKEN_BYTES, TRANSACTION_ID_BYTES
} from './constants.js'
import { TurnError } from './errors.js'
import { bytesToIp, ipToBytes, type TransportAddress } from './ip.js'

export type { TransportAddress } from './ip.js'

export type StunClass = 'request' | 'indication' | 'success' | 'error'

/** Attributes by their RFC names; `OTHER` is any type this codec does not interpret. */
export type StunAttribute =
  | { type: 'MAPPED-ADDRESS', value: TransportAddress }
  | { type: 'XOR-MAPPED-ADDRESS', value: TransportAddress }
  | { type: 'XOR-PEER-ADDRESS', value: TransportAddress }
  | { type: 'XOR-RELAYED-ADDRESS', value: TransportAddress }
  | { type: 'USERNAME', value: string }
  | { type: 'REALM', value: string }
  | { type: 'NONCE', value: string }
  | { type: 'SOFTWARE', value: string }
  | { type: 'ERROR-CODE', value: { code: number, reason: string } }
  | { type: 'UNKNOWN-ATTRIBUTES', value: number[] }
  | { type: 'LIFETIME', value: number }
  | { type: 'CHANNEL-NUMBER', value: number }
  | { type: 'DATA', value: Uint8Array }
  | { type: 'REQUESTED-TRANSPORT', value: number }
  | { type: 'REQUESTED-ADDRESS-FAMILY', value: 4 | 6 }
  | { type: 'EVEN-PORT', value: { reserve: boolean } }
  | { type: 'DONT-FRAGMENT', value: true }
  | { type: 'RESERVATION-TOKEN', value: Uint8Array }
  | { type: 'MESSAGE-INTEGRITY', value: Uint8Array }
  | { type: 'MESSAGE-INTEGRITY-SHA256', value: Uint8Array }
  | { type: 'FINGERPRINT', value: number }
  | { type: 'OTHER', code: number, value: Uint8Array }

export type StunAttributeType = StunAttribute['type']
export type AttributeOf<T extends StunAttributeType> = Extract<StunAttribute, { type: T }>

export interface StunHeader {
  /** 12-bit method, e.g. METHOD.ALLOCATE. */
  method: number
  class: StunClass
  /** 12 bytes. */
  transactionId: Uint8Array
}

export interface StunMessageInit extends StunHeader {
  attributes: StunAttribute[]
}

export interface StunMessage extends StunMessageInit {
  /** Comprehension-required attribute types (< 0x8000) this codec does not know, in order of appearance. */
  unknownRequired: number[]
  /** Byte offsets of the MESSAGE-INTEGRITY(-SHA256) attribute headers, for verifyIntegrity. */
  integrityOffsets: { sha1?: number, sha256?: number }
  hasFingerprint: boolean
  /** The message as received. */
  raw: Uint8Array
}

export type StunDecodeResult =
  | { ok: true, message: StunMessage }
  | { ok: false, reason: string, header?: StunHeader }

export interface StunEncodeOptions {
  /** Appends message integrity computed with this key (see longTermKey). */
  integrityKey?: Uint8Array
  /** Which integrity attribute(s) to append with integrityKey (default 'sha1' = MESSAGE-INTEGRITY). */
  integrity?: 'sha1' | 'sha256' | 'both'
  /** Appends FINGERPRINT. */
  fingerprint?: boolean
  /** Byte used for attribute padding (default 0; RFC 5769's vectors use 0x20). */
  padding?: number
}

// ---- attribute type table -------------------------------------------------------------------

type KnownType = Exclude<StunAttributeType, 'OTHER'>

const CODE_OF: Readonly<Record<KnownType, number>> = {
  'MAPPED-ADDRESS': ATTR.MAPPED_ADDRESS,
  'XOR-MAPPED-ADDRESS': ATTR.XOR_MAPPED_ADDRESS,
  'XOR-PEER-ADDRESS': ATTR.XOR_PEER_ADDRESS,
  'XOR-RELAYED-ADDRESS': ATTR.XOR_RELAYED_ADDRESS,
  USERNAME: ATTR.USERNAME,
  REALM: ATTR.REALM,
  NONCE: ATTR.NONCE,
  SOFTWARE: ATTR.SOFTWARE,
  'ERROR-CODE': ATTR.ERROR_CODE,
  'UNKNOWN-ATTRIBUTES': ATTR.UNKNOWN_ATTRIBUTES,
  LIFETIME: ATTR.LIFETIME,
  'CHANNEL-NUMBER': ATTR.CHANNEL_NUMBER,
  DATA: ATTR.DATA,
  'REQUESTED-TRANSPORT': ATTR.REQUESTED_TRANSPORT,
  'REQUESTED-ADDRESS-FAMILY': ATTR.REQUESTED_ADDRESS_FAMILY,
  'EVEN-PORT': ATTR.EVEN_PORT,
  'DONT-FRAGMENT': ATTR.DONT_FRAGMENT,
  'RESERVATION-TOKEN': ATTR.RESERVATION_TOKEN,
  'MESSAGE-INTEGRITY': ATTR.MESSAGE_INTEGRITY,
  'MESSAGE-INTEGRITY-SHA256': ATTR.MESSAGE_INTEGRITY_SHA256,
  FINGERPRINT: ATTR.FINGERPRINT
}

const TYPE_OF: ReadonlyMap<number, KnownType> = new Map(
  (Object.entries(CODE_OF) as Array<[KnownType, number]>).map(([name, code]) => [code, name])
)

/** The RFC name of an attribute type, or its hex code. */
export function attributeName (code: number): string {
  return TYPE_OF.get(code) ?? `0x${code.toString(16).padStart(4, '0')}`
}

// ---- small helpers --------------------------------------------------------------------------

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const padded = (n: number): number => (n + 3) & ~3
/** A copy (a Buffer's slice() is a view: writing to it would change the caller's bytes). */
const copy = (bytes: Uint8Array, start: number, end = bytes.length): Uint8Array => Uint8Array.prototype.slice.call(bytes, start, end)

function readU16 (bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number)
}
function readU32 (bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] as number) << 24) | ((bytes[offset + 1] as number) << 16) |
    ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number)) >>> 0
}
function writeU16 (bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff
  bytes[offset + 1] = value & 0xff
}
function writeU32 (bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff
  bytes[offset + 1] = (value >>> 16) & 0xff
  bytes[offset + 2] = (value >>> 8) & 0xff
  bytes[offset + 3] = value & 0xff
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (ISO 3309 / ITU-T V.42, as zlib and RFC 8489 §14.7). */
export function crc32 (bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}

// ---- message type -----------------------------------------------------------------------------

const CLASS_BITS: Readonly<Record<StunClass, number>> = { request: 0, indication: 1, success: 2, error: 3 }
const CLASSES: readonly StunClass[] = ['request', 'indication', 'success', 'error']

export function messageType (method: number, cls: StunClass): number {
  const c = CLASS_BITS[cls]
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
}

function splitType (type: number): { method: number, class: StunClass } {
  const method = (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80)
  const c = ((type >> 4) & 1) | ((type >> 7) & 2)
  return { method, class: CLASSES[c] as StunClass }
}

// ---- packet kinds -----------------------------------------------------------------------------

/**
 * What a datagram on a TURN server's client-facing socket is, by its first two bits
 * (RFC 8656 §12): 0b00 STUN, 0b01 ChannelData, anything else is neither.
 */
export function packetKind (bytes: Uint8Array): 'stun' | 'channel-data' | 'unknown' {
  if (bytes.length === 0) return 'unknown'
  const top = (bytes[0] as number) >> 6
  return top === 0 ? 'stun' : top === 1 ? 'channel-data' : 'unknown'
}

// ---- decoding -----------------------------------------------------------------------------------

type ValueResult = { ok: true, attribute: StunAttribute } | { ok: false, reason: string }

function decodeAddress (value: Uint8Array, xor: boolean, transactionId: Uint8Array): TransportAddress | string {
  if (value.length < 4) return `is ${value.length} bytes, too short for an address`
  const family = value[1]
  const expected = family === FAMILY_IPV4 ? 8 : family === FAMILY_IPV6 ? 20 : undefined
  if (expected === undefined) return `has unknown address family 0x${(family as number).toString(16)}`
  if (value.length !== expected) return `is ${value.length} bytes, want ${expected} for ${family === FAMILY_IPV4 ? 'IPv4' : 'IPv6'}`
  let port = readU16(value, 2)
  const ip = copy(value, 4)
  if (xor) {
    port ^= MAGIC_COOKIE >>> 16
    const mask = new Uint8Array(16)
    writeU32(mask, 0, MAGIC_COOKIE)
    mask.set(transactionId, 4)
    for (let i = 0; i < ip.length; i++) ip[i] = (ip[i] as number) ^ (mask[i] as number)
  }
  return { address: bytesToIp(ip), port }
}

function decodeText (value: Uint8Array, maxBytes: number): string | { error: string } {
  if (value.length > maxBytes) return { error: `is ${value.length} bytes, more than ${maxBytes}` }
  try {
    return strictUtf8.decode(value)
  } catch {
    return { error: 'is not valid UTF-8' }
  }
}

function decodeValue (code: number, value: Uint8Array, transactionId: Uint8Array): ValueResult {
  const type = TYPE_OF.get(code)
  const fail = (why: string): ValueResult => ({ ok: false, reason: `${attributeName(code)} ${why}` })
  const exact = (n: number): ValueResult | undefined => value.length === n ? undefined : fail(`is ${value.length} bytes, want ${n}`)
  switch (type) {
    case undefined:
      return { ok: true, attribute: { type: 'OTHER', code, value } }
    case 'MAPPED-ADDRESS':
    case 'XOR-MAPPED-ADDRESS':
    case 'XOR-PEER-ADDRESS':
    case 'XOR-RELAYED-ADDRESS': {
      const address = decodeAddress(value, type !== 'MAPPED-ADDRESS', transactionId)
      return typeof address === 'string' ? fail(address) : { ok: true, attribute: { type, value: address } }
    }
    case 'USERNAME':
    case 'REALM':
    case 'NONCE':
    case 'SOFTWARE': {
      const text = decodeText(value, type === 'USERNAME' ? MAX_USERNAME_BYTES : MAX_TEXT_BYTES)
      return typeof text === 'string' ? { ok: true, attribute: { type, value: text } } : fail(text.error)
    }
    case 'ERROR-CODE': {
      if (value.length < 4) return fail(`is ${value.length} bytes, want at least 4`)
      const cls = (value[2] as number) & 0x07
      const number = value[3] as number
      if (cls < 3 || cls > 6 || number > 99) return fail(`has an invalid code ${cls}${String(number).padStart(2, '0')}`)
      const reason = decodeText(value.subarray(4), MAX_TEXT_BYTES)
      if (typeof reason !== 'string') return fail(`reason ${reason.error}`)
      return { ok: true, attribute: { type, value: { code: cls * 100 + number, reason } } }
    }
    case 'UNKNOWN-ATTRIBUTES': {
      if (value.length % 2 !== 0) return fail(`is ${value.length} bytes, not a list of 16-bit types`)
      const types: number[] = []
      for (let i = 0; i < value.length; i += 2) types.push(readU16(value, i))
      return { ok: true, attribute: { type, value: types } }
    }
    case 'LIFETIME':
      return exact(4) ?? { ok: true, attribute: { type, value: readU32(value, 0) } }
    case 'CHANNEL-NUMBER':
      return exact(4) ?? { ok: true, attribute: { type, value: readU16(value, 0) } }
    case 'DATA':
      return { ok: true, attribute: { type, value } }
    case 'REQUESTED-TRANSPORT':
      return exact(4) ?? { ok: true, attribute: { type, value: value[0] as number } }
    case 'REQUESTED-ADDRESS-FAMILY': {
      const wrong = exact(4)
      if (wrong !== undefined) return wrong
      const family = value[0]
      if (family !== FAMILY_IPV4 && family !== FAMILY_IPV6) return fail(`has unknown family 0x${(family as number).toString(16)}`)
      return { ok: true, attribute: { type, value: family === FAMILY_IPV4 ? 4 : 6 } }
    }
    case 'EVEN-PORT':
      return exact(1) ?? { ok: true, attribute: { type, value: { reserve: ((value[0] as number) & 0x80) !== 0 } } }
    case 'DONT-FRAGMENT':
      return exact(0) ?? { ok: true, attribute: { type, value: true } }
    case 'RESERVATION-TOKEN':
      return exact(RESERVATION_TOKEN_BYTES) ?? { ok: true, attribute: { type, value } }
    case 'MESSAGE-INTEGRITY':
      return exact(20) ?? { ok: true, attribute: { type, value } }
    case 'MESSAGE-INTEGRITY-SHA256':
      if (value.length < 16 || value.length > 32 || value.length % 4 !== 0) return fail(`is ${value.length} bytes, want 16..32 in steps of 4`)
      return { ok: true, attribute: { type, value } }
    case 'FINGERPRINT':
      return exact(4) ?? { ok: true, attribute: { type, value: readU32(value, 0) } }
  }
}

/** The 20-byte header, checked; or the reason it is not a STUN header. */
export function decodeStunHeader (bytes: Uint8Array): { ok: true, header: StunHeader, length: number } | { ok: false, reason: string } {
  if (bytes.length < HEADER_BYTES) return { ok: false, reason: `truncated: ${bytes.length} bytes, a STUN header is ${HEADER_BYTES}` }
  const type = readU16(bytes, 0)
  if ((type & 0xc000) !== 0) return { ok: false, reason: 'not STUN: the first two bits are not zero' }
  if (readU32(bytes, 4) !== MAGIC_COOKIE) return { ok: false, reason: 'not STUN: wrong magic cookie (RFC 3489 STUN is not supported)' }
  const { method, class: cls } = splitType(type)
  return { ok: true, header: { method, class: cls, transactionId: copy(bytes, 8, HEADER_BYTES) }, length: readU16(bytes, 2) }
}

export function decodeStunMessage (bytes: Uint8Array): StunDecodeResult {
  const head = decodeStunHeader(bytes)
  if (!head.ok) return head
  const { header, length } = head
  const fail = (reason: string): StunDecodeResult => ({ ok: false, reason, header })
  if (length % 4 !== 0) return fail(`length ${length} is not a multiple of 4`)
  if (HEADER_BYTES + length > bytes.length) return fail(`truncated: the header announces ${length} bytes of attributes, ${bytes.length - HEADER_BYTES} arrived`)
  if (HEADER_BYTES + length < bytes.length) return fail(`${bytes.length - HEADER_BYTES - length} bytes after the announced end of the message`)

  const attributes: StunAttribute[] = []
  const unknownRequired: number[] = []
  const integrityOffsets: { sha1?: number, sha256?: number } = {}
  let hasFingerprint = false
  let count = 0
  for (let offset = HEADER_BYTES; offset < bytes.length;) {
    if (hasFingerprint) return fail('FINGERPRINT is not the last attribute')
    if (++count > MAX_ATTRIBUTES) return fail(`more than ${MAX_ATTRIBUTES} attributes`)
    if (offset + 4 > bytes.length) return fail('truncated attribute header')
    const code = readU16(bytes, offset)
    const valueLength = readU16(bytes, offset + 2)
    const start = offset + 4
    if (start + padded(valueLength) > bytes.length) {
      return fail(`attribute ${attributeName(code)} of ${valueLength} bytes overruns the message`)
    }
    const value = bytes.subarray(start, start + valueLength)
    const attributeOffset = offset
    offset = start + padded(valueLength)

    // After MESSAGE-INTEGRITY(-SHA256) only the other integrity attribute and FINGERPRINT count
    // (RFC 8489 §14.5, §14.6); anything else there is ignored.
    const afterIntegrity = integrityOffsets.sha1 !== undefined || integrityOffsets.sha256 !== undefined
    if (afterIntegrity && code !== ATTR.MESSAGE_INTEGRITY && code !== ATTR.MESSAGE_INTEGRITY_SHA256 && code !== ATTR.FINGERPRINT) continue

    const decoded = decodeValue(code, value, header.transactionId)
    if (!decoded.ok) return fail(decoded.reason)
    const attribute = decoded.attribute
    if (attribute.type === 'OTHER' && code < COMPREHENSION_OPTIONAL_MIN && !unknownRequired.includes(code)) unknownRequired.push(code)
    if (attribute.type === 'MESSAGE-INTEGRITY') {
      if (integrityOffsets.sha1 !== undefined) continue
      integrityOffsets.sha1 = attributeOffset
    } else if (attribute.type === 'MESSAGE-INTEGRITY-SHA256') {
      if (integrityOffsets.sha256 !== undefined) continue
      integrityOffsets.sha256 = attributeOffset
    } else if (attribute.type === 'FINGERPRINT') {
      hasFingerprint = true
      const expected = (crc32(bytes.subarray(0, attributeOffset)) ^ FINGERPRINT_XOR) >>> 0
      if (attribute.value !== expected) return fail('FINGERPRINT does not match the message')
    }
    attributes.push(attribute)
  }
  return {
    ok: true,
    message: { ...header, attributes, unknownRequired, integrityOffsets, hasFingerprint, raw: bytes }
  }
}

/** The first attribute of a type (RFC 8489 §14: later duplicates are ignored). */
export function findAttribute<T extends StunAttributeType> (message: StunMessageInit, type: T): AttributeOf<T> | undefined {
  return message.attributes.find(attribute => attribute.type === type) as AttributeOf<T> | undefined
}

/** Every attribute of a type, in order (e.g. the XOR-PEER-ADDRESSes of a CreatePermission). */
export function findAttributes<T extends StunAttributeType> (message: StunMessageInit, type: T): Array<AttributeOf<T>> {
  return message.attributes.filter(attribute => attribute.type === type) as Array<AttributeOf<T>>
}

// ---- encoding -----------------------------------------------------------------------------------

function encodeAddress (address: TransportAddress, xor: boolean, transactionId: Uint8Array, name: string): Uint8Array {
  const ip = ipToBytes(address.address)
  if (ip === undefined) throw new TurnError('ERR_INVALID_ARGUMENT', `${name}: ${JSON.stringify(address.address)} is not an IP address`)
  if (!Number.isInteger(address.port) || address.port < 0 || address.port > 0xffff) {
    throw new TurnError('ERR_INVALID_ARGUMENT', `${name}: port ${address.port} is out of range`)
  }
  const out = new Uint8Array(4 + ip.length)
  out[1] = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6
  writeU16(out, 2, xor ? address.port ^ (MAGIC_COOKIE >>> 16) : address.port)
  if (xor) {
    const mask = new Uint8Array(16)
    writeU32(mask, 0, MAGIC_COOKIE)
    mask.set(transactionId, 4)
    for (let i = 0; i < ip.length; i++) ip[i] = (ip[i] as number) ^ (mask[i] as number)
  }
  out.set(ip, 4)
  return out
}

function encodeText (text: string, maxBytes: number, name: string): Uint8Array {
  const bytes = utf8.encode(text)
  if (bytes.length > maxBytes) throw new TurnError('ERR_INVALID_ARGUMENT', `${name} is ${bytes.length} bytes, more than ${maxBytes}`)
  return bytes
}

function u32Value (value: number, name: string): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new TurnError('ERR_INVALID_ARGUMENT', `${name} ${value} is not a 32-bit unsigned integer`)
  const out = new Uint8Array(4)
  writeU32(out, 0, value)
  return out
}

function encodeValue (attribute: StunAttribute, transactionId: Uint8Array): { code: number, value: Uint8Array } {
  const name = attribute.type
  switch (attribute.type) {
    case 'OTHER':
      if (!Number.isInteger(attribute.code) || attribute.code < 0 || attribute.code > 0xffff) {
        throw new TurnError('ERR_INVALID_ARGUMENT', `attribute type ${attribute.code} is not a 16-bit number`)
      }
      return { code: attribute.code, value: attribute.value }
    case 'MAPPED-ADDRESS':
    case 'XOR-MAPPED-ADDRESS':
    case 'XOR-PEER-ADDRESS':
    case 'XOR-RELAYED-ADDRESS':
      return { code: CODE_OF[name as KnownType], value: encodeAddress(attribute.value, attribute.type !== 'MAPPED-ADDRESS', transactionId, name) }
    case 'USERNAME':
      return { code: ATTR.USERNAME, value: encodeText(attribute.value, MAX_USERNAME_BYTES, name) }
    case 'REALM':
    case 'NONCE':
    case 'SOFTWARE':
      return { code: CODE_OF[attribute.type], value: encodeText(attribute.value, MAX_TEXT_BYTES, name) }
    case 'ERROR-CODE': {
      const { code, reason } = attribute.value
      if (!Number.isInteger(code) || code < 300 || code > 699) throw new TurnError('ERR_INVALID_ARGUMENT', `error code ${code} is not in 300..699`)
      const text = encodeText(reason, MAX_TEXT_BYTES, 'ERROR-CODE reason')
      const out = new Uint8Array(4 + text.length)
      out[2] = Math.floor(code / 100)
      out[3] = code % 100
      out.set(text, 4)
      return { code: ATTR.ERROR_CODE, value: out }
    }
    case 'UNKNOWN-ATTRIBUTES': {
      const out = new Uint8Array(2 * attribute.value.length)
      attribute.value.forEach((type, i) => { writeU16(out, 2 * i, type) })
      return { code: ATTR.UNKNOWN_ATTRIBUTES, value: out }
    }
    case 'LIFETIME':
      return { code: ATTR.LIFETIME, value: u32Value(attribute.value, name) }
    case 'CHANNEL-NUMBER': {
      if (!Number.isInteger(attribute.value) || attribute.value < 0 || attribute.value > 0xffff) throw new TurnError('ERR_INVALID_ARGUMENT', `channel ${attribute.value} is not a 16-bit number`)
      const out = new Uint8Array(4)
      writeU16(out, 0, attribute.value)
      return { code: ATTR.CHANNEL_NUMBER, value: out }
    }
    case 'DATA':
      return { code: ATTR.DATA, value: attribute.value }
    case 'REQUESTED-TRANSPORT': {
      if (!Number.isInteger(attribute.value) || attribute.value < 0 || attribute.value > 0xff) throw new TurnError('ERR_INVALID_ARGUMENT', `protocol ${attribute.value} is not a byte`)
      return { code: ATTR.REQUESTED_TRANSPORT, value: Uint8Array.of(attribute.value, 0, 0, 0) }
    }
    case 'REQUESTED-ADDRESS-FAMILY':
      return { code: ATTR.REQUESTED_ADDRESS_FAMILY, value: Uint8Array.of(attribute.value === 4 ? FAMILY_IPV4 : FAMILY_IPV6, 0, 0, 0) }
    case 'EVEN-PORT':
      return { code: ATTR.EVEN_PORT, value: Uint8Array.of(attribute.value.reserve ? 0x80 : 0) }
    case 'DONT-FRAGMENT':
      return { code: ATTR.DONT_FRAGMENT, value: new Uint8Array(0) }
    case 'RESERVATION-TOKEN':
      if (attribute.value.length !== RESERVATION_TOKEN_BYTES) throw new TurnError('ERR_INVALID_ARGUMENT', `RESERVATION-TOKEN must be ${RESERVATION_TOKEN_BYTES} bytes`)
      return { code: ATTR.RESERVATION_TOKEN, value: attribute.value }
    case 'MESSAGE-INTEGRITY':
    case 'MESSAGE-INTEGRITY-SHA256':
    case 'FINGERPRINT':
      throw new TurnError('ERR_INVALID_ARGUMENT', `${name} is computed by the encoder: pass integrityKey / fingerprint options instead`)
  }
}

/** Encodes a message; MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT are appended as the options say. */
export function encodeStunMessage (message: StunMessageInit, options: StunEncodeOptions = {}): Uint8Array {
  if (message.transactionId.length !== TRANSACTION_ID_BYTES) throw new TurnError('ERR_INVALID_ARGUMENT', `transaction id must be ${TRANSACTION_ID_BYTES} bytes`)
  if (!Number.isInteger(message.method) || message.method < 0 || message.method > 0xfff) throw new TurnError('ERR_INVALID_ARGUMENT', `method ${message.method} is not 12 bits`)
  const pad = options.padding ?? 0
  const parts = message.attributes.map(attribute => encodeValue(attribute, message.transactionId))
  const integrity = options.integrityKey === undefined ? [] : options.integrity === 'both' ? ['sha1', 'sha256'] : [options.integrity ?? 'sha1']
  let size = HEADER_BYTES
  for (const part of parts) size += 4 + padded(part.value.length)
  const total = size + integrity.reduce((sum, kind) => sum + (kind === 'sha1' ? 24 : 36), 0) + (options.fingerprint === true ? 8 : 0)
  if (total > MAX_STUN_MESSAGE_BYTES) throw new TurnError('ERR_INVALID_ARGUMENT', `message would be ${total} bytes, more than ${MAX_STUN_MESSAGE_BYTES}`)

  const out = new Uint8Array(total)
  writeU16(out, 0, messageType(message.method, message.class))
  writeU32(out, 4, MAGIC_COOKIE)
  out.set(message.transactionId, 8)
  let offset = HEADER_BYTES
  const put = (code: number, value: Uint8Array): void => {
    writeU16(out, offset, code)
    writeU16(out, offset + 2, value.length)
    out.set(value, offset + 4)
    out.fill(pad, offset + 4 + value.length, offset + 4 + padded(value.length))
    offset += 4 + padded(value.length)
  }
  for (const part of parts) put(part.code, part.value)
  for (const kind of integrity) {
    const macLength = kind === 'sha1' ? 20 : 32
    writeU16(out, 2, offset + 4 + macLength - HEADER_BYTES)
    const mac = createHmac(kind, options.integrityKey as Uint8Array).update(out.subarray(0, offset)).digest()
    put(kind === 'sha1' ? ATTR.MESSAGE_INTEGRITY : ATTR.MESSAGE_INTEGRITY_SHA256, mac)
  }
  if (options.fingerprint === true) {
    writeU16(out, 2, offset + 8 - HEADER_BYTES)
    put(ATTR.FINGERPRINT, u32Value((crc32(out.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0, 'FINGERPRINT'))
  }
  writeU16(out, 2, offset - HEADER_BYTES)
  return out
}

// ---- integrity ----------------------------------------------------------------------------------

export type IntegrityCheck = { ok: true, algorithm: 'sha1' | 'sha256' } | { ok: false, reason: string }

/**
 * Checks a decoded message's MESSAGE-INTEGRITY-SHA256 (preferred when present) or
 * MESSAGE-INTEGRITY against `key`: the HMAC over the message up to that attribute, with the
 * length field as if the attribute ended the message (RFC 8489 §14.5, §14.6).
 */
export function verifyIntegrity (message: StunMessage, key: Uint8Array): IntegrityCheck {
  const { sha1, sha256 } = message.integrityOffsets
  const algorithm = sha256 !== undefined ? 'sha256' : sha1 !== undefined ? 'sha1' : undefined
  if (algorithm === undefined) return { ok: false, reason: 'no MESSAGE-INTEGRITY' }
  const offset = (algorithm === 'sha256' ? sha256 : sha1) as number
  const raw = message.raw
  const received = raw.subarray(offset + 4, offset + 4 + readU16(raw, offset + 2))
  const prefix = copy(raw, 0, offset)
  writeU16(prefix, 2, offset + 4 + received.length - HEADER_BYTES)
  const expected = createHmac(algorithm, key).update(prefix).digest().subarray(0, received.length)
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) {
    return { ok: false, reason: `${algorithm === 'sha256' ? 'MESSAGE-INTEGRITY-SHA256' : 'MESSAGE-INTEGRITY'} does not match` }
  }
  return { ok: true, algorithm }
}

// Simplified SASLprep (RFC 4013) as RFC 5389 applies it to passwords: characters commonly
// mapped to nothing are removed, non-ASCII spaces become spaces, then NFKC. Passwords this
// server issues are base64 (ASCII), which every variant of the preparation leaves unchanged.
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g

export function saslPrep (text: string): string {
  return text.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFKC')
}

/** The long-term credential key: MD5(username ":" realm ":" SASLprep(password)) (RFC 8489 §9.2.2). */
export function longTermKey (username: string, realm: string, password: string): Uint8Array {
  return createHash('md5').update(`${username}:${realm}:${saslPrep(password)}`, 'utf8').digest()
}

// ---- ChannelData (RFC 8656 §12.4) ---------------------------------------------------------------

export type ChannelDataDecodeResult = { ok: true, channel: number, data: Uint8Array } | { ok: false, reason: string }

/** A ChannelData message; `pad` rounds it to a multiple of 4 bytes (required over TCP, optional over UDP). */
export function encodeChannelData (channel: number, data: Uint8Array, options: { pad?: boolean } = {}): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0x4000 || channel > 0x7fff) throw new TurnError('ERR_INVALID_ARGUMENT', `channel 0x${channel.toString(16)} is not in 0x4000..0x7FFF`)
  if (data.length > 0xffff) throw new TurnError('ERR_INVALID_ARGUMENT', `ChannelData carries at most 65535 bytes, got ${data.length}`)
  const size = CHANNEL_DATA_HEADER_BYTES + (options.pad === true ? padded(data.length) : data.length)
  const out = new Uint8Array(size)
  writeU16(out, 0, channel)
  writeU16(out, 2, data.length)
  out.set(data, CHANNEL_DATA_HEADER_BYTES)
  return out
}

export function decodeChannelData (bytes: Uint8Array): ChannelDataDecodeResult {
  if (bytes.length < CHANNEL_DATA_HEADER_BYTES) return { ok: false, reason: `truncated ChannelData: ${bytes.length} bytes` }
  const channel = readU16(bytes, 0)
  if ((channel & 0xc000) !== 0x4000) return { ok: false, reason: `not ChannelData: channel 0x${channel.toString(16)}` }
  const length = readU16(bytes, 2)
  const end = CHANNEL_DATA_HEADER_BYTES + length
  if (end > bytes.length) return { ok: false, reason: `truncated ChannelData: announces ${length} bytes, ${bytes.length - CHANNEL_DATA_HEADER_BYTES} arrived` }
  if (bytes.length - end > 3) return { ok: false, reason: `${bytes.length - end} bytes after the ChannelData payload, more than padding` }
  return { ok: true, channel, data: bytes.subarray(CHANNEL_DATA_HEADER_BYTES, end) }
}
