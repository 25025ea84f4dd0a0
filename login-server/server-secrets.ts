// The login server's two secrets, the signing key and the lookup secret, which every instance
// on one database must share (a node pins the public key; users' lookup keys derive from the
// other). Each comes from the environment (VOXMESH_SIGNING_KEY, VOXMESH_LOOKUP_SECRET: the
// base64url text of a key file) or else from its file in the data dir. The database records
// the pair the first instance started with: an instance with another pair is refused, and
// an instance with none takes no new one when the database has a pair already, so a key is
// never generated twice.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { toBase64url } from '../common/base64url.js'
import { keyPairFromSeed, newSecret, parseSecret, readSecretFile, writeSecretFile, type SigningKeyPair } from '../common/key-file.js'
import type { Sodium } from '../common/sodium.js'
import { UserError } from '../common/user-error.js'
import { LOOKUP_SECRET_FILE, SIGNING_KEY_FILE } from './constants.js'
import type { LoginStore, ServerIdentity } from './store/store.js'

export const SIGNING_KEY_ENV = 'VOXMESH_SIGNING_KEY'
export const LOOKUP_SECRET_ENV = 'VOXMESH_LOOKUP_SECRET'

export interface ServerSecrets {
  signingKey: SigningKeyPair & { created: boolean }
  lookupSecret: Uint8Array
}

/** A keyed hash of the lookup secret: the database can tell two secrets apart without holding one. */
const lookupCheckOf = (sodium: Sodium, secret: Uint8Array): string =>
  toBase64url(sodium.crypto_generichash(16, 'voxmesh/lookup-secret-check/v1', secret))

export async function loadServerSecrets (sodium: Sodium, dataDir: string, store: LoginStore, env: NodeJS.ProcessEnv = process.env, now = Math.floor(Date.now() / 1000)): Promise<ServerSecrets> {
  const files = { signing: join(dataDir, SIGNING_KEY_FILE), lookup: join(dataDir, LOOKUP_SECRET_FILE) }
  const fromEnv = (name: string): Uint8Array | undefined => env[name] === undefined || env[name] === '' ? undefined : parseSecret(env[name] as string, `$${name}`)
  const seed = fromEnv(SIGNING_KEY_ENV) ?? readSecretFile(files.signing)
  const lookup = fromEnv(LOOKUP_SECRET_ENV) ?? readSecretFile(files.lookup)
  const where = `${files.signing} and ${files.lookup} (or $${SIGNING_KEY_ENV} and $${LOOKUP_SECRET_ENV})`
  if ((seed === undefined) !== (lookup === undefined)) {
    throw new UserError(`the login server needs both its signing key and its lookup secret, and has one of them: see ${where}`)
  }
  const secrets = { seed: seed ?? newSecret(sodium), lookup: lookup ?? newSecret(sodium) }
  const signingKey = keyPairFromSeed(sodium, secrets.seed)
  const ours: ServerIdentity = { signingPublicKey: toBase64url(signingKey.publicKey), lookupSecretCheck: lookupCheckOf(sodium, secrets.lookup) }
  // New keys are on disk before the database records them: a database never names keys that a
  // failed write lost. Kept only if the database takes them.
  const written: string[] = []
  const removeWritten = (): void => { for (const file of written) rmSync(file, { force: true }) }
  if (seed === undefined) {
    try {
      for (const [file, secret] of [[files.signing, secrets.seed], [files.lookup, secrets.lookup]] as const) {
        writeSecretFile(file, secret)
        written.push(file)
      }
    } catch (err) {
      removeWritten()
      throw new UserError(`cannot keep the new signing key and lookup secret in ${dataDir}: ${(err as Error).message}`)
    }
  }
  let recorded: ServerIdentity
  try {
    recorded = await store.claimIdentity(ours, now)
  } catch (err) {
    removeWritten()
    throw err
  }
  if (recorded.signingPublicKey !== ours.signingPublicKey || recorded.lookupSecretCheck !== ours.lookupSecretCheck) {
    if (seed === undefined) {
      removeWritten()
      throw new UserError(`this database belongs to the login server with public key ${recorded.signingPublicKey}, and this instance has no keys: ` +
        `copy signing-key and lookup-secret from that server's data dir into ${dataDir} (or set $${SIGNING_KEY_ENV} and $${LOOKUP_SECRET_ENV})`)
    }
    throw new UserError(`the keys in ${where} are not this database's: it belongs to the login server with public key ${recorded.signingPublicKey}, ` +
      `and these give ${ours.signingPublicKey}${recorded.signingPublicKey === ours.signingPublicKey ? ' with another lookup secret' : ''}; every instance must use the same two`)
  }
  return { signingKey: { ...signingKey, created: seed === undefined }, lookupSecret: secrets.lookup }
}
