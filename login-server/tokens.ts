// Session tokens: 256 random bits, handed out once, stored only as a SHA-256 hash.
import { createHash, randomBytes } from 'node:crypto'
import { TOKEN_BYTES } from './constants.js'

export function newToken (): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

export function hashToken (token: string): Uint8Array {
  return createHash('sha256').update(token, 'utf8').digest()
}
