// An in-process login server for tests: a real SQLite file in a temp dir, real
// argon2id workers (at a cheap cost), the real dial-back dialer, and a clock
// the test can move. Use `inject()` for requests; `listen()` for real sockets.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { loadOrCreateKeyFile, loadOrCreateSecretFile, type SigningKeyPair } from '../../common/key-file.js'
import { createDialer } from '../../common/dialback.js'
import { toBase64url } from '../../common/base64url.js'
import { buildLoginServerApp } from '../../login-server/app.js'
import { createPasswordHasher, type PasswordHasher } from '../../login-server/password-hasher.js'
import { openSqliteStore } from '../../login-server/store/sqlite-store.js'
import type { App, LoginServerInit } from '../../login-server/context.js'
import type { LoginStore } from '../../login-server/store/store.js'

export const CHEAP_ARGON2 = { ops: 1, memoryKib: 64 }

/** Rate limits high enough that only tests about rate limits meet them. */
export const RELAXED_RATE_LIMITS = {
  accountsPerIp: { limit: 10_000, windowSeconds: 60 },
  sessionsPerIp: { limit: 10_000, windowSeconds: 60 },
  sessionsPerUsername: { limit: 10_000, windowSeconds: 60 },
  sessionsPerKnownDevice: { limit: 10_000, windowSeconds: 60 },
  knownDeviceLoginsPerUser: { limit: 10_000, windowSeconds: 60 },
  contactRequestsPerSender: { limit: 10_000, windowSeconds: 60 },
  supernodeRegistrationsPerIp: { limit: 10_000, windowSeconds: 60 },
  supernodeAdmissionsPerAddress: { limit: 10_000, windowSeconds: 60 }
}

export interface TestLoginServer {
  app: App
  sodium: Sodium
  store: LoginStore
  signingKey: SigningKeyPair
  passwords: PasswordHasher
  dataDir: string
  /** Unix ms the app sees; tests move it with `advance`. */
  now: () => number
  advance: (seconds: number) => void
  close: () => Promise<void>
}

export async function createTestLoginServer (init: LoginServerInit & { dataDir?: string, dialbackTimeoutMs?: number } = {}): Promise<TestLoginServer> {
  const sodium = await loadSodium()
  const dataDir = init.dataDir ?? mkdtempSync(join(tmpdir(), 'voxmesh-login-'))
  const signingKey = loadOrCreateKeyFile(sodium, join(dataDir, 'signing-key'))
  const store = openSqliteStore(join(dataDir, 'login.sqlite'))
  const passwords = await createPasswordHasher(CHEAP_ARGON2, 2)
  let offsetMs = 0
  const now = (): number => Date.now() + offsetMs
  const app = await buildLoginServerApp(
    { sodium, store, signingKey, lookupSecret: loadOrCreateSecretFile(sodium, join(dataDir, 'lookup-secret')).secret, passwords, dialer: createDialer(sodium, init.dialbackTimeoutMs ?? 2000), clock: now },
    { rateLimits: RELAXED_RATE_LIMITS, ...init }
  )
  let closed = false
  return {
    app,
    sodium,
    store,
    signingKey,
    passwords,
    dataDir,
    now,
    advance: seconds => { offsetMs += seconds * 1000 },
    async close () {
      if (closed) return
      closed = true
      await app.close()
      await passwords.close()
      await store.close()
      if (init.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

export interface TestDevice { publicKey: Uint8Array, secretKey: Uint8Array, deviceKey: string }

export function newDevice (sodium: Sodium): TestDevice {
  const { publicKey, privateKey } = sodium.crypto_sign_keypair()
  return { publicKey, secretKey: privateKey, deviceKey: toBase64url(publicKey) }
}

export const PASSWORD = 'correct horse battery'

/** Creates an account and logs it in; returns the session response and the device. */
export async function signUp (server: TestLoginServer, username: string) {
  const created = await server.app.inject({ method: 'POST', url: '/v1/accounts', payload: { username, password: PASSWORD } })
  if (created.statusCode !== 201) throw new Error(`sign-up of ${username} failed: ${created.body}`)
  const device = newDevice(server.sodium)
  const login = await server.app.inject({ method: 'POST', url: '/v1/sessions', payload: { username, password: PASSWORD, deviceKey: device.deviceKey } })
  if (login.statusCode !== 201) throw new Error(`login of ${username} failed: ${login.body}`)
  const session = login.json() as { token: string, certificate: { body: string, signature: string }, supernodes: unknown[] }
  return { ...session, device, auth: { authorization: `Bearer ${session.token}` } }
}
