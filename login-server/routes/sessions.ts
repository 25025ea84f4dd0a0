import { CertificateResponse, CreateSessionRequest, CreateSessionResponse, ErrorBody, RevocationsQuery, RevocationsResponse } from '../../common/login-api.js'
import { CERTIFICATE_CLOCK_SKEW_SECONDS } from '../../common/certificate.js'
import { revocationKey } from '../../common/revocation.js'
import { fromBase64url, toBase64url } from '../../common/base64url.js'
import { normalizeUsername } from '../../common/usernames.js'
import { ownLookupFor } from '../../common/lookup-keys.js'
import { addressPrefix } from '../../common/address.js'
import { checkLoginProof } from '../../common/login-proof.js'
import { KNOWN_DEVICE_TTL_SECONDS, LOGIN_PROOF_MAX_SKEW_SECONDS, MAX_KNOWN_DEVICES_PER_USER, MAX_REVOCATIONS_PER_PAGE, SESSION_TTL_SECONDS } from '../constants.js'
import { sampleSupernodes } from './supernodes.js'
import { ApiError } from '../errors.js'
import { issueCertificate } from '../certificates.js'
import { newToken, hashToken } from '../tokens.js'
import { normalizePassword } from './accounts.js'
import type { App, RouteContext } from '../context.js'

export function registerSessionRoutes (app: App, ctx: RouteContext): void {
  const { store, passwords, sodium } = ctx.components
  const serverKey = toBase64url(ctx.components.signingKey.publicKey)

  app.post('/v1/sessions', {
    // Bodies exactly as declared: fastify's default ajv would coerce types
    // (12345 → "12345", ["pw"] → "pw") and silently drop unknown fields.
    schema: { body: CreateSessionRequest, response: { 201: CreateSessionResponse, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const { deviceKey, proof } = request.body
    const deviceKeyBytes = fromBase64url(deviceKey)
    if (deviceKeyBytes === undefined || !sodium.crypto_core_ed25519_is_valid_point(deviceKeyBytes)) {
      throw new ApiError('invalid_request', 'deviceKey is not a valid Ed25519 public key')
    }
    // An impossible username is treated like an unknown one: same answer, same work.
    const username = normalizeUsername(request.body.username) ?? `invalid:${request.body.username.slice(0, 32)}`
    const now = ctx.nowSeconds()

    // Device cookies (OWASP): a device that proves its key and logged in as this
    // user before is known. Its attempts count only against its own failures,
    // so other people's guesses, from anywhere, never lock it out; and its
    // password check goes ahead of unknown devices' in the hasher queue.
    const known = proof !== undefined &&
      checkLoginProof(sodium, proof, { server: serverKey, username: request.body.username, deviceKey }, now, LOGIN_PROOF_MAX_SKEW_SECONDS) &&
      await store.isKnownDevice(username, deviceKey, now - KNOWN_DEVICE_TTL_SECONDS)
    const device = known ? 'known' : 'unknown'
    const reject = (reason: 'wrong_password' | 'rate_limited' | 'busy', err: ApiError): never => {
      ctx.metrics.rejectedLogins.inc({ reason, device })
      throw err
    }

    try {
      if (!known) await ctx.limit('sessionsPerIp', addressPrefix(request.ip))
      // Known devices skip the per-network limit but not every limit: each user's known devices
      // share an allowance of attempts (right or wrong), so an attacker's own known devices cannot
      // fill the priority lane of the password queue without bound.
      else await ctx.limit('knownDeviceLoginsPerUser', username)
    } catch (err) {
      reject('rate_limited', err as ApiError)
    }
    // The failure limits count an attempt before the (slow) password check and
    // take it back unless the password was wrong, so concurrent guesses cannot
    // all slip past the limit while their checks are still running; a user who
    // types the password right is never limited by their own logins.
    const limiter = known ? ctx.limiters.sessionsPerKnownDevice : ctx.limiters.sessionsPerUsername
    const limitKey = known ? `${username} ${deviceKey}` : username
    const retryAfterSeconds = await limiter.hit(limitKey, now)
    if (retryAfterSeconds > 0) {
      ctx.metrics.rateLimited.inc({ limiter: known ? 'sessionsPerKnownDevice' : 'sessionsPerUsername' })
      reject('rate_limited', new ApiError('rate_limited', `too many failed logins for this user${known ? ' on this device' : ''}; retry in ${retryAfterSeconds} s`, retryAfterSeconds))
    }

    let wrongPassword = false
    try {
      const account = await store.getAccount(username)
      // Unknown users are checked against a decoy hash: the same argon2id work,
      // so the answer time does not tell which usernames exist.
      wrongPassword = !await passwords.verify(normalizePassword(request.body.password), account?.passwordHash, known ? 'known' : 'normal')
    } catch (err) {
      if (err instanceof ApiError && err.code === 'busy') reject('busy', err)
      throw err
    } finally {
      if (!wrongPassword) await limiter.forgive(limitKey, now)
    }
    if (wrongPassword) {
      ctx.metrics.logins.inc({ result: 'failure' })
      reject('wrong_password', new ApiError('invalid_credentials', 'wrong username or password'))
    }

    const token = newToken()
    await store.createSession(hashToken(token), { username, deviceKey, createdAt: now, expiresAt: now + SESSION_TTL_SECONDS })
    await store.recordKnownDevice(username, deviceKey, now, MAX_KNOWN_DEVICES_PER_USER)
    const certificate = await issueCertificate(ctx, username, deviceKey)
    const supernodes = await sampleSupernodes(ctx)
    ctx.metrics.logins.inc({ result: 'success' })
    request.log.info({ username, device }, 'session created')
    return await reply.status(201).send({ token, certificate, supernodes, lookup: ownLookupFor(ctx.components.lookupSecret, username) })
  })

  app.post('/v1/certificates', {
    schema: { response: { 201: CertificateResponse, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const session = await ctx.authenticate(request)
    const certificate = await issueCertificate(ctx, session.username, session.deviceKey)
    // A logout may have ended the session meanwhile (on another instance): its revocation then
    // may not cover this certificate (see recordCertificate), which is why it goes to no one.
    await ctx.authenticate(request)
    return await reply.status(201).send({ certificate })
  })

  // Logout ends the token and the device's certificates: supernodes poll the revocation list
  // (GET /v1/revocations) every few seconds and refuse them, on open links too.
  app.delete('/v1/sessions', async (request, reply) => {
    const session = await ctx.authenticate(request)
    await store.endSession(session.tokenHash, ctx.nowSeconds(), CERTIFICATE_CLOCK_SKEW_SECONDS)
    request.log.info({ username: session.username }, 'session ended (logout); the device\'s certificates are revoked')
    return await reply.status(204).send()
  })

  app.get('/v1/revocations', {
    schema: { querystring: RevocationsQuery, response: { 200: RevocationsResponse, '4xx': ErrorBody } }
  }, async request => {
    const rows = await store.listRevocations(Number(request.query.after ?? 0), ctx.nowSeconds(), MAX_REVOCATIONS_PER_PAGE + 1)
    return {
      revocations: rows.slice(0, MAX_REVOCATIONS_PER_PAGE)
        .map(row => ({ id: row.id, key: revocationKey(sodium, row.username, row.deviceKey), serial: row.serial, expires: row.expiresAt })),
      more: rows.length > MAX_REVOCATIONS_PER_PAGE
    }
  })
}
