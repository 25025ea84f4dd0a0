import { Type } from 'typebox'
import { BlockInput, BlocksResponse, ErrorBody, UsernameParams } from '../../common/login-api.js'
import { ApiError } from '../errors.js'
import { requireUsername } from './accounts.js'
import type { App, RouteContext } from '../context.js'

export function registerBlockRoutes (app: App, ctx: RouteContext): void {
  const { store } = ctx.components

  app.post('/v1/blocks', { schema: { body: BlockInput, response: { 204: Type.Null(), '4xx': ErrorBody } } }, async (request, reply) => {
    const { username } = await ctx.authenticate(request)
    const target = requireUsername(request.body.username)
    if (target === username) throw new ApiError('invalid_request', 'you cannot block yourself')
    if (await store.getAccount(target) === undefined) throw new ApiError('not_found', `there is no user "${target}"`)
    await store.block(username, target, ctx.nowSeconds())
    return await reply.status(204).send(null)
  })

  app.get('/v1/blocks', { schema: { response: { 200: BlocksResponse } } }, async request => {
    const { username } = await ctx.authenticate(request)
    return { blocked: await store.listBlocks(username) }
  })

  app.delete('/v1/blocks/:username', { schema: { params: UsernameParams, response: { 204: Type.Null(), '4xx': ErrorBody } } }, async (request, reply) => {
    const { username } = await ctx.authenticate(request)
    if (!await store.unblock(username, requireUsername(request.params.username))) {
      throw new ApiError('not_found', `${request.params.username} is not blocked`)
    }
    return await reply.status(204).send(null)
  })
}
