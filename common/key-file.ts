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
  let text: string
  try {
    const mode = statSync(file).mode & 0o777
    if ((mode & 0o077) !== 0) {
      throw new UserError(`key file ${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`)
    }
    text = readFileSync(file, 'utf8').trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    const secret = sodium.randombytes_buf(SECRET_BYTES)
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    writeNewPrivateFile(file, `${toBase64url(secret)}\n`)
    return { secret, created: true }
  }
  const secret = fromBase64url(text)
  if (secret?.length !== SECRET_BYTES) throw new UserError(`key file ${file} does not hold a 32-byte base64url seed`)
  return { secret, created: false }
}

export function keyPairFromSeed (sodium: Sodium, seed: Uint8Array): SigningKeyPair {
  const { publicKey, privateKey } = sodium.crypto_sign_seed_keypair(seed)
  return { publicKey, secretKey: privateKey }
}
