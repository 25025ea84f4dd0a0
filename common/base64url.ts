// Base64url without padding (RFC 4648 §5): the encoding of every key,
// signature and token on the wire.
const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Characters of the unpadded base64url encoding of `bytes` bytes. */
export function base64urlLength (bytes: number): number {
  return Math.ceil(bytes * 4 / 3)
}

export function toBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/** Decodes strict base64url; returns undefined for anything else (padding, other alphabets, junk). */
export function fromBase64url (text: string): Uint8Array | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'))
  // Reject non-canonical encodings (stray low bits in the last character).
  return toBase64url(bytes) === text ? bytes : undefined
}
