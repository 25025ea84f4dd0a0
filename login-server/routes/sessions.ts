import { CertificateResponse, CreateSessionRequest, CreateSessionResponse, ErrorBody, RevocationsQuery, RevocationsResponse } from '../../common/login-api.js'
import { CERTIFICATE_CLOCK_SKEW_SECONDS } from '../../common/certificate.js'
import { revocationKey } from '../../common/revocation.js'
import { fromBase64url } from '../../common/base64url.js'
import { normalizeUsername } from '../../common/usernames.js'
import { ownLookupFor } from '../../common/lookup-keys.js'
import { MAX_REVOCATIONS_PER_PAGE, SESSION_TTL_SECONDS } from '../constants.js'
import { sampleSupernodes } from './supernodes.js'
import { ApiError } from '../errors.js'
import { issueCertificate } from '../certificates.js'
import { newToken, hashToken } from '../tokens.js'
import { normalizePassword } from './accounts.js'
import type { App, RouteContext } from '../context.js'

export function registerSessionRoutes (app: App, ctx: RouteContext): void {
  const { store, passwords, sodium } = ctx.components

  app.post('/v1/sessions', {
    // Bodies exactly as declared: fastify's default ajv would coerce types
    // (12345 → "12345", ["pw"] → "pw") and silently drop unknown fields.
    schema: { body: CreateSessionRequest, response: { 201: CreateSessionResponse, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const deviceKeyBytes = fromBase64url(request.body.deviceKey)
    if (deviceKeyBytes === undefined || !sodium.crypto_core_ed25519_is_valid_point(deviceKeyBytes)) {
      throw new ApiError('invalid_request', 'deviceKey is not a valid Ed25519 public key')
    }
    // An impossible username is treated like an unknown one: same answer, same work.
    const username = normalizeUsername(request.body.username) ?? `invalid:${request.body.username.slice(0, 32)}`
    ctx.limit('sessionsPerIp', request.ip)
    const now = ctx.now()
    // Per-username limit counts failures only, so a user who types the
    // password right is never locked out by their own successful logins.
    // The attempt is counted before the (slow) password check and taken back
    // unless the password was wrong, so concurrent guesses cannot all slip
    // past the limit while their checks are still running.
    const retryAfter = ctx.limiters.sessionsPerUsername.hit(username, now)
    if (retryAfter > 0) {
      ctx.metrics.rateLimited.inc({ limiter: 'sessionsPerUsername' })
      throw new ApiError('rate_limited', `too many failed logins for this user; retry in ${retryAfter} s`, retryAfter)
    }

    let wrongPassword = false
    try {
      const account = await store.getAccount(username)
      // Unknown users are checked against a decoy hash: the same argon2id work,
      // so the answer time does not tell which usernames exist.
      wrongPassword = !await passwords.verify(normalizePassword(request.body.password), account?.passwordHash)
    } finally {
      if (!wrongPassword) ctx.limiters.sessionsPerUsername.forgive(username, now)
    }
    if (wrongPassword) {
      ctx.metrics.logins.inc({ result: 'failure' })
      throw new ApiError('invalid_credentials', 'wrong username or password')
    }

    const token = newToken()
    const deviceKey = request.body.deviceKey
    await store.createSession(hashToken(token), { username, deviceKey, createdAt: now, expiresAt: now + SESSION_TTL_SECONDS })
    const certificate = await issueCertificate(ctx, username, deviceKey)
    const supernodes = await sampleSupernodes(ctx)
    ctx.metrics.logins.inc({ result: 'success' })
    request.log.info({ username }, 'session created')
    return await reply.status(201).send({ token, certificate, supernodes, lookup: ownLookupFor(ctx.components.lookupSecret, username) })
  })

  app.post('/v1/certificates', {
    schema: { response: { 201: CertificateResponse, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const session = await ctx.authenticate(request)
    return await reply.status(201).send({ certificate: await issueCertificate(ctx, session.username, session.deviceKey) })
  })

  // Logout ends the token and the device's certificates: supernodes poll the revocation list
  // (GET /v1/revocations) every few seconds and refuse them, on open links too.
  app.delete('/v1/sessions', async (request, reply) => {
    const session = await ctx.authenticate(request)
    await store.endSession(session.tokenHash, ctx.now(), CERTIFICATE_CLOCK_SKEW_SECONDS)
    request.log.info({ username: session.username }, 'session ended (logout); the device\'s certificates are revoked')
    return await reply.status(204).send()
  })

  app.get('/v1/revocations', {
    schema: { querystring: RevocationsQuery, response: { 200: RevocationsResponse, '4xx': ErrorBody } }
  }, async request => {
    const rows = await store.listRevocations(Number(request.query.after ?? 0), ctx.now(), MAX_REVOCATIONS_PER_PAGE + 1)
    return {
      revocations: rows.slice(0, MAX_REVOCATIONS_PER_PAGE)
        .map(row => ({ id: row.id, key: revocationKey(sodium, row.username, row.deviceKey), serial: row.serial, expires: row.expiresAt })),
      more: rows.length > MAX_REVOCATIONS_PER_PAGE
    }
  })
}
