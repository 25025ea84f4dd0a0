// Calls: place, answer, decline, hang up, mute, list. The node picks the only
// suitable call when callId is left out; a prefix of an id names a call too.
import { looksLikePhoneNumber } from '../../../common/phone-numbers.js'
import type { NodeApi } from '../../runtime/api.js'
import type { ControlApp } from '../app.js'
import { AnswerCallInput, BrowserMediaReplyInput, CallHistoryQuery, CallHistoryView, CallIdInput, CallIdResponse, CallsResponse, DoneResponse, ErrorBody, MuteInput, MuteResponse, PlaceCallInput } from '../control-api.js'
import { audioOptions, requireUsername } from '../request-errors.js'

export function callRoutes (app: ControlApp, api: NodeApi): void {
  const errors = { '4xx': ErrorBody, '5xx': ErrorBody }

  app.get('/v1/calls', { schema: { response: { 200: CallsResponse, ...errors } } }, async () => ({ calls: api.calls() }))

  app.get('/v1/calls/history', { schema: { querystring: CallHistoryQuery, response: { 200: CallHistoryView, ...errors } } }, async request =>
    await api.callHistory(request.query.limit === undefined ? undefined : Number(request.query.limit)))

  app.post('/v1/calls', { schema: { body: PlaceCallInput, response: { 200: CallIdResponse, ...errors } } }, async request => {
    // A phone number is checked by the node (calls/call-target.ts); anything else must be a username.
    const to = looksLikePhoneNumber(request.body.to.trim()) ? request.body.to : requireUsername(request.body.to, 'to')
    const options = audioOptions(request.body)
    return await api.placeCall(to, request.body.relayOnly === true ? { ...options, relayOnly: true } : options)
  })

  app.post('/v1/calls/answer', { schema: { body: AnswerCallInput, response: { 200: CallIdResponse, ...errors } } }, async request => {
    const options = audioOptions(request.body)
    return await api.answerCall(request.body.callId, Object.keys(options).length === 0 ? undefined : options)
  })

  app.post('/v1/calls/decline', { schema: { body: CallIdInput, response: { 200: DoneResponse, ...errors } } }, async request => {
    api.declineCall(request.body.callId)
    return { status: 'declined' }
  })

  app.post('/v1/calls/hangup', { schema: { body: CallIdInput, response: { 200: DoneResponse, ...errors } } }, async request => {
    api.hangup(request.body.callId)
    return { status: 'ended' }
  })

  app.post('/v1/calls/browser-media', { schema: { body: BrowserMediaReplyInput, response: { 200: DoneResponse, ...errors } } }, async request => {
    const { callId, ...reply } = request.body
    api.browserMediaReply(callId, reply)
    return { status: 'ok' }
  })

  app.post('/v1/calls/mute', { schema: { body: MuteInput, response: { 200: MuteResponse, ...errors } } }, async request => {
    api.setMuted(request.body.muted, request.body.callId)
    return { muted: request.body.muted }
  })
}
