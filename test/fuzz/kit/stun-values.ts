// Random STUN/TURN attributes with values in and at the edges of their ranges, for the STUN
// codec and TURN server fuzzers: built as the real encoder takes them.
import type { StunAttribute } from '../../../node/relay/stun/attributes.js'
import type { Rng } from './rng.js'

const ADDRESSES = ['198.18.3.30', '198.18.0.1', '198.19.255.255', '127.0.0.1', '10.0.0.1', '0.0.0.0', '255.255.255.255', '::1', '::ffff:198.18.3.30', '2001:db8::1', 'fe80::1', '::', '64:ff9b::c612:31e']
const TEXTS = ['', 'alice', 'é', '\u0000', 'x'.repeat(127), 'y'.repeat(200), '"quoted"', '1700000000:alice:grant', '😀']

export function address (rng: Rng): { address: string, port: number } {
  return { address: rng.pick(ADDRESSES), port: rng.pick([0, 1, 5004, 5006, 49152, 65535, rng.int(0, 65535)]) }
}

/** One attribute of any type the codec knows (or an unknown one), value chosen near its bounds. */
export function randomAttribute (rng: Rng): StunAttribute {
  const lifetime = rng.pick([0, 1, 59, 600, 3600, 86400, 2 ** 32 - 1])
  const choices: Array<() => StunAttribute> = [
    () => ({ type: 'XOR-PEER-ADDRESS', value: address(rng) }),
    () => ({ type: 'XOR-MAPPED-ADDRESS', value: address(rng) }),
    () => ({ type: 'MAPPED-ADDRESS', value: address(rng) }),
    () => ({ type: 'XOR-RELAYED-ADDRESS', value: address(rng) }),
    () => ({ type: 'USERNAME', value: rng.pick(TEXTS) }),
    () => ({ type: 'REALM', value: rng.pick(TEXTS) }),
    () => ({ type: 'NONCE', value: rng.pick(TEXTS) }),
    () => ({ type: 'SOFTWARE', value: rng.pick(TEXTS) }),
    () => ({ type: 'ERROR-CODE', value: { code: rng.pick([300, 400, 401, 438, 499, 500, 699]), reason: rng.pick(TEXTS) } }),
    () => ({ type: 'UNKNOWN-ATTRIBUTES', value: Array.from({ length: rng.int(0, 5) }, () => rng.int(0, 0xffff)) }),
    () => ({ type: 'LIFETIME', value: lifetime }),
    () => ({ type: 'CHANNEL-NUMBER', value: rng.pick([0, 0x3fff, 0x4000, 0x4001, 0x4fff, 0x5000, 0x7fff, 0x8000, 0xffff]) }),
    () => ({ type: 'DATA', value: rng.bytes(rng.length(1400)) }),
    () => ({ type: 'REQUESTED-TRANSPORT', value: rng.pick([17, 6, 0, 255]) }),
    () => ({ type: 'REQUESTED-ADDRESS-FAMILY', value: rng.pick([4, 6] as const) }),
    () => ({ type: 'EVEN-PORT', value: { reserve: rng.bool() } }),
    () => ({ type: 'DONT-FRAGMENT', value: true }),
    () => ({ type: 'RESERVATION-TOKEN', value: rng.bytes(8) }),
    () => ({ type: 'OTHER', code: rng.pick([0x0000, 0x0021, 0x7fff, 0x8000, 0x8028, 0xc001, rng.int(0, 0xffff)]), value: rng.bytes(rng.length(64)) })
  ]
  return rng.pick(choices)()
}

export function randomAttributes (rng: Rng, max = 6): StunAttribute[] {
  return Array.from({ length: rng.int(0, max) }, () => randomAttribute(rng))
}
