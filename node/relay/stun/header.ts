// The STUN message header (RFC 8489 §5): message type (method and class), magic cookie,
// transaction id; and what kind of datagram a TURN server's listening socket got.
import { HEADER_BYTES, MAGIC_COOKIE } from '../constants.js'
import { copy, readU16, readU32 } from './bytes.js'

export type StunClass = 'request' | 'indication' | 'success' | 'error'

export interface StunHeader {
  /** 12-bit method, e.g. METHOD.ALLOCATE. */
  method: number
  class: StunClass
  /** 12 bytes. */
  transactionId: Uint8Array
}

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

/**
 * What a datagram on a TURN server's client-facing socket is, by its first two bits
 * (RFC 8656 §12): 0b00 STUN, 0b01 ChannelData, anything else is neither.
 */
export function packetKind (bytes: Uint8Array): 'stun' | 'channel-data' | 'unknown' {
  if (bytes.length === 0) return 'unknown'
  const top = (bytes[0] as number) >> 6
  return top === 0 ? 'stun' : top === 1 ? 'channel-data' : 'unknown'
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
