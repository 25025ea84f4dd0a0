// Ed25519 key files (the login server's signing key, a node's device key):
// the 32-byte seed as base64url text, mode 0600, created on first use.
import { mkdirSync, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { fromBase64url, toBase64url } from './base64url.js'
import type { Sodium } from './sodium.js'
import { UserError } from './user-error.js'
import { writeNewPrivateFile } from './private-file.js'

/** Ed25519 seeds and other secrets kept in key files. */
const SECRET_BYTES = 32

export interface SigningKeyPair { publicKey: Uint8Array, secretKey: Uint8Array }

export function loadOrCreateKeyFile (sodium: Sodium, file: string): SigningKeyPair & { created: boolean } {
  const { secret: seed, created } = loadOrCreateSecretFile(sodium, file)
  return { ...keyPairFromSeed(sodium, seed), created }
}

/** A 32-byte secret (a key seed, the login server's lookup secret) in a file of its own, as key files are kept. */
export function loadOrCreateSecretFile (sodium: Sodium, file: string): { secret: Uint8Array, created: boolean } {
  const existing = readSecretFile(file)
  if (existing !== undefined) return { secret: existing, created: false }
  const secret = newSecret(sodium)
  writeSecretFile(file, secret)
  return { secret, created: true }
}

/** The secret in `file`; undefined when there is no such file. A file others may read, or of another form, is refused. */
export function readSecretFile (file: string): Uint8Array | undefined {
  let text: string
  try {
    const mode = statSync(file).mode & 0o777
    if ((mode & 0o077) !== 0) {
      throw new UserError(`key file ${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`)
    }
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return parseSecret(text, `key file ${file}`)
}

/** A 32-byte secret from its base64url text; `where` names its origin in the error. */
export function parseSecret (text: string, where: string): Uint8Array {
  const secret = fromBase64url(text.trim())
  if (secret?.length !== SECRET_BYTES) throw new UserError(`${where} does not hold a 32-byte base64url seed`)
  return secret
}

/** Writes a new key file (0600; fails rather than overwrite one). */
export function writeSecretFile (file: string, secret: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  writeNewPrivateFile(file, `${toBase64url(secret)}\n`)
}

/** A new random secret of the size key files hold. */
export const newSecret = (sodium: Sodium): Uint8Array => sodium.randombytes_buf(SECRET_BYTES)

export function keyPairFromSeed (sodium: Sodium, seed: Uint8Array): SigningKeyPair {
  const { publicKey, privateKey } = sodium.crypto_sign_seed_keypair(seed)
  return { publicKey, secretKey: privateKey }
}
