import { describe, expect, it } from 'vitest'
import { ATTR, MAX_ATTRIBUTES, METHOD } from '../../node/relay/constants.js'
import { TurnError } from '../../node/relay/errors.js'
import { bytesToIp, canonicalIp, ipToBytes } from '../../node/relay/ip.js'
import { findAttribute, findAttributes, type StunAttribute } from '../../node/relay/stun/attributes.js'
import { decodeChannelData, encodeChannelData } from '../../node/relay/stun/channel-data.js'
import { crc32 } from '../../node/relay/stun/fingerprint.js'
import { messageType, packetKind } from '../../node/relay/stun/header.js'
import { longTermKey, saslPrep, verifyIntegrity } from '../../node/relay/stun/integrity.js'
import { decodeStunMessage, encodeStunMessage, type StunMessage } from '../../node/relay/stun/message.js'
import { seededRandomBytes } from '../helpers/random.js'

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

// RFC 5769 §2 test vectors (the FINGERPRINT of each one checking proves the bytes are exact).
const TX = hex('b7e7a701 bc34d686 fa87dfae')
const SHORT_TERM_PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt'
const SAMPLE_REQUEST = hex(`
  00010058 2112a442 b7e7a701 bc34d686 fa87dfae
  80220010 5354554e 20746573 7420636c 69656e74
  00240004 6e0001ff
  80290008 932ff9b1 51263b36
  00060009 6576746a 3a683676 59202020
  00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  80280004 e57a3bcf`)
const SAMPLE_IPV4_RESPONSE = hex(`
  0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200008 0001a147 e112a643
  00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  80280004 c07d4c96`)
const SAMPLE_IPV6_RESPONSE = hex(`
  01010048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022000b 74657374 20766563 746f7220
  00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  80280004 c8fb0b4c`)
const SAMPLE_LONG_TERM_REQUEST = hex(`
  00010060 2112a442 78ad3433 c6ad72c0 29da412e
  00060012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
  0015001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
  0014000b 6578616d 706c652e 6f726700
  00080014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`)

function decoded (bytes: Uint8Array): StunMessage {
  const result = decodeStunMessage(bytes)
  if (!result.ok) throw new Error(result.reason)
  return result.message
}

function failure (bytes: Uint8Array): string {
  const result = decodeStunMessage(bytes)
  expect(result.ok, 'expected the decode to fail').toBe(false)
  return (result as { reason: string }).reason
}

describe('RFC 5769 test vectors', () => {
  it('§2.1 sample request: attributes, short-term MESSAGE-INTEGRITY, FINGERPRINT, and byte-exact re-encoding', () => {
    const message = decoded(SAMPLE_REQUEST)
    expect(message.method).toBe(METHOD.BINDING)
    expect(message.class).toBe('request')
    expect(toHex(message.transactionId)).toBe(toHex(TX))
    expect(findAttribute(message, 'SOFTWARE')?.value).toBe('STUN test client')
    expect(findAttribute(message, 'USERNAME')?.value).toBe('evtj:h6vY')
    expect(message.hasFingerprint).toBe(true)
    // PRIORITY (0x0024) is comprehension-required and not a TURN attribute: a TURN server would answer 420.
    expect(message.unknownRequired).toEqual([0x0024])
    expect(verifyIntegrity(message, Buffer.from(SHORT_TERM_PASSWORD))).toEqual({ ok: true, algorithm: 'sha1' })
    expect(verifyIntegrity(message, Buffer.from('wrong'))).toEqual({ ok: false, reason: 'MESSAGE-INTEGRITY does not match' })

    const reencoded = encodeStunMessage({
      method: message.method,
      class: message.class,
      transactionId: message.transactionId,
      attributes: message.attributes.filter(a => a.type !== 'MESSAGE-INTEGRITY' && a.type !== 'FINGERPRINT')
    }, { integrityKey: Buffer.from(SHORT_TERM_PASSWORD), fingerprint: true, padding: 0x20 })
    expect(toHex(reencoded)).toBe(toHex(SAMPLE_REQUEST))
  })

  it('§2.2 sample IPv4 response: XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
    const message = decoded(SAMPLE_IPV4_RESPONSE)
    expect(message.class).toBe('success')
    expect(findAttribute(message, 'SOFTWARE')?.value).toBe('test vector')
    expect(findAttribute(message, 'XOR-MAPPED-ADDRESS')?.value).toEqual({ address: '192.0.2.1', port: 32853 })
    expect(verifyIntegrity(message, Buffer.from(SHORT_TERM_PASSWORD)).ok).toBe(true)
    const reencoded = encodeStunMessage({
      method: METHOD.BINDING,
      class: 'success',
      transactionId: TX,
      attributes: [{ type: 'SOFTWARE', value: 'test vector' }, { type: 'XOR-MAPPED-ADDRESS', value: { address: '192.0.2.1', port: 32853 } }]
    }, { integrityKey: Buffer.from(SHORT_TERM_PASSWORD), fingerprint: true, padding: 0x20 })
    expect(toHex(reencoded)).toBe(toHex(SAMPLE_IPV4_RESPONSE))
  })

  it('§2.3 sample IPv6 response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    const message = decoded(SAMPLE_IPV6_RESPONSE)
    const mapped = { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 }
    expect(findAttribute(message, 'XOR-MAPPED-ADDRESS')?.value).toEqual(mapped)
    expect(verifyIntegrity(message, Buffer.from(SHORT_TERM_PASSWORD)).ok).toBe(true)
    const reencoded = encodeStunMessage({
      method: METHOD.BINDING,
      class: 'success',
      transactionId: TX,
      attributes: [{ type: 'SOFTWARE', value: 'test vector' }, { type: 'XOR-MAPPED-ADDRESS', value: mapped }]
    }, { integrityKey: Buffer.from(SHORT_TERM_PASSWORD), fingerprint: true, padding: 0x20 })
    expect(toHex(reencoded)).toBe(toHex(SAMPLE_IPV6_RESPONSE))
  })

  it('§2.4 sample request with long-term authentication (SASLprep of the password)', () => {
    const message = decoded(SAMPLE_LONG_TERM_REQUEST)
    const username = '\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9'
    expect(findAttribute(message, 'USERNAME')?.value).toBe(username)
    expect(findAttribute(message, 'NONCE')?.value).toBe('f//499k954d6OL34oL9FSTvy64sA')
    expect(findAttribute(message, 'REALM')?.value).toBe('example.org')
    expect(message.hasFingerprint).toBe(false)
    expect(saslPrep('The\u00ADM\u00AAtr\u2168')).toBe('TheMatrIX')
    const key = longTermKey(username, 'example.org', 'The\u00ADM\u00AAtr\u2168')
    expect(toHex(key)).toBe(toHex(longTermKey(username, 'example.org', 'TheMatrIX')))
    expect(verifyIntegrity(message, key)).toEqual({ ok: true, algorithm: 'sha1' })
    const reencoded = encodeStunMessage({
      method: METHOD.BINDING,
      class: 'request',
      transactionId: message.transactionId,
      attributes: [{ type: 'USERNAME', value: username }, { type: 'NONCE', value: 'f//499k954d6OL34oL9FSTvy64sA' }, { type: 'REALM', value: 'example.org' }]
    }, { integrityKey: key })
    expect(toHex(reencoded)).toBe(toHex(SAMPLE_LONG_TERM_REQUEST))
  })
})

describe('STUN encode/decode round trips', () => {
  const tx = hex('0102030405060708090a0b0c')
  const every: StunAttribute[] = [
    { type: 'MAPPED-ADDRESS', value: { address: '10.1.2.3', port: 1 } },
    { type: 'XOR-MAPPED-ADDRESS', value: { address: '198.18.0.7', port: 65535 } },
    { type: 'XOR-PEER-ADDRESS', value: { address: '2001:db8::1', port: 3478 } },
    { type: 'XOR-PEER-ADDRESS', value: { address: '127.0.0.1', port: 0 } },
    { type: 'XOR-RELAYED-ADDRESS', value: { address: 'fe80::1:2:3:4', port: 50000 } },
    { type: 'USERNAME', value: '1800000600:alice' },
    { type: 'REALM', value: 'voxmesh' },
    { type: 'NONCE', value: 'abc.def' },
    { type: 'SOFTWARE', value: 'voxmesh-turn ünïcode' },
    { type: 'ERROR-CODE', value: { code: 438, reason: 'Stale Nonce: nonce expired' } },
    { type: 'UNKNOWN-ATTRIBUTES', value: [0x0024, 0x7777, 0x001a] },
    { type: 'LIFETIME', value: 0xffffffff },
    { type: 'CHANNEL-NUMBER', value: 0x4abc },
    { type: 'DATA', value: Uint8Array.from([1, 2, 3, 4, 5]) },
    { type: 'DATA', value: new Uint8Array(0) },
    { type: 'REQUESTED-TRANSPORT', value: 17 },
    { type: 'REQUESTED-ADDRESS-FAMILY', value: 6 },
    { type: 'EVEN-PORT', value: { reserve: true } },
    { type: 'EVEN-PORT', value: { reserve: false } },
    { type: 'DONT-FRAGMENT', value: true },
    { type: 'RESERVATION-TOKEN', value: hex('0011223344556677') },
    { type: 'OTHER', code: 0x8055, value: Uint8Array.from([9, 9, 9]) }
  ]

  for (const cls of ['request', 'indication', 'success', 'error'] as const) {
    it(`every attribute survives a round trip in a ${cls}, with integrity and fingerprint`, () => {
      const key = longTermKey('u', 'r', 'p')
      const bytes = encodeStunMessage({ method: METHOD.ALLOCATE, class: cls, transactionId: tx, attributes: every }, { integrityKey: key, fingerprint: true })
      expect(bytes.length % 4).toBe(0)
      const message = decoded(bytes)
      expect(message.method).toBe(METHOD.ALLOCATE)
      expect(message.class).toBe(cls)
      expect(message.attributes.slice(0, every.length)).toEqual(every)
      expect(message.attributes.slice(every.length).map(a => a.type)).toEqual(['MESSAGE-INTEGRITY', 'FINGERPRINT'])
      expect(message.unknownRequired).toEqual([])
      expect(verifyIntegrity(message, key)).toEqual({ ok: true, algorithm: 'sha1' })
    })
  }

  it('MESSAGE-INTEGRITY-SHA256 alone and together with MESSAGE-INTEGRITY', () => {
    const key = longTermKey('u', 'r', 'p')
    const sha256 = decoded(encodeStunMessage({ method: 3, class: 'request', transactionId: tx, attributes: [] }, { integrityKey: key, integrity: 'sha256' }))
    expect(sha256.attributes.map(a => a.type)).toEqual(['MESSAGE-INTEGRITY-SHA256'])
    expect(verifyIntegrity(sha256, key)).toEqual({ ok: true, algorithm: 'sha256' })
    const both = decoded(encodeStunMessage({ method: 3, class: 'request', transactionId: tx, attributes: [] }, { integrityKey: key, integrity: 'both', fingerprint: true }))
    expect(both.attributes.map(a => a.type)).toEqual(['MESSAGE-INTEGRITY', 'MESSAGE-INTEGRITY-SHA256', 'FINGERPRINT'])
    expect(verifyIntegrity(both, key)).toEqual({ ok: true, algorithm: 'sha256' })
    expect(verifyIntegrity(both, longTermKey('u', 'r', 'q')).ok).toBe(false)
  })

  it('message types follow RFC 8489 §5 (class bits interleaved with the method)', () => {
    expect(messageType(METHOD.BINDING, 'request')).toBe(0x0001)
    expect(messageType(METHOD.BINDING, 'success')).toBe(0x0101)
    expect(messageType(METHOD.BINDING, 'error')).toBe(0x0111)
    expect(messageType(METHOD.SEND, 'indication')).toBe(0x0016)
    expect(messageType(METHOD.DATA, 'indication')).toBe(0x0017)
    expect(messageType(METHOD.ALLOCATE, 'error')).toBe(0x0113)
    expect(messageType(0xfff, 'error')).toBe(0x3fff)
  })

  it('decoding never changes the caller\'s bytes (Buffer.slice is a view)', () => {
    const bytes = Buffer.from(encodeStunMessage({ method: 9, class: 'request', transactionId: tx, attributes: [{ type: 'XOR-PEER-ADDRESS', value: { address: '127.0.0.1', port: 5000 } }] }, { fingerprint: true }))
    const before = Buffer.from(bytes)
    const first = decoded(bytes)
    first.transactionId[0] = 0xff
    expect(bytes.equals(before)).toBe(true)
    expect(decoded(bytes).hasFingerprint).toBe(true)
  })

  it('unknown comprehension-required attributes are listed; unknown optional ones are kept as OTHER', () => {
    const message = decoded(encodeStunMessage({
      method: 3,
      class: 'request',
      transactionId: tx,
      attributes: [{ type: 'OTHER', code: 0x7777, value: new Uint8Array(2) }, { type: 'OTHER', code: 0xc001, value: new Uint8Array(0) }, { type: 'OTHER', code: 0x7777, value: new Uint8Array(0) }]
    }))
    expect(message.unknownRequired).toEqual([0x7777])
    expect(findAttributes(message, 'OTHER').map(a => a.code)).toEqual([0x7777, 0xc001, 0x7777])
  })

  it('attributes after MESSAGE-INTEGRITY (other than the integrity and FINGERPRINT ones) are ignored', () => {
    const key = longTermKey('u', 'r', 'p')
    const bytes = encodeStunMessage({ method: 1, class: 'request', transactionId: tx, attributes: [{ type: 'SOFTWARE', value: 'x' }] }, { integrityKey: key })
    const extended = new Uint8Array(bytes.length + 8)
    extended.set(bytes)
    extended.set(hex('80220003 79797900'), bytes.length)
    extended[3] = (extended[3] as number) + 8
    const message = decoded(extended)
    expect(message.attributes.map(a => a.type)).toEqual(['SOFTWARE', 'MESSAGE-INTEGRITY'])
    expect(verifyIntegrity(message, key).ok).toBe(true)
  })

  it('the encoder refuses what the wire cannot carry', () => {
    const base = { method: 1, class: 'request' as const, transactionId: tx }
    const refuses = (attributes: StunAttribute[]): void => {
      expect(() => encodeStunMessage({ ...base, attributes })).toThrow(TurnError)
    }
    refuses([{ type: 'REALM', value: 'x'.repeat(764) }])
    refuses([{ type: 'USERNAME', value: 'x'.repeat(514) }])
    refuses([{ type: 'XOR-PEER-ADDRESS', value: { address: 'example.org', port: 1 } }])
    refuses([{ type: 'XOR-PEER-ADDRESS', value: { address: '1.2.3.4', port: 70000 } }])
    refuses([{ type: 'ERROR-CODE', value: { code: 200, reason: 'ok' } }])
    refuses([{ type: 'MESSAGE-INTEGRITY', value: new Uint8Array(20) }])
    refuses([{ type: 'DATA', value: new Uint8Array(70000) }])
    expect(() => encodeStunMessage({ ...base, transactionId: new Uint8Array(11), attributes: [] })).toThrow(/transaction id/)
  })
})

describe('STUN decoding of bad input', () => {
  const tx = hex('0102030405060708090a0b0c')
  const valid = encodeStunMessage({
    method: METHOD.ALLOCATE,
    class: 'request',
    transactionId: tx,
    attributes: [{ type: 'REQUESTED-TRANSPORT', value: 17 }, { type: 'USERNAME', value: 'alice' }, { type: 'LIFETIME', value: 600 }]
  }, { integrityKey: longTermKey('a', 'b', 'c'), fingerprint: true })

  it('every truncation of a valid message fails with a reason, and the header is kept when it parsed', () => {
    for (let length = 0; length < valid.length; length++) {
      const result = decodeStunMessage(valid.subarray(0, length))
      expect(result.ok).toBe(false)
      if (result.ok) continue
      expect(result.reason.length).toBeGreaterThan(5)
      if (length >= 20) expect(result.header?.method).toBe(METHOD.ALLOCATE)
      else expect(result.reason).toMatch(/truncated/)
    }
  })

  it('names what is wrong', () => {
    expect(failure(Uint8Array.of(0x80, 1, 0, 0, ...new Uint8Array(16)))).toMatch(/first two bits/)
    const wrongCookie = Uint8Array.from(valid)
    wrongCookie[4] = 0
    expect(failure(wrongCookie)).toMatch(/magic cookie/)
    const oddLength = Uint8Array.from(valid.subarray(0, 20))
    oddLength[3] = 2
    expect(failure(Uint8Array.from([...oddLength, 0, 0]))).toMatch(/multiple of 4/)
    expect(failure(Uint8Array.from([...valid, 0, 0, 0, 0]))).toMatch(/after the announced end/)
    const flipped = Uint8Array.from(valid)
    flipped[26] = (flipped[26] as number) ^ 1
    expect(failure(flipped)).toMatch(/FINGERPRINT does not match/)
    // An attribute whose length runs past the end.
    const overrun = Uint8Array.from([...encodeStunMessage({ method: 1, class: 'request', transactionId: tx, attributes: [{ type: 'SOFTWARE', value: 'abcd' }] })])
    overrun[23] = 40
    expect(failure(overrun)).toMatch(/SOFTWARE of 40 bytes overruns/)
    // A bad address family, a wrong-size LIFETIME, invalid UTF-8, an invalid error code.
    const raw = (code: number, value: Uint8Array): Uint8Array => encodeStunMessage({ method: 1, class: 'request', transactionId: tx, attributes: [{ type: 'OTHER', code, value }] })
    expect(failure(raw(ATTR.XOR_PEER_ADDRESS, hex('00030000 01020304')))).toMatch(/XOR-PEER-ADDRESS has unknown address family/)
    expect(failure(raw(ATTR.XOR_PEER_ADDRESS, hex('00010000 0102')))).toMatch(/XOR-PEER-ADDRESS is 6 bytes, want 8/)
    expect(failure(raw(ATTR.XOR_PEER_ADDRESS, hex('00020000 01020304')))).toMatch(/want 20 for IPv6/)
    expect(failure(raw(ATTR.LIFETIME, hex('000258')))).toMatch(/LIFETIME is 3 bytes, want 4/)
    expect(failure(raw(ATTR.USERNAME, hex('ff fe')))).toMatch(/USERNAME is not valid UTF-8/)
    expect(failure(raw(ATTR.USERNAME, new Uint8Array(600).fill(0x61)))).toMatch(/USERNAME is 600 bytes, more than 513/)
    expect(failure(raw(ATTR.ERROR_CODE, hex('00000263')))).toMatch(/invalid code/)
    expect(failure(raw(ATTR.MESSAGE_INTEGRITY, new Uint8Array(19)))).toMatch(/MESSAGE-INTEGRITY is 19 bytes/)
    expect(failure(raw(ATTR.REQUESTED_ADDRESS_FAMILY, hex('05000000')))).toMatch(/unknown family/)
    expect(failure(raw(ATTR.UNKNOWN_ATTRIBUTES, hex('000100')))).toMatch(/not a list of 16-bit types/)
  })

  it('FINGERPRINT must be the last attribute', () => {
    // A FINGERPRINT computed correctly over everything before it (length field included), then one more attribute.
    const message = Uint8Array.from([...encodeStunMessage({ method: 1, class: 'request', transactionId: tx, attributes: [] }), ...new Uint8Array(8), ...hex('80220000')])
    message[3] = 12
    const fingerprint = (crc32(message.subarray(0, 20)) ^ 0x5354554e) >>> 0
    message.set(hex(`80280004 ${fingerprint.toString(16).padStart(8, '0')}`), 20)
    expect(failure(message)).toMatch(/FINGERPRINT is not the last attribute/)
  })

  it('at most MAX_ATTRIBUTES attributes are decoded', () => {
    const many: StunAttribute[] = Array.from({ length: MAX_ATTRIBUTES + 1 }, () => ({ type: 'OTHER' as const, code: 0x8050, value: new Uint8Array(0) }))
    expect(failure(encodeStunMessage({ method: 1, class: 'request', transactionId: tx, attributes: many }))).toMatch(/more than 64 attributes/)
    expect(decodeStunMessage(encodeStunMessage({ method: 1, class: 'request', transactionId: tx, attributes: many.slice(1) })).ok).toBe(true)
  })

  it('random garbage never throws, and a fuzzed valid message never throws', () => {
    const random = seededRandomBytes('garbage')
    for (let i = 0; i < 3000; i++) {
      const bytes = random(Math.floor((random(1)[0] as number) * 0.6))
      if (i % 3 === 0 && bytes.length >= 8) { bytes[0] = 0; bytes[1] = 1; bytes.set(hex('2112a442'), 4) }
      expect(() => decodeStunMessage(bytes)).not.toThrow()
      expect(() => decodeChannelData(bytes)).not.toThrow()
      const mutated = Uint8Array.from(valid)
      const at = (random(1)[0] as number) % mutated.length
      mutated[at] = random(1)[0] as number
      const result = decodeStunMessage(mutated)
      // The FINGERPRINT catches any change before it (changing its own type makes it an ignored attribute).
      if (at >= 20 && at < valid.length - 8 && mutated[at] !== valid[at]) expect(result.ok).toBe(false)
    }
  })
})

describe('ChannelData', () => {
  it('round-trips with and without padding', () => {
    const data = Uint8Array.from([1, 2, 3, 4, 5])
    const unpadded = encodeChannelData(0x4001, data)
    expect(toHex(unpadded)).toBe('4001000501020304' + '05')
    const padded = encodeChannelData(0x4001, data, { pad: true })
    expect(padded.length).toBe(12)
    for (const bytes of [unpadded, padded]) {
      const result = decodeChannelData(bytes)
      expect(result).toEqual({ ok: true, channel: 0x4001, data })
    }
    expect(decodeChannelData(encodeChannelData(0x7fff, new Uint8Array(0)))).toEqual({ ok: true, channel: 0x7fff, data: new Uint8Array(0) })
  })

  it('rejects truncated, over-long and non-channel input with a reason', () => {
    expect(decodeChannelData(hex('4001'))).toEqual({ ok: false, reason: 'truncated ChannelData: 2 bytes' })
    expect(decodeChannelData(hex('40010008 0102'))).toMatchObject({ ok: false, reason: expect.stringMatching(/announces 8 bytes, 2 arrived/) })
    expect(decodeChannelData(hex('40010001 01000000 00'))).toMatchObject({ ok: false, reason: expect.stringMatching(/more than padding/) })
    expect(decodeChannelData(hex('80010000'))).toMatchObject({ ok: false, reason: expect.stringMatching(/not ChannelData/) })
    expect(() => encodeChannelData(0x3fff, new Uint8Array(1))).toThrow(TurnError)
  })

  it('tells STUN, ChannelData and other datagrams apart by the first two bits', () => {
    expect(packetKind(hex('0001'))).toBe('stun')
    expect(packetKind(hex('4000'))).toBe('channel-data')
    expect(packetKind(hex('8000'))).toBe('unknown') // RTP
    expect(packetKind(hex('16fe'))).toBe('stun') // DTLS content types 20..63 start 0b00; the full decode rejects them
    expect(packetKind(new Uint8Array(0))).toBe('unknown')
  })
})

describe('helpers', () => {
  it('CRC-32 matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926)
  })

  it('IP text and bytes convert both ways in canonical form', () => {
    for (const [text, canonical] of [
      ['127.0.0.1', '127.0.0.1'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['2001:db8:0:1:0:0:1:1', '2001:db8:0:1::1:1'],
      ['::ffff:1.2.3.4', '::ffff:102:304'],
      ['fe80::1%eth0', 'fe80::1']
    ] as const) {
      expect(canonicalIp(text)).toBe(canonical)
      expect(bytesToIp(ipToBytes(text) as Uint8Array)).toBe(canonical)
    }
    expect(canonicalIp('example.org')).toBeUndefined()
  })
})
