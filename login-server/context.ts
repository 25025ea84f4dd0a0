// What every route handler gets: the components, resolved settings, limiters,
// metrics, the clock, and the bearer-token check.
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Sodium } from '../common/sodium.js'
import type { SigningKeyPair } from '../common/key-file.js'
import type { Dialer } from '../common/dialback.js'
import type { LoginStore, Session } from './store/store.js'
import type { PasswordHasher } from './password-hasher.js'
import type { RateLimiter } from './rate-limiter.js'
import type { RateLimits } from './constants.js'
import type { LoginMetrics } from './metrics.js'
import { ApiError } from './errors.js'
import { hashToken } from './tokens.js'

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

export interface LoginServerComponents {
  sodium: Sodium
  store: LoginStore
  signingKey: SigningKeyPair
  /** 32 bytes: users' lookup keys and seal keys are derived from it (common/lookup-keys.ts). */
  lookupSecret: Uint8Array
  passwords: PasswordHasher
  /** Confirms a supernode's advertised address answers (common/dialback.ts). */
  dialer: Dialer
  /** Unix milliseconds; injected so tests can move time. */
  clock?: () => number
}

export interface LoginServerInit {
  certificateTtlSeconds?: number
  rateLimits?: Partial<RateLimits>
  /** pino options or false; fastify's logger. */
  logger?: boolean | object
  /** Trust X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy?: boolean
  /** Supernodes admitted at once per address group; more than 2 only for labs. */
  maxSupernodesPerAddress?: number
}

export interface RouteContext {
  components: Required<LoginServerComponents>
  certificateTtlSeconds: number
  maxSupernodesPerAddress: number
  /** Key of the DHT id derivation (common/supernode-credential.ts). */
  dhtIdSecret: Uint8Array
  limiters: Record<keyof RateLimits, RateLimiter>
  metrics: LoginMetrics
  /** Unix seconds. */
  nowSeconds: () => number
  /** Resolves the bearer token to its session, or throws 401. */
  authenticate: (request: FastifyRequest) => Promise<Session & { tokenHash: Uint8Array }>
  /** Resolves a service's bearer token (the PSTN gateway's) to the service's name, or throws 401. */
  authenticateService: (request: FastifyRequest) => Promise<string>
  /** Counts a hit of `key`; rejects with a 429 when it is over `limiter`'s limit. */
  limit: (limiter: keyof RateLimits, key: string) => Promise<void>
}

/** The hash of the request's bearer token, or a 401 that says the route needs `what`. */
function bearerTokenHash (request: FastifyRequest, what: string): Uint8Array {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header) : null
  if (match === null) throw new ApiError('unauthorized', `this route needs an "Authorization: Bearer TOKEN" header with ${what}`)
  return hashToken(match[1] as string)
}

export function createServiceAuthenticator (store: LoginStore): RouteContext['authenticateService'] {
  return async request => {
    const name = await store.getServiceByToken(bearerTokenHash(request, 'a service token'))
    if (name === undefined) throw new ApiError('unauthorized', 'the service token is unknown')
    return name
  }
}

export function createAuthenticator (store: LoginStore, now: () => number): RouteContext['authenticate'] {
  return async request => {
    const tokenHash = bearerTokenHash(request, 'a session token')
    const session = await store.getSession(tokenHash, now())
    if (session === undefined) throw new ApiError('unauthorized', 'the session token is unknown, expired or logged out')
    return { ...session, tokenHash }
  }
}
