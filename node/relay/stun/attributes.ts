// STUN attributes (RFC 8489 §14) and the TURN ones (RFC 8656 §18) by their RFC names, the table
// of their type codes, and lookups in a message's attribute list.
import { ATTR } from '../constants.js'
import type { TransportAddress } from '../ip.js'

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
export type KnownType = Exclude<StunAttributeType, 'OTHER'>

export const CODE_OF: Readonly<Record<KnownType, number>> = {
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

export const TYPE_OF: ReadonlyMap<number, KnownType> = new Map(
  (Object.entries(CODE_OF) as Array<[KnownType, number]>).map(([name, code]) => [code, name])
)

/** The RFC name of an attribute type, or its hex code. */
export function attributeName (code: number): string {
  return TYPE_OF.get(code) ?? `0x${code.toString(16).padStart(4, '0')}`
}

/** The first attribute of a type (RFC 8489 §14: later duplicates are ignored). */
export function findAttribute<T extends StunAttributeType> (message: { attributes: StunAttribute[] }, type: T): AttributeOf<T> | undefined {
  return message.attributes.find(attribute => attribute.type === type) as AttributeOf<T> | undefined
}

/** Every attribute of a type, in order (e.g. the XOR-PEER-ADDRESSes of a CreatePermission). */
export function findAttributes<T extends StunAttributeType> (message: { attributes: StunAttribute[] }, type: T): Array<AttributeOf<T>> {
  return message.attributes.filter(attribute => attribute.type === type) as Array<AttributeOf<T>>
}
