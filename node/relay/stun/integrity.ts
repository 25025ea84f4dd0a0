// Message integrity (RFC 8489 §14.5, §14.6) and the long-term credential key (§9.2.2).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { HEADER_BYTES } from '../constants.js'
import { copy, readU16, writeU16 } from './bytes.js'
import type { StunMessage } from './message.js'

export type IntegrityCheck = { ok: true, algorithm: 'sha1' | 'sha256' } | { ok: false, reason: string }

/** HMAC-SHA1 (MESSAGE-INTEGRITY) or HMAC-SHA256 (MESSAGE-INTEGRITY-SHA256) of `bytes`. */
export function integrityMac (algorithm: 'sha1' | 'sha256', key: Uint8Array, bytes: Uint8Array): Uint8Array {
  return createHmac(algorithm, key).update(bytes).digest()
}

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
  const expected = integrityMac(algorithm, key, prefix).subarray(0, received.length)
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
