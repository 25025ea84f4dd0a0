// Service accounts log in with a token instead of a password: the PSTN gateway, made by
// `voxmesh login-server add-service pstn`, gets a session, a certificate and the supernode list
// for its device key exactly as a user's node does, and serves in the overlay under its name.
import { CreateSessionResponse, ErrorBody, ServiceSessionRequest } from '../../common/login-api.js'
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
}
