import { beforeAll, describe, expect, it } from 'vitest'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { MAX_FRAME_BYTES } from '../../node/net/transport.js'
import {
  createFrameCipher, FRAME_TAG_BYTES, MAX_FRAME_PLAINTEXT_BYTES, MAX_SEALED_FRAME_BYTES, type FrameCipher
} from '../../common/wire/frame-cipher.js'
import { utf8 } from './fixtures.js'

let sodium: Sodium
beforeAll(async () => { sodium = await loadSodium() })

/** Two ends of one link: a's tx is b's rx and the other way round. */
function link (): { a: FrameCipher, b: FrameCipher, keys: { ab: Uint8Array, ba: Uint8Array } } {
  const ab = sodium.randombytes_buf(32)
  const ba = sodium.randombytes_buf(32)
  return { a: createFrameCipher(sodium, { tx: ab, rx: ba }), b: createFrameCipher(sodium, { tx: ba, rx: ab }), keys: { ab, ba } }
}
/** A receiver that has seen nothing yet, with the same key as `b`: shows a frame is genuine. */
const freshReceiver = (keys: { ab: Uint8Array, ba: Uint8Array }): FrameCipher => createFrameCipher(sodium, { tx: keys.ba, rx: keys.ab })

describe('frame cipher', () => {
  it('opens frames in order, both ways, each 16 bytes longer than its plaintext', () => {
    const { a, b } = link()
    for (let i = 0; i < 5; i++) {
      const up = a.seal(utf8(`frame ${i}`))
      expect(up.length).toBe(utf8(`frame ${i}`).length + FRAME_TAG_BYTES)
      expect(b.open(up)).toEqual(utf8(`frame ${i}`))
      expect(a.open(b.seal(utf8(`reply ${i}`)))).toEqual(utf8(`reply ${i}`))
    }
    expect(b.open(a.seal(new Uint8Array(0)))).toEqual(new Uint8Array(0))
    expect(a.failed).toBe(false)
    expect(b.failed).toBe(false)
  })

  it('uses ChaCha20-Poly1305-IETF with a little-endian frame counter as the nonce, never sent', () => {
    const { a, keys } = link()
    const nonce = (n: number): Uint8Array => { const bytes = new Uint8Array(12); bytes[0] = n & 0xff; bytes[1] = n >> 8; return bytes }
    const frames = Array.from({ length: 258 }, () => a.seal(utf8('same')))
    for (const i of [0, 1, 255, 256, 257]) {
      expect(frames[i]).toEqual(sodium.crypto_aead_chacha20poly1305_ietf_encrypt(utf8('same'), null, null, nonce(i), keys.ab))
    }
  })

  it('rejects a replayed frame, and every frame after it', () => {
    const { a, b, keys } = link()
    const first = a.seal(utf8('one'))
    const second = a.seal(utf8('two'))
    expect(b.open(first)).toEqual(utf8('one'))
    expect(b.open(first)).toBeUndefined()
    expect(b.failed).toBe(true)
    expect(b.open(second)).toBeUndefined()
    const control = freshReceiver(keys)
    expect(control.open(first)).toEqual(utf8('one'))
    expect(control.open(second)).toEqual(utf8('two'))
  })

  it('rejects reordered frames, and a dropped frame arriving later', () => {
    const { a, b } = link()
    const first = a.seal(utf8('one'))
    const second = a.seal(utf8('two'))
    expect(b.open(second)).toBeUndefined()
    expect(b.open(first)).toBeUndefined()
    expect(b.open(second)).toBeUndefined()
    expect(b.failed).toBe(true)
  })

  it('rejects a frame with any single bit flipped, and stays failed', () => {
    const { a, keys } = link()
    const frame = a.seal(utf8('attack at dawn'))
    for (let bit = 0; bit < frame.length * 8; bit += 7) {
      const tampered = frame.slice()
      tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7))
      const receiver = freshReceiver(keys)
      expect(receiver.open(tampered)).toBeUndefined()
      expect(receiver.open(frame)).toBeUndefined()
    }
    const control = freshReceiver(keys)
    expect(control.open(frame)).toEqual(utf8('attack at dawn'))
  })

  it('rejects a truncated frame and one shorter than the tag', () => {
    const { a, keys } = link()
    const frame = a.seal(utf8('hello'))
    for (const cut of [frame.subarray(0, frame.length - 1), frame.subarray(1), frame.subarray(0, FRAME_TAG_BYTES - 1), new Uint8Array(0)]) {
      const receiver = freshReceiver(keys)
      expect(receiver.open(cut)).toBeUndefined()
      expect(receiver.open(frame)).toBeUndefined()
    }
  })

  it('rejects a frame sent back to its sender (each direction has its own key)', () => {
    const { a, b } = link()
    const frame = a.seal(utf8('mine'))
    expect(a.open(frame)).toBeUndefined()
    expect(b.open(frame)).toEqual(utf8('mine'))
  })

  it('bounds frames by the transport frame size', () => {
    expect(MAX_SEALED_FRAME_BYTES).toBe(MAX_FRAME_BYTES)
    expect(MAX_FRAME_PLAINTEXT_BYTES).toBe(MAX_FRAME_BYTES - 16)
    const { a, b, keys } = link()
    const largest = a.seal(new Uint8Array(MAX_FRAME_PLAINTEXT_BYTES))
    expect(largest.length).toBe(MAX_FRAME_BYTES)
    expect(b.open(largest)?.length).toBe(MAX_FRAME_PLAINTEXT_BYTES)
    expect(() => a.seal(new Uint8Array(MAX_FRAME_PLAINTEXT_BYTES + 1))).toThrow(RangeError)
    // An authentic frame one byte over the bound (made with libsodium directly, as seal() refuses to) is refused too.
    const oversized = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(new Uint8Array(MAX_FRAME_PLAINTEXT_BYTES + 1), null, null, new Uint8Array(12), keys.ab)
    const receiver = freshReceiver(keys)
    expect(receiver.open(oversized)).toBeUndefined()
    expect(receiver.failed).toBe(true)
  })

  it('keeps its own copy of the keys', () => {
    const tx = sodium.randombytes_buf(32)
    const rx = sodium.randombytes_buf(32)
    const a = createFrameCipher(sodium, { tx, rx })
    const b = createFrameCipher(sodium, { tx: rx.slice(), rx: tx.slice() })
    sodium.memzero(tx)
    sodium.memzero(rx)
    expect(b.open(a.seal(utf8('x')))).toEqual(utf8('x'))
    expect(a.open(b.seal(utf8('y')))).toEqual(utf8('y'))
  })

  it('refuses keys of the wrong length or the same key for both directions', () => {
    const key = sodium.randombytes_buf(32)
    expect(() => createFrameCipher(sodium, { tx: key, rx: key.slice() })).toThrow(/differ/)
    expect(() => createFrameCipher(sodium, { tx: key, rx: new Uint8Array(16) })).toThrow(/32 bytes/)
  })
})
