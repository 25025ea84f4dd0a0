// Service accounts log in with a token instead of a password: the PSTN gateway, made by
// `voxmesh login-server add-service pstn`, gets a session, a certificate and the supernode list
// for its device key exactly as a user's node does, and serves in the overlay under its name.
// Users cannot find non-contacts in the overlay (they lack their lookup capability); services
// are the exception both ways: every user is told how to reach the services, and a service asks
// here, with its token, how to reach a user (a caller to answer, a user to ring).
import { CapabilityView, CreateSessionResponse, ErrorBody, ServicesResponse, ServiceSessionRequest, UsernameParams } from '../../common/login-api.js'
import { capabilityFor } from '../../common/lookup-keys.js'
import { requireUsername } from './accounts.js'
import { fromBase64url } from '../../common/base64url.js'
import { ownLookupFor } from '../../common/lookup-keys.js'
import { SESSION_TTL_SECONDS } from '../constants.js'
import { ApiError } from '../errors.js'
import { issueCertificate } from '../certificates.js'
import { newToken, hashToken } from '../tokens.js'
import { sampleSupernodes } from './supernodes.js'
import type { App, RouteContext } from '../context.js'

export function registerServiceRoutes (app: App, ctx: RouteContext): void {
  const { store, sodium } = ctx.components

  app.post('/v1/services/sessions', {
    schema: { body: ServiceSessionRequest, response: { 201: CreateSessionResponse, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const name = await ctx.authenticateService(request)
    const deviceKeyBytes = fromBase64url(request.body.deviceKey)
    if (deviceKeyBytes === undefined || !sodium.crypto_core_ed25519_is_valid_point(deviceKeyBytes)) {
      throw new ApiError('invalid_request', 'deviceKey is not a valid Ed25519 public key')
    }
    const now = ctx.nowSeconds()
    const token = newToken()
    await store.createSession(hashToken(token), { username: name, deviceKey: request.body.deviceKey, createdAt: now, expiresAt: now + SESSION_TTL_SECONDS })
    const certificate = await issueCertificate(ctx, name, request.body.deviceKey)
    request.log.info({ service: name }, 'service session created')
    return await reply.status(201).send({ token, certificate, supernodes: await sampleSupernodes(ctx), lookup: ownLookupFor(ctx.components.lookupSecret, name) })
  })

  const reachOf = (username: string): CapabilityView => {
    const { lookupKey, sealKey } = capabilityFor(sodium, ctx.components.lookupSecret, username)
    return { username, lookupKey, sealKey }
  }

  app.get('/v1/services', { schema: { response: { 200: ServicesResponse, '4xx': ErrorBody } } }, async request => {
    await ctx.authenticate(request)
    return { services: (await store.listServices()).map(reachOf) }
  })

  app.get('/v1/services/reach/:username', {
    schema: { params: UsernameParams, response: { 200: CapabilityView, '4xx': ErrorBody } }
  }, async request => {
    await ctx.authenticateService(request)
    const username = requireUsername(request.params.username)
    if (await store.getAccount(username) === undefined) throw new ApiError('not_found', `there is no user "${username}"`)
    return reachOf(username)
  })
}
