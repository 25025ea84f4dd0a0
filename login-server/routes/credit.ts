// Credit: each user's ledger (store/sqlite/credit.ts) and the two questions the PSTN gateway asks
// about a call to a phone number, with its service token only: may this user call this number
// (rate by the longest matching prefix, credit for at least one minute), and, at hangup, charge its
// connected time per started minute, once per call id however often the gateway asks.
import {
  AuthorizeCallRequest, AuthorizeCallResponse, BalanceResponse, CallHistoryQuery, CallHistoryResponse, ChargeCallRequest, ChargeCallResponse, ErrorBody,
  PstnCallRecordInput
} from '../../common/login-api.js'
import { AUTHORIZATION_HOLD_SECONDS, DEFAULT_CALL_HISTORY_LIMIT, MAX_AUTHORIZED_MINUTES, MAX_PSTN_CALLS_PER_USER } from '../constants.js'
import { Type } from 'typebox'
import { CURRENCY, formatMoney } from '../../common/money.js'
import { invalidPhoneNumberMessage, isPhoneNumber } from '../../common/phone-numbers.js'
import { ApiError } from '../errors.js'
import { costOf, rateFor, type Rate } from '../rates.js'
import { requireUsername } from './accounts.js'
import type { App, RouteContext } from '../context.js'


function requireRate (number: string): Rate {
  if (!isPhoneNumber(number)) throw new ApiError('invalid_request', invalidPhoneNumberMessage(number))
  const rate = rateFor(number)
  if (rate === undefined) throw new ApiError('not_found', `no rate covers ${number}: calls there are not offered`)
  return rate
}

export function registerCreditRoutes (app: App, ctx: RouteContext): void {
  const { store } = ctx.components

  app.get('/v1/credit', { schema: { response: { 200: BalanceResponse, '4xx': ErrorBody } } }, async request => {
    const { username } = await ctx.authenticate(request)
    return { balance: await store.getBalance(username), currency: CURRENCY }
  })

  app.get('/v1/calls/history', { schema: { querystring: CallHistoryQuery, response: { 200: CallHistoryResponse, '4xx': ErrorBody } } }, async request => {
    const { username } = await ctx.authenticate(request)
    const limit = Math.min(MAX_PSTN_CALLS_PER_USER, Number(request.query.limit ?? DEFAULT_CALL_HISTORY_LIMIT))
    const calls = (await store.listPstnCalls(username, limit)).map(({ username: _user, ...call }) => call)
    return { currency: CURRENCY, calls }
  })

  const Recorded = Type.Object({ status: Type.Union([Type.Literal('recorded'), Type.Literal('exists')]) })
  app.post('/v1/pstn/records', { schema: { body: PstnCallRecordInput, response: { 200: Recorded, 201: Recorded, '4xx': ErrorBody } } }, async (request, reply) => {
    await ctx.authenticateService(request)
    const record = { ...request.body, username: requireUsername(request.body.username) }
    if (record.endedAt < record.startedAt || (record.answeredAt !== undefined && (record.answeredAt < record.startedAt || record.answeredAt > record.endedAt))) {
      throw new ApiError('invalid_request', 'the record\'s times are out of order: started ≤ answered ≤ ended')
    }
    const result = await store.recordPstnCall(record, MAX_PSTN_CALLS_PER_USER)
    if (result === 'no_account') throw new ApiError('not_found', `there is no user "${record.username}"`)
    return await reply.status(result === 'recorded' ? 201 : 200).send({ status: result })
  })

  app.post('/v1/pstn/authorizations', {
    schema: { body: AuthorizeCallRequest, response: { 200: AuthorizeCallResponse, '4xx': ErrorBody } }
  }, async request => {
    const service = await ctx.authenticateService(request)
    const { callId, number } = request.body
    const username = requireUsername(request.body.username)
    const rate = requireRate(number)
    const result = await store.authorizeCall({ callId, username, number, ratePerMinute: rate.perMinute, maxMinutes: MAX_AUTHORIZED_MINUTES, holdSeconds: AUTHORIZATION_HOLD_SECONDS }, ctx.nowSeconds())
    switch (result.kind) {
      case 'no_account': throw new ApiError('not_found', `there is no user "${username}"`)
      case 'reused': throw new ApiError('invalid_request', `call id ${callId} belongs to another call: a call id is authorized once`)
      case 'no_credit':
        request.log.info({ service, username, callId, available: result.available, rate: rate.perMinute }, 'call to a phone number refused: not enough credit')
        throw new ApiError('payment_required', `not enough credit: a call to ${number} costs ${formatMoney(rate.perMinute)} a minute and ${username} has ${formatMoney(Math.max(0, result.available))} free`)
    }
    const { authorization } = result
    return { ratePerMinute: authorization.ratePerMinute, prefix: rate.prefix, balance: await store.getBalance(username), currency: CURRENCY, maxSeconds: authorization.maxSeconds }
  })

  app.post('/v1/pstn/charges', {
    schema: { body: ChargeCallRequest, response: { 200: ChargeCallResponse, 201: ChargeCallResponse, '4xx': ErrorBody } }
  }, async (request, reply) => {
    const service = await ctx.authenticateService(request)
    const { callId, number } = request.body
    const username = requireUsername(request.body.username)
    // Only what was authorized is charged: its rate, at most its length.
    const authorization = await store.getAuthorization(callId)
    if (authorization === undefined || authorization.username !== username || authorization.number !== number) {
      throw new ApiError('invalid_request', `call ${callId} was not authorized for ${username} to ${number}: nothing to charge`)
    }
    const billsec = Math.min(request.body.billsec, authorization.maxSeconds)
    const cost = costOf(billsec, { prefix: number, perMinute: authorization.ratePerMinute })
    const result = await store.chargeCall(username, callId, cost, `call ${callId} to ${number}: ${billsec} s at ${formatMoney(authorization.ratePerMinute)}/min (${service})`, ctx.nowSeconds())
    if (result.kind === 'no_account') throw new ApiError('not_found', `there is no user "${username}"`)
    if (result.kind === 'already' && result.entry.username !== username) {
      throw new ApiError('invalid_request', `call ${callId} was charged to another user`)
    }
    const balance = await store.getBalance(username)
    if (result.kind === 'charged') request.log.info({ service, username, callId, billsec, cost }, 'call charged')
    return await reply.status(result.kind === 'charged' ? 201 : 200).send({ cost: -result.entry.amount, balance, currency: CURRENCY, duplicate: result.kind === 'already' })
  })
}
