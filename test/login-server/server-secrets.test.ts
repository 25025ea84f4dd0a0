// The login server's signing key and lookup secret: from the environment or the data dir, created
// once, recorded by the database, and refused where another instance's database has other ones.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadSodium } from '../../common/sodium.js'
import { toBase64url } from '../../common/base64url.js'
import { keyPairFromSeed } from '../../common/key-file.js'
import { openSqliteStore } from '../../login-server/store/sqlite-store.js'
import { loadServerSecrets, LOOKUP_SECRET_ENV, SIGNING_KEY_ENV } from '../../login-server/server-secrets.js'
import type { LoginStore } from '../../login-server/store/store.js'

const sodium = await loadSodium()
let dir: string
let store: LoginStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxmesh-secrets-'))
  store = openSqliteStore(join(dir, 'login.sqlite'))
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const publicKeyOf = (secrets: Awaited<ReturnType<typeof loadServerSecrets>>): string => toBase64url(secrets.signingKey.publicKey)
const seedText = (): string => toBase64url(sodium.randombytes_buf(32))

describe('the login server\'s secrets', () => {
  it('are created once (0600) on a database without an identity, and the same ones are loaded after', async () => {
    const first = await loadServerSecrets(sodium, join(dir, 'a'), store, {})
    expect(first.signingKey.created).toBe(true)
    for (const file of ['signing-key', 'lookup-secret']) expect(statSync(join(dir, 'a', file)).mode & 0o777).toBe(0o600)
    const again = await loadServerSecrets(sodium, join(dir, 'a'), store, {})
    expect(again.signingKey.created).toBe(false)
    expect(publicKeyOf(again)).toBe(publicKeyOf(first))
    expect(Buffer.from(again.lookupSecret).equals(Buffer.from(first.lookupSecret))).toBe(true)
  })

  it('come from the environment before the data dir, and nothing is written then', async () => {
    const seed = seedText()
    const secrets = await loadServerSecrets(sodium, join(dir, 'env'), store, { [SIGNING_KEY_ENV]: seed, [LOOKUP_SECRET_ENV]: seedText() })
    expect(publicKeyOf(secrets)).toBe(toBase64url(keyPairFromSeed(sodium, Buffer.from(seed, 'base64url')).publicKey))
    expect(existsSync(join(dir, 'env', 'signing-key'))).toBe(false)
  })

  it('an instance without keys on a database that has an identity gets none: it is told whose database it is, and writes nothing', async () => {
    const first = await loadServerSecrets(sodium, join(dir, 'a'), store, {})
    await expect(loadServerSecrets(sodium, join(dir, 'b'), store, {})).rejects.toThrow(`this database belongs to the login server with public key ${publicKeyOf(first)}, and this instance has no keys`)
    expect(existsSync(join(dir, 'b', 'signing-key'))).toBe(false)
  })

  it('an instance with another signing key, or the same key with another lookup secret, is refused', async () => {
    const first = await loadServerSecrets(sodium, join(dir, 'a'), store, {})
    await expect(loadServerSecrets(sodium, join(dir, 'b'), store, { [SIGNING_KEY_ENV]: seedText(), [LOOKUP_SECRET_ENV]: seedText() }))
      .rejects.toThrow(`it belongs to the login server with public key ${publicKeyOf(first)}`)
    const sameKey = { [SIGNING_KEY_ENV]: readFileSync(join(dir, 'a', 'signing-key'), 'utf8'), [LOOKUP_SECRET_ENV]: seedText() }
    await expect(loadServerSecrets(sodium, join(dir, 'b'), store, sameKey)).rejects.toThrow('with another lookup secret')
  })

  it('new keys that cannot be written are not recorded by the database either: it stays free for the keys that are', async () => {
    // The second file cannot be created (a dangling link is in its place: reading finds no file,
    // an exclusive create finds the name taken), root or not; the first one is taken back.
    const blocked = join(dir, 'blocked')
    mkdirSync(blocked)
    symlinkSync(join(dir, 'nowhere'), join(blocked, 'lookup-secret'))
    await expect(loadServerSecrets(sodium, blocked, store, {})).rejects.toThrow(`cannot keep the new signing key and lookup secret in ${blocked}`)
    expect(existsSync(join(blocked, 'signing-key'))).toBe(false)
    const later = await loadServerSecrets(sodium, join(dir, 'a'), store, {})
    expect(later.signingKey.created).toBe(true)
  })

  it('one secret without the other, or a malformed one, is refused with where it came from', async () => {
    await expect(loadServerSecrets(sodium, join(dir, 'x'), store, { [SIGNING_KEY_ENV]: seedText() })).rejects.toThrow('has one of them')
    await expect(loadServerSecrets(sodium, join(dir, 'x'), store, { [SIGNING_KEY_ENV]: 'not a key', [LOOKUP_SECRET_ENV]: seedText() }))
      .rejects.toThrow(`$${SIGNING_KEY_ENV} does not hold a 32-byte base64url seed`)
  })
})
