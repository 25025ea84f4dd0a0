// Skype's contact model: a request, accepted or declined by its addressee;
// contacts are mutual once accepted. A request from someone the addressee has
// blocked "vanishes": the sender sees it pending, the addressee never sees it.
// An accepted request stays listed, as accepted, for ACCEPTED_REQUESTS_SHOWN_SECONDS,
// so both sides see who became a contact and how (also when a request of
// theirs was completed by the other side asking back).
import { Type } from 'typebox'
import {
  ContactRequestCreated, ContactRequestInput, ContactRequestsResponse, ContactsResponse, ErrorBody, RequestIdParams, UsernameParams
} from '../../common/login-api.js'
import { ACCEPTED_REQUESTS_SHOWN_SECONDS, MAX_CONTACT_MESSAGE_CHARS, MAX_PENDING_OUTGOING_REQUESTS } from '../constants.js'
import { ApiError } from '../errors.js'
import { capabilityFor } from '../../common/lookup-keys.js'
import { requireUsername } from './accounts.js'
import type { App, RouteContext } from '../context.js'

const Done = Type.Object({ status: Type.String() })

export function registerContactRoutes (app: App, ctx: RouteContext): void {
  const { store } = ctx.components

  app.post('/v1/contacts/requests', {
    schema: { body: ContactRequestInput, response: { 200: ContactRequestCreated, 201: ContactRequestCreated, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const { username: from } = await ctx.authenticate(request)
    const to = requireUsername(request.body.to)
    const message = (request.body.message ?? '').normalize('NFC')
    if ([...message].length > MAX_CONTACT_MESSAGE_CHARS || /(?![\t\n])\p{Cc}/u.test(message)) {
      throw new ApiError('invalid_request', `message must be at most ${MAX_CONTACT_MESSAGE_CHARS} characters without control characters`)
    }
    if (to === from) throw new ApiError('invalid_request', 'you cannot add yourself as a contact')
    // Every request goes to a non-contact (contacts are refused below): at most
    // contactRequestsPerSender an hour, counted before any lookup, so the limit
    // also bounds probing which usernames exist.
    await ctx.limit('contactRequestsPerSender', from)
    if (await store.getAccount(to) === undefined) throw new ApiError('not_found', `there is no user "${to}"`)
    if (await store.areContacts(from, to)) throw new ApiError('already_contacts', `${to} is already your contact`)
    if (await store.countOutgoingRequests(from) >= MAX_PENDING_OUTGOING_REQUESTS) {
      throw new ApiError('rate_limited', `you have ${MAX_PENDING_OUTGOING_REQUESTS} pending requests; wait for answers first`)
    }
    // A request to someone who blocked the sender is kept hidden (the store decides, with the write).
    const result = await store.createContactRequest(from, to, message, ctx.nowSeconds())
    if (result.kind === 'already_contacts') throw new ApiError('already_contacts', `${to} is already your contact`)
    if (result.kind === 'accepted') {
      request.log.info({ from, to }, 'contact request completed a pending reverse request: now contacts')
      return await reply.status(200).send({ status: 'accepted' })
    }
    return await reply.status(result.kind === 'created' ? 201 : 200).send({ status: 'pending', request: result.request })
  })

  app.get('/v1/contacts/requests', { schema: { response: { 200: ContactRequestsResponse } } }, async request => {
    const { username } = await ctx.authenticate(request)
    return {
      incoming: await store.listIncomingRequests(username),
      outgoing: await store.listOutgoingRequests(username),
      accepted: await store.listAcceptedRequests(username, ctx.nowSeconds() - ACCEPTED_REQUESTS_SHOWN_SECONDS)
    }
  })

  app.post('/v1/contacts/requests/:id/accept', {
    schema: { params: RequestIdParams, response: { 200: Done, '4xx': ErrorBody } }
  }, async request => {
    const { username } = await ctx.authenticate(request)
    if (await store.acceptContactRequest(Number(request.params.id), username, ctx.nowSeconds()) === 'not_found') {
      throw new ApiError('not_found', `no pending request ${request.params.id} addressed to you`)
    }
    return { status: 'accepted' }
  })

  app.post('/v1/contacts/requests/:id/decline', {
    schema: { params: RequestIdParams, response: { 200: Done, '4xx': ErrorBody } }
  }, async request => {
    const { username } = await ctx.authenticate(request)
    if (await store.declineContactRequest(Number(request.params.id), username) === 'not_found') {
      throw new ApiError('not_found', `no pending request ${request.params.id} addressed to you`)
    }
    return { status: 'declined' }
  })

  app.get('/v1/contacts', { schema: { response: { 200: ContactsResponse } } }, async request => {
    const { username } = await ctx.authenticate(request)
    const { sodium, lookupSecret } = ctx.components
    const contacts = await store.listContacts(username)
    return {
      contacts: await Promise.all(contacts.map(async contact => {
        // A blocked pair gets nothing: neither may find the other.
        if (await store.isBlocked(username, contact.username) || await store.isBlocked(contact.username, username)) return contact
        const { lookupKey, sealKey } = capabilityFor(sodium, lookupSecret, contact.username)
        return { ...contact, lookupKey, sealKey }
      }))
    }
  })

  app.delete('/v1/contacts/:username', {
    schema: { params: UsernameParams, response: { 204: Type.Null(), '4xx': ErrorBody } }
  }, async (request, reply) => {
    const { username } = await ctx.authenticate(request)
    const contact = requireUsername(request.params.username)
    if (!await store.removeContact(username, contact)) throw new ApiError('not_found', `${contact} is not your contact`)
    return await reply.status(204).send(null)
  })
}
