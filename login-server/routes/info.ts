import { Type } from 'typebox'
import { InfoResponse } from '../../common/login-api.js'
import { toBase64url } from '../../common/base64url.js'
import { VOXMESH_VERSION } from '../../common/version.js'
import type { App, RouteContext } from '../context.js'

export function registerInfoRoutes (app: App, ctx: RouteContext): void {
  const publicKey = toBase64url(ctx.components.signingKey.publicKey)

  app.get('/v1/info', { schema: { response: { 200: InfoResponse } } }, async () =>
    ({ publicKey, version: VOXMESH_VERSION, certificateTtlSeconds: ctx.certificateTtlSeconds }))

  app.get('/healthz', { schema: { response: { 200: Type.Object({ status: Type.String(), liveSupernodes: Type.Integer() }) } } }, async () => {
    // Touches the database, so a broken store shows as unhealthy (500).
    return { status: 'ok', liveSupernodes: await ctx.components.store.countLiveSupernodes(ctx.nowSeconds()) }
  })

  app.get('/metrics', async (_request, reply) => {
    ctx.metrics.liveSupernodes.set(await ctx.components.store.countLiveSupernodes(ctx.nowSeconds()))
    return await reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics())
  })
}
