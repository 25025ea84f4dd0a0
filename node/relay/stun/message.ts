// STUN messages (RFC 8489) with the TURN attributes (RFC 8656): the whole message, encoded and
// decoded. The header is header.ts, attribute values attribute-values.ts, integrity integrity.ts.
//
// Decoding takes bytes off the network: it is bounded (MAX_ATTRIBUTES, per-attribute length
// rules, the 16-bit length field) and never throws; a failure is a result with a reason, and
// carries the header when that much parsed, so a server can still answer a bad request with
// 400. Encoding takes our own values and throws TurnError when the wire cannot carry them.
//
// Attribute values of a decoded message (DATA, tokens, integrity) are views into the input.
import {
  ATTR, COMPREHENSION_OPTIONAL_MIN, HEADER_BYTES, MAGIC_COOKIE, MAX_ATTRIBUTES, MAX_STUN_MESSAGE_BYTES, TRANSACTION_ID_BYTES
} from '../constants.js'
import { TurnError } from '../errors.js'
import { attributeName, type StunAttribute } from './attributes.js'
import { decodeValue, encodeValue, u32Value } from './attribute-values.js'
import { padded, readU16, writeU16, writeU32 } from './bytes.js'
import { fingerprintOf } from './fingerprint.js'
import { decodeStunHeader, messageType, type StunHeader } from './header.js'
import { integrityMac } from './integrity.js'

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
      const expected = fingerprintOf(bytes.subarray(0, attributeOffset))
      if (attribute.value !== expected) return fail('FINGERPRINT does not match the message')
    }
    attributes.push(attribute)
  }
  return {
    ok: true,
    message: { ...header, attributes, unknownRequired, integrityOffsets, hasFingerprint, raw: bytes }
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
    const mac = integrityMac(kind as 'sha1' | 'sha256', options.integrityKey as Uint8Array, out.subarray(0, offset))
    put(kind === 'sha1' ? ATTR.MESSAGE_INTEGRITY : ATTR.MESSAGE_INTEGRITY_SHA256, mac)
  }
  if (options.fingerprint === true) {
    writeU16(out, 2, offset + 8 - HEADER_BYTES)
    put(ATTR.FINGERPRINT, u32Value(fingerprintOf(out.subarray(0, offset)), 'FINGERPRINT'))
  }
  writeU16(out, 2, offset - HEADER_BYTES)
  return out
}
