// Attribute values on the wire: each attribute type's value to bytes and back, with the
// length and range rules of RFC 8489 §14 and RFC 8656 §18. Decoding never throws (a result
// with a reason); encoding throws TurnError when the wire cannot carry a value.
import {
  ATTR, FAMILY_IPV4, FAMILY_IPV6, MAGIC_COOKIE, MAX_TEXT_BYTES, MAX_USERNAME_BYTES, RESERVATION_TOKEN_BYTES
} from '../constants.js'
import { TurnError } from '../errors.js'
import { bytesToIp, ipToBytes, type TransportAddress } from '../ip.js'
import { attributeName, CODE_OF, TYPE_OF, type KnownType, type StunAttribute } from './attributes.js'
import { copy, readU16, readU32, strictUtf8, utf8, writeU16, writeU32 } from './bytes.js'

/** XORs an IP's bytes in place with the magic cookie and transaction id (the XOR-*-ADDRESS attributes). */
function xorIp (ip: Uint8Array, transactionId: Uint8Array): void {
  const mask = new Uint8Array(16)
  writeU32(mask, 0, MAGIC_COOKIE)
  mask.set(transactionId, 4)
  for (let i = 0; i < ip.length; i++) ip[i] = (ip[i] as number) ^ (mask[i] as number)
}

// ---- decoding -----------------------------------------------------------------------------------

export type ValueResult = { ok: true, attribute: StunAttribute } | { ok: false, reason: string }

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
    xorIp(ip, transactionId)
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

export function decodeValue (code: number, value: Uint8Array, transactionId: Uint8Array): ValueResult {
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
    xorIp(ip, transactionId)
  }
  out.set(ip, 4)
  return out
}

function encodeText (text: string, maxBytes: number, name: string): Uint8Array {
  const bytes = utf8.encode(text)
  if (bytes.length > maxBytes) throw new TurnError('ERR_INVALID_ARGUMENT', `${name} is ${bytes.length} bytes, more than ${maxBytes}`)
  return bytes
}

export function u32Value (value: number, name: string): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new TurnError('ERR_INVALID_ARGUMENT', `${name} ${value} is not a 32-bit unsigned integer`)
  const out = new Uint8Array(4)
  writeU32(out, 0, value)
  return out
}

export function encodeValue (attribute: StunAttribute, transactionId: Uint8Array): { code: number, value: Uint8Array } {
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
