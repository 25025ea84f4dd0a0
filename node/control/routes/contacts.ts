// Contacts, requests, blocks and presence.
import { Type } from 'typebox'
import type { NodeApi } from '../../runtime/api.js'
import type { ControlApp } from '../app.js'
import {
  AddContactInput, AddContactResponse, BlockInput, ContactsResponse, DoneResponse, ErrorBody, PresenceInput, PresenceResponse, RequestsResponse, UsernameParams
} from '../control-api.js'
import { CONTROL_CHARACTERS, RequestError, requireUsername } from '../request-errors.js'

export function contactRoutes (app: ControlApp, api: NodeApi): void {
  const errors = { '4xx': ErrorBody, '5xx': ErrorBody }
  const usernameParam = { params: UsernameParams }

  app.get('/v1/contacts', { schema: { response: { 200: ContactsResponse, ...errors } } }, async () => ({ contacts: await api.contacts() }))

  app.post('/v1/contacts', { schema: { body: AddContactInput, response: { 200: AddContactResponse, ...errors } } }, async request => {
    const username = requireUsername(request.body.username)
    const message = request.body.message?.normalize('NFC')
    if (message !== undefined && CONTROL_CHARACTERS.test(message)) throw new RequestError(400, 'invalid_request', 'message may not contain control characters')
    return { status: (await api.addContact(username, message)).status }
  })

  app.post('/v1/contacts/:username/accept', { schema: { ...usernameParam, response: { 200: DoneResponse, ...errors } } }, async request => {
    await api.acceptContact(requireUsername(request.params.username))
    return { status: 'accepted' }
  })

  app.post('/v1/contacts/:username/decline', { schema: { ...usernameParam, response: { 200: DoneResponse, ...errors } } }, async request => {
    await api.declineContact(requireUsername(request.params.username))
    return { status: 'declined' }
  })

  app.delete('/v1/contacts/:username', { schema: { ...usernameParam, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    await api.removeContact(requireUsername(request.params.username))
    return await reply.status(204).send(null)
  })

  app.post('/v1/blocks', { schema: { body: BlockInput, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    await api.block(requireUsername(request.body.username))
    return await reply.status(204).send(null)
  })

  app.delete('/v1/blocks/:username', { schema: { ...usernameParam, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    await api.unblock(requireUsername(request.params.username))
    return await reply.status(204).send(null)
  })

  app.get('/v1/requests', { schema: { response: { 200: RequestsResponse, ...errors } } }, async () => await api.requests())

  app.put('/v1/presence', { schema: { body: PresenceInput, response: { 200: PresenceResponse, ...errors } } }, async request => {
    api.setPresence(request.body.status)
    return { status: request.body.status }
  })
}
