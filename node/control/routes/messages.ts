// Status (and the role the user chose), text messages and the message history.
import type { NodeApi } from '../../runtime/api.js'
import { MAX_HISTORY_LIMIT } from '../../runtime/defaults.js'
import type { ControlApp } from '../app.js'
import { ErrorBody, MessagesQuery, MessagesResponse, RoleInput, RoleResponse, SignInInput, SendMessageInput, SendMessageResponse, StatusResponse, BalanceResponse } from '../control-api.js'
import { CONTROL_CHARACTERS, RequestError, requireUsername } from '../request-errors.js'

export function statusAndMessageRoutes (app: ControlApp, api: NodeApi): void {
  const errors = { '4xx': ErrorBody, '5xx': ErrorBody }

  app.get('/v1/status', { schema: { response: { 200: StatusResponse, ...errors } } }, async () => api.status())
  app.post('/v1/sign-in', { schema: { body: SignInInput, response: { 200: StatusResponse, ...errors } } }, async request => {
    await api.signIn(request.body.password)
    return api.status()
  })
  app.put('/v1/role', { schema: { body: RoleInput, response: { 200: RoleResponse, ...errors } } }, async request => await api.setRole(request.body.role))
  app.get('/v1/balance', { schema: { response: { 200: BalanceResponse, ...errors } } }, async () => await api.balance())

  app.post('/v1/messages', { schema: { body: SendMessageInput, response: { 200: SendMessageResponse, ...errors } } }, async request => {
    const to = requireUsername(request.body.to, 'to')
    const text = request.body.text.normalize('NFC')
    if (text.trim() === '') throw new RequestError(400, 'invalid_request', 'text is empty')
    if (CONTROL_CHARACTERS.test(text)) throw new RequestError(400, 'invalid_request', 'text may not contain control characters other than tab and newline')
    return await api.sendMessage(to, text)
  })

  app.get('/v1/messages', { schema: { querystring: MessagesQuery, response: { 200: MessagesResponse, ...errors } } }, async request => {
    const peer = request.query.with === undefined ? undefined : requireUsername(request.query.with, 'with')
    const limit = request.query.limit === undefined ? undefined : Number(request.query.limit)
    if (limit !== undefined && (limit < 1 || limit > MAX_HISTORY_LIMIT)) {
      throw new RequestError(400, 'invalid_request', `limit must be between 1 and ${MAX_HISTORY_LIMIT}`)
    }
    return { messages: api.messages(peer, limit) }
  })
}
