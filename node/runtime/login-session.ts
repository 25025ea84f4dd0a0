// The node's session with the login server: pin its key, log in (with jittered
// backoff while it is unreachable or busy), keep the certificate renewed, and
// read the contact list and blocks. After login nothing else here is needed
// for the overlay to work.
import { setTimeout as sleep } from 'node:timers/promises'
import { LoginApiError, LoginClient, LoginServerUnreachableError } from '../../common/login-client.js'
import { fromBase64url } from '../../common/base64url.js'
import { createBackoff } from '../../common/backoff.js'
import { UserError } from '../../common/user-error.js'
import { loadSodium, type Sodium } from '../../common/sodium.js'
import { signLoginProof } from '../../common/login-proof.js'
import { verifyCertificate, type Certificate } from '../../common/certificate.js'
import type { CapabilityView, CreateSessionResponse, SupernodeInfo } from '../../common/login-api.js'
import type { OwnLookup } from '../../common/lookup-keys.js'
import type { Logger } from '../../common/logger.js'
import type { DataDir } from './data-dir.js'
import { CERTIFICATE_RENEW_AT } from './defaults.js'

export interface LoginSession {
  client: LoginClient
  issuerKey: Uint8Array
  certificate: Certificate
  certificateTtlSeconds: number
  supernodes: SupernodeInfo[]
  /** Our own lookup key seed and seal key: to publish our sealed locators. */
  lookup: OwnLookup
  /** Keeps the certificate fresh; calls back with each renewed one. */
  keepRenewed: (onRenewed: (certificate: Certificate) => void) => void
  /** Contacts come with their lookup capability, unless one of the pair blocked the other. */
  contactsAndBlocks: () => Promise<{ contacts: Array<{ username: string, since: number, lookupKey?: string, sealKey?: string }>, blocked: string[] }>
  /** The services every user may call (the PSTN gateway), with how to reach them. */
  services: () => Promise<CapabilityView[]>
  /** Logged in as a service: how to reach any user (a caller to answer, a user to ring); undefined for a user's node. */
  reachOf?: (username: string) => Promise<CapabilityView>
  close: () => void
}

/** A user logs in with a password, a service (the PSTN gateway) with its token. */
export type LoginCredentials = { password: string } | { serviceToken: string }

const retryable = (err: unknown): boolean =>
  err instanceof LoginServerUnreachableError || (err instanceof LoginApiError && (err.status === 429 || err.status >= 500))

/** A retry while the login server is unreachable or busy. */
export interface LoginServerWait { url: string, attempt: number, retryInMs: number, reason: string }

/** "waiting for the login server at URL (retrying in N s)": what a starting node says, and logs, on each retry. */
export function describeLoginServerWait (wait: LoginServerWait): string {
  const seconds = wait.retryInMs < 10_000 ? String(Math.round(wait.retryInMs / 100) / 10) : String(Math.round(wait.retryInMs / 1000))
  return `waiting for the login server at ${wait.url} (retrying in ${seconds} s)`
}

/** One login attempt. Each signs afresh: the proof of holding the device key makes this device "known" to the server (exempt from other people's guesses). */
async function createSession (client: LoginClient, credentials: LoginCredentials, sodium: Sodium, claim: { server: string, username: string, dataDir: DataDir }): Promise<CreateSessionResponse> {
  const { deviceKey, secretKey } = claim.dataDir.device
  if ('serviceToken' in credentials) return await client.createServiceSession(credentials.serviceToken, deviceKey)
  const proof = signLoginProof(sodium, secretKey, { server: claim.server, username: claim.username, deviceKey }, Math.floor(Date.now() / 1000))
  return await client.createSession(claim.username, credentials.password, deviceKey, proof)
}

/** A refused login in words; other errors as they are. */
function loginRefusal (err: unknown, user: string, credentials: LoginCredentials): unknown {
  if (err instanceof LoginApiError && err.code === 'invalid_credentials') return new UserError(`login refused: wrong username or password for "${user}"`)
  if (err instanceof LoginApiError && err.code === 'unauthorized' && 'serviceToken' in credentials) return new UserError('login refused: the login server does not know this service token')
  return err
}

export async function openLoginSession (
  options: {
    url: string
    user: string
    credentials: LoginCredentials
    dataDir: DataDir
    log: Logger
    maxAttempts?: number
    /** Told of each retry while the session opens (not of later ones, e.g. renewals). */
    onWait?: (wait: LoginServerWait) => void
    /** Ends the waiting (the node is stopped before it logged in). */
    signal?: AbortSignal
  }
): Promise<LoginSession> {
  const { log, dataDir } = options
  const client = new LoginClient(options.url)
  const backoff = createBackoff({ initialMs: 500, maxMs: 30_000 })
  let opening = true

  const withRetry = async <T>(what: string, action: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await action()
      } catch (err) {
        if (!retryable(err) || attempt >= (options.maxAttempts ?? Infinity)) throw err
        const retryInMs = err instanceof LoginApiError && err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : backoff.next()
        const wait = { url: options.url, attempt, retryInMs, reason: (err as Error).message }
        log.warn({ attempt, waitMs: retryInMs, step: what }, `${describeLoginServerWait(wait)}: ${wait.reason}`)
        if (opening) options.onWait?.(wait)
        await sleep(retryInMs, undefined, { signal: options.signal })
      }
    }
  }

  const info = await withRetry('contacting the login server', () => client.info())
  dataDir.checkLoginServerKey(options.url, info.publicKey)
  const issuerKey = fromBase64url(info.publicKey) as Uint8Array

  const sodium = await loadSodium()
  const login = async (): Promise<CreateSessionResponse> =>
    await withRetry('login', () => createSession(client, options.credentials, sodium, { server: info.publicKey, username: options.user, dataDir }))
      .catch((err: unknown) => { throw loginRefusal(err, options.user, options.credentials) })
  const session = await login()
  if ('serviceToken' in options.credentials) {
    // A token names its service: the node must run as that name (its locators, its calls).
    const check = verifyCertificate(sodium, session.certificate, { issuerKey, nowSeconds: Math.floor(Date.now() / 1000) })
    const user = check.ok ? check.body.user : undefined
    if (user !== options.user) throw new UserError(`this service token belongs to "${String(user)}", not "${options.user}"`)
  }
  opening = false
  backoff.reset()
  log.info({ user: options.user, supernodes: session.supernodes.length }, 'logged in')
  let renewTimer: NodeJS.Timeout | undefined
  let closed = false

  const result: LoginSession = {
    client,
    issuerKey,
    certificate: session.certificate,
    certificateTtlSeconds: info.certificateTtlSeconds,
    supernodes: session.supernodes,
    lookup: session.lookup,
    keepRenewed (onRenewed) {
      const schedule = (delayMs: number): void => {
        if (closed) return
        renewTimer = setTimeout(() => {
          renew().then(certificate => {
            result.certificate = certificate
            onRenewed(certificate)
            log.info({}, 'certificate renewed')
            schedule(info.certificateTtlSeconds * 1000 * CERTIFICATE_RENEW_AT)
          }, (err: Error) => {
            log.warn({}, `certificate renewal failed (${err.message}); retrying`)
            schedule(backoff.next())
          })
        }, delayMs)
        renewTimer.unref()
      }
      schedule(info.certificateTtlSeconds * 1000 * CERTIFICATE_RENEW_AT)
    },
    async contactsAndBlocks () {
      const [{ contacts }, { blocked }] = await Promise.all([
        withRetry('reading contacts', () => client.contacts()),
        withRetry('reading blocks', () => client.blocks())
      ])
      return { contacts, blocked }
    },
    // One attempt: a caller waits on it (a number dialed while no gateway is known).
    async services () {
      return (await client.services()).services
    },
    ...('serviceToken' in options.credentials
      ? { reachOf: async (username: string) => await client.reachOf((options.credentials as { serviceToken: string }).serviceToken, username) }
      : {}),
    close () {
      closed = true
      clearTimeout(renewTimer)
    }
  }

  /** A new certificate for the same device; logs in again when the session token is gone. */
  const renew = async (): Promise<Certificate> => {
    try {
      return await client.renewCertificate()
    } catch (err) {
      if (err instanceof LoginApiError && err.status === 401) return (await login()).certificate
      throw err
    }
  }
  return result
}
