// Status and text messages.
import type { NodeApi } from '../../runtime/api.js'
import type { ControlApp } from '../app.js'
import { ErrorBody, SendMessageInput, SendMessageResponse, StatusResponse } from '../control-api.js'
import { CONTROL_CHARACTERS, RequestError, requireUsername } from '../request-errors.js'

export function statusAndMessageRoutes (app: ControlApp, api: NodeApi): void {
  const errors = { '4xx': ErrorBody, '5xx': ErrorBody }

  app.get('/v1/status', { schema: { response: { 200: StatusResponse, ...errors } } }, async () => api.status())

  app.post('/v1/messages', { schema: { body: SendMessageInput, response: { 200: SendMessageResponse, ...errors } } }, async request => {
    const to = requireUsername(request.body.to, 'to')
    const text = request.body.text.normalize('NFC')
    if (text.trim() === '') throw new RequestError(400, 'invalid_request', 'text is empty')
    if (CONTROL_CHARACTERS.test(text)) throw new RequestError(400, 'invalid_request', 'text may not contain control characters other than tab and newline')
    return await api.sendMessage(to, text)
  })
}
