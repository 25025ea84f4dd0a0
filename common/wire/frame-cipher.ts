// Encryption of every frame on an established link: ChaCha20-Poly1305 (IETF)
// with one key per direction and an implicit nonce, the count of frames sent
// so far in that direction (12 bytes little-endian, starting at 0). The count
// is never sent: each side knows which frame comes next, so a frame that was
// replayed, reordered, dropped, cut short or altered simply fails to open.
// The first failure poisons the receiving side for good, because after it the
// two counters can no longer be trusted to agree; the link must be closed.
import type { Sodium } from '../sodium.js'

/**
 * Bound on one sealed frame, the same as the transport's frame bound
 * (MAX_FRAME_BYTES in node/net/transport.ts; shared code must not import
 * node's, so the value lives here too and a test checks they agree).
 */
export const MAX_SEALED_FRAME_BYTES = 64 * 1024
/** Poly1305 tag added to every frame. */
export const FRAME_TAG_BYTES = 16
/** Largest plaintext seal() accepts. */
export const MAX_FRAME_PLAINTEXT_BYTES = MAX_SEALED_FRAME_BYTES - FRAME_TAG_BYTES

export interface FrameCipherKeys {
  /** Key for frames we send. */
  tx: Uint8Array
  /** Key for frames we receive. */
  rx: Uint8Array
}

export interface FrameCipher {
  /** Encrypts the next outgoing frame. Throws for a plaintext over MAX_FRAME_PLAINTEXT_BYTES. */
  seal: (plaintext: Uint8Array) => Uint8Array
  /** Decrypts the next incoming frame; undefined when it is not exactly that frame, and for every frame after such a failure. */
  open: (frame: Uint8Array) => Uint8Array | undefined
  /** True once open() has failed; the link should be closed. */
  readonly failed: boolean
}

const NONCE_BYTES = 12
const KEY_BYTES = 32

// One nonce buffer for every frame of every link, rewritten per call: libsodium copies it
// into its own memory before it returns, and a supernode seals and opens thousands of
// frames a second, so this saves an allocation each.
const nonce = new Uint8Array(NONCE_BYTES)
const nonceView = new DataView(nonce.buffer)

function counterNonce (counter: number): Uint8Array {
  nonceView.setUint32(0, counter % 2 ** 32, true)
  nonceView.setUint32(4, Math.floor(counter / 2 ** 32), true)
  // bytes 8..11 stay zero: a safe-integer counter never reaches them
  return nonce
}

export function createFrameCipher (sodium: Sodium, keys: FrameCipherKeys): FrameCipher {
  if (keys.tx.length !== KEY_BYTES || keys.rx.length !== KEY_BYTES) throw new TypeError(`frame keys must be ${KEY_BYTES} bytes`)
  // With one key for both directions a frame reflected back to its sender would open.
  if (sodium.memcmp(keys.tx, keys.rx)) throw new TypeError('frame keys for the two directions must differ')
  // Copies, so a caller wiping or reusing its buffers cannot change ours.
  return new CounterFrameCipher(sodium, keys.tx.slice(), keys.rx.slice())
}

/** A class, not closures: a supernode holds one per host link, and this is the smaller shape. */
class CounterFrameCipher implements FrameCipher {
  private sent = 0
  private received = 0
  private poisoned = false

  // Private fields, so the keys do not show when a link is logged or inspected.
  readonly #sodium: Sodium
  readonly #txKey: Uint8Array
  readonly #rxKey: Uint8Array

  constructor (sodium: Sodium, txKey: Uint8Array, rxKey: Uint8Array) {
    this.#sodium = sodium
    this.#txKey = txKey
    this.#rxKey = rxKey
  }

  seal (plaintext: Uint8Array): Uint8Array {
    if (plaintext.length > MAX_FRAME_PLAINTEXT_BYTES) {
      throw new RangeError(`frame plaintext of ${plaintext.length} bytes exceeds ${MAX_FRAME_PLAINTEXT_BYTES}`)
    }
    if (this.sent >= Number.MAX_SAFE_INTEGER) throw new RangeError('frame counter exhausted; open a new link')
    const frame = this.#sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, null, null, counterNonce(this.sent), this.#txKey)
    this.sent += 1
    return frame
  }

  open (frame: Uint8Array): Uint8Array | undefined {
    if (this.poisoned) return undefined
    if (frame.length < FRAME_TAG_BYTES || frame.length > MAX_SEALED_FRAME_BYTES) return this.fail()
    let plaintext: Uint8Array
    try {
      plaintext = this.#sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, frame, null, counterNonce(this.received), this.#rxKey)
    } catch {
      return this.fail()
    }
    this.received += 1
    return plaintext
  }

  get failed (): boolean { return this.poisoned }

  private fail (): undefined {
    if (!this.poisoned) {
      this.poisoned = true
      this.#sodium.memzero(this.#rxKey)
    }
    return undefined
  }
}
