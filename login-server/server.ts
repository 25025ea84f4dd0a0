// The login server process: data dir, signing key, database, password workers,
// app, listener. close() is idempotent and tears down in reverse order.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { loadSodium } from '../common/sodium.js'
import { createDialer, DIALBACK_TIMEOUT_MS } from '../common/dialback.js'
import { toBase64url } from '../common/base64url.js'
import { formatHostPort, parseHostPort } from '../common/address.js'
import { UserError } from '../common/user-error.js'
import { buildLoginServerApp } from './app.js'
import { createPasswordHasher, type Argon2Cost } from './password-hasher.js'
import { describeDatabase, openLoginStore } from './store/open-store.js'
import { loadServerSecrets } from './server-secrets.js'
import { DEFAULT_ARGON2_MEMORY_KIB, DEFAULT_ARGON2_OPS, DEFAULT_DATA_DIR, DEFAULT_LISTEN } from './constants.js'
import type { LoginServerInit } from './context.js'
import type { App } from './context.js'

export interface LoginServerOptions extends LoginServerInit {
  listen?: string
  dataDir?: string
  argon2?: Argon2Cost
  dialbackTimeoutMs?: number
  /** A postgres:// URL (several instances on one database); undefined: the SQLite file in the data dir. */
  database?: string
}

export interface RunningLoginServer {
  url: string
  publicKey: string
  keyCreated: boolean
  /** Where its data lives, as people read it (no password). */
  database: string
  app: App
  close: () => Promise<void>
}

export async function startLoginServer (options: LoginServerOptions = {}): Promise<RunningLoginServer> {
  const listen = parseHostPort(options.listen ?? DEFAULT_LISTEN, true)
  if (listen === undefined) throw new UserError(`--listen must be HOST:PORT, got "${options.listen}"`)
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR)
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })

  const sodium = await loadSodium()
  const store = await openLoginStore(options.database, dataDir)
  let secrets: Awaited<ReturnType<typeof loadServerSecrets>>
  let passwords: Awaited<ReturnType<typeof createPasswordHasher>>
  try {
    secrets = await loadServerSecrets(sodium, dataDir, store)
    passwords = await createPasswordHasher(options.argon2 ?? { ops: DEFAULT_ARGON2_OPS, memoryKib: DEFAULT_ARGON2_MEMORY_KIB })
  } catch (err) {
    await store.close()
    throw err
  }
  const { signingKey, lookupSecret } = secrets
  const app = await buildLoginServerApp(
    { sodium, store, signingKey, lookupSecret, passwords, dialer: createDialer(sodium, options.dialbackTimeoutMs ?? DIALBACK_TIMEOUT_MS) },
    options
  )

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await app.close()
      await passwords.close()
      await store.close()
    })()
    return closing
  }

  try {
    await app.listen({ host: listen.host, port: listen.port })
  } catch (err) {
    await close()
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new UserError(`cannot listen on ${formatHostPort(listen)}: ${code === 'EADDRINUSE' ? 'the port is in use (EADDRINUSE)' : code}`)
    }
    throw err
  }
  const { port } = app.server.address() as { port: number }
  return {
    url: `http://${formatHostPort({ host: listen.host, port })}`,
    publicKey: toBase64url(signingKey.publicKey),
    keyCreated: signingKey.created,
    database: describeDatabase(options.database, dataDir),
    app,
    close
  }
}
