// The store suite's service accounts, credit ledger, call authorizations and charges, and the
// PSTN gateway's call records.
import { describe, expect, it } from 'vitest'
import type { AuthorizeResult, ChargeResult, CreditEntry, LoginStore, PstnAuthorization, PstnCallRecord } from '../../login-server/store/store.js'
import { createUsers, NOW, tokenHash, type StoreUnderTest } from './store-suite-common.js'

export const RATE = 10
const HOLD_SECONDS = 3600

export const call = (callId: string, username = 'alice', maxMinutes = 60): Parameters<LoginStore['authorizeCall']>[0] =>
  ({ callId, username, number: '+442079460123', ratePerMinute: RATE, maxMinutes, holdSeconds: HOLD_SECONDS })

export function authorizationOf (result: AuthorizeResult): PstnAuthorization {
  if (result.kind !== 'authorized' && result.kind !== 'again') throw new Error(`expected an authorization, got "${result.kind}"`)
  return result.authorization
}

async function credited (store: LoginStore, username: string, amount: number, now: number): Promise<CreditEntry> {
  const entry = await store.addCredit(username, amount, 'top-up', now)
  if (entry === 'no_account') throw new Error(`no account ${username}`)
  return entry
}

export function chargedEntry (result: ChargeResult): CreditEntry {
  if (result.kind === 'no_account') throw new Error('expected a charge, got "no_account"')
  return result.entry
}

export function serviceTests ({ store }: StoreUnderTest): void {
  describe('service accounts', () => {
    it('a service is an account of its own, found by its token, listed by name', async () => {
      await createUsers(store(), 'alice')
      expect(await store().createService('pstn', tokenHash('pstn token'), NOW)).toBe('created')
      expect(await store().createService('pstn', tokenHash('another token'), NOW)).toBe('taken')
      expect(await store().createService('alice', tokenHash('alice token'), NOW)).toBe('taken')
      expect(await store().createAccount('pstn', 'hash', NOW)).toBe('taken')
      expect(await store().getServiceByToken(tokenHash('pstn token'))).toBe('pstn')
      for (const token of ['another token', 'alice token']) expect(await store().getServiceByToken(tokenHash(token))).toBeUndefined()

      const more = ['zeta', 'gateway']
      for (const name of more) await store().createService(name, tokenHash(`${name} token`), NOW)
      expect(await store().listServices()).toEqual(['pstn', ...more].sort())
    })
  })
}

export function creditTests ({ store }: StoreUnderTest): void {
  describe('credit', () => {
    it('addCredit adds a line to an existing account; the balance is the sum', async () => {
      await createUsers(store(), 'alice', 'bob')
      expect(await store().getBalance('alice')).toBe(0)
      const entry = await store().addCredit('alice', 500, 'top-up', NOW)
      expect(entry).toEqual({ id: expect.any(Number), username: 'alice', amount: 500, kind: 'credit', note: 'top-up', createdAt: NOW })
      expect(entry).not.toHaveProperty('callId')
      await store().addCredit('alice', 25, 'bonus', NOW + 1)
      expect(await store().getBalance('alice')).toBe(500 + 25)
      expect(await store().getBalance('bob')).toBe(0)
      expect(await store().addCredit('nobody', 5, 'top-up', NOW)).toBe('no_account')
      for (const bad of [0, -5, 1.5, Number.NaN, 2 ** 53]) await expect(store().addCredit('alice', bad, 'bad', NOW)).rejects.toThrow(RangeError)
      expect(await store().getBalance('alice')).toBe(500 + 25)
    })

    it('authorizeCall holds what the free credit pays in whole minutes; the same call asked again is the same authorization', async () => {
      await createUsers(store(), 'alice')
      const credit = 5 * RATE + RATE / 2
      await store().addCredit('alice', credit, 'top-up', NOW)
      const minutes = Math.floor(credit / RATE)
      const { callId, username, number, ratePerMinute } = call('call-1')
      const authorization: PstnAuthorization = { callId, username, number, ratePerMinute, maxSeconds: minutes * 60, hold: minutes * RATE, authorizedAt: NOW, settled: false }
      expect(await store().authorizeCall(call('call-1'), NOW)).toEqual({ kind: 'authorized', authorization, available: credit })
      expect(await store().authorizeCall(call('call-1'), NOW + 5)).toEqual({ kind: 'again', authorization, available: credit - authorization.hold })
      expect(await store().getAuthorization('call-1')).toEqual(authorization)
      expect(await store().getAuthorization('call-2')).toBeUndefined()
    })

    it('authorizeCall refuses a call id that is another call\'s or was charged, a user without credit or without account', async () => {
      await createUsers(store(), 'alice', 'bob')
      for (const user of ['alice', 'bob']) await store().addCredit(user, 100 * RATE, 'top-up', NOW)
      authorizationOf(await store().authorizeCall(call('call-1'), NOW))
      expect(await store().authorizeCall(call('call-1', 'bob'), NOW)).toEqual({ kind: 'reused' })
      expect(await store().authorizeCall({ ...call('call-1'), number: '+81312345678' }, NOW)).toEqual({ kind: 'reused' })
      await store().chargeCall('alice', 'call-1', RATE, 'call', NOW + 60)
      expect(await store().authorizeCall(call('call-1'), NOW + 61)).toEqual({ kind: 'reused' })

      await createUsers(store(), 'carol')
      await store().addCredit('carol', RATE - 1, 'top-up', NOW)
      expect(await store().authorizeCall(call('call-2', 'carol'), NOW)).toEqual({ kind: 'no_credit', available: RATE - 1 })
      expect(await store().authorizeCall(call('call-3', 'nobody'), NOW)).toEqual({ kind: 'no_account' })
    })

    it('an open authorization holds its credit from later ones', async () => {
      await createUsers(store(), 'alice')
      const credit = 10 * RATE
      await store().addCredit('alice', credit, 'top-up', NOW)
      const first = authorizationOf(await store().authorizeCall(call('call-1', 'alice', 3), NOW))
      const second = await store().authorizeCall(call('call-2'), NOW)
      expect(second).toMatchObject({ kind: 'authorized', available: credit - first.hold })
      expect(authorizationOf(second).hold).toBe(credit - first.hold)
      expect(await store().authorizeCall(call('call-3'), NOW)).toEqual({ kind: 'no_credit', available: 0 })
    })

    it('an authorization never charged stops holding holdSeconds after its call could have ended', async () => {
      await createUsers(store(), 'alice')
      const credit = 10 * RATE
      await store().addCredit('alice', credit, 'top-up', NOW)
      const first = authorizationOf(await store().authorizeCall(call('call-1'), NOW))
      expect(first.hold).toBe(credit)
      const released = NOW + first.maxSeconds + HOLD_SECONDS
      expect(await store().authorizeCall(call('call-2'), released - 1)).toEqual({ kind: 'no_credit', available: 0 })
      expect(await store().authorizeCall(call('call-2'), released)).toMatchObject({ kind: 'authorized', available: credit })
    })

    it('chargeCall charges a call once, settling its authorization and releasing its hold', async () => {
      await createUsers(store(), 'alice')
      const credit = 10 * RATE
      await store().addCredit('alice', credit, 'top-up', NOW)
      authorizationOf(await store().authorizeCall(call('call-1'), NOW))
      const charged = await store().chargeCall('alice', 'call-1', 3 * RATE, 'call to +44', NOW + 180)
      expect(charged).toEqual({ kind: 'charged', entry: { id: expect.any(Number), username: 'alice', amount: -3 * RATE, kind: 'charge', callId: 'call-1', note: 'call to +44', createdAt: NOW + 180 } })
      expect(await store().chargeCall('alice', 'call-1', 5 * RATE, 'again', NOW + 200)).toEqual({ kind: 'already', entry: chargedEntry(charged) })
      expect(await store().getBalance('alice')).toBe(credit - 3 * RATE)
      expect((await store().getAuthorization('call-1'))?.settled).toBe(true)
      expect(await store().authorizeCall(call('call-2'), NOW + 200)).toMatchObject({ kind: 'authorized', available: credit - 3 * RATE })

      expect(await store().chargeCall('nobody', 'call-3', RATE, 'call', NOW)).toEqual({ kind: 'no_account' })
      await expect(store().chargeCall('alice', 'call-4', -RATE, 'call', NOW)).rejects.toThrow(RangeError)
      expect(await store().chargeCall('alice', 'call-5', 0, 'free call', NOW)).toMatchObject({ kind: 'charged', entry: { amount: 0, callId: 'call-5' } })
    })

    it('listCreditEntries lists the user\'s newest lines first, at most `limit`', async () => {
      await createUsers(store(), 'alice', 'bob')
      const alices = [await credited(store(), 'alice', 100, NOW)]
      await credited(store(), 'bob', 7, NOW)
      alices.push(await credited(store(), 'alice', 200, NOW + 1))
      alices.push(chargedEntry(await store().chargeCall('alice', 'call-1', 30, 'call', NOW + 2)))
      const newestFirst = [...alices].reverse()
      expect(await store().listCreditEntries('alice', 10)).toEqual(newestFirst)
      expect(await store().listCreditEntries('alice', 2)).toEqual(newestFirst.slice(0, 2))
      expect(await store().listCreditEntries('carol', 10)).toEqual([])
    })
  })
}
const record = (callId: string, startedAt: number, username = 'alice'): PstnCallRecord =>
  ({ callId, username, direction: 'outbound', number: '+442079460123', startedAt, endedAt: startedAt + 65_000, billsec: 60, disposition: 'ANSWERED', reason: 'hangup' })

export function pstnCallTests ({ store }: StoreUnderTest): void {
  describe('PSTN call records', () => {
    it('a call is recorded once, for an existing account', async () => {
      await createUsers(store(), 'alice')
      expect(await store().recordPstnCall(record('call-1', NOW * 1000), 10)).toBe('recorded')
      expect(await store().recordPstnCall({ ...record('call-1', NOW * 1000), billsec: 999 }, 10)).toBe('exists')
      expect(await store().recordPstnCall(record('call-2', NOW * 1000, 'nobody'), 10)).toBe('no_account')
      expect(await store().listPstnCalls('alice', 10)).toEqual([{ ...record('call-1', NOW * 1000), cost: 0 }])
      expect(await store().listPstnCalls('nobody', 10)).toEqual([])
    })

    it('records are listed newest first with the cost charged for them, and their optional fields only when given', async () => {
      await createUsers(store(), 'alice')
      const older = record('call-old', NOW * 1000)
      const newer: PstnCallRecord = { ...record('call-new', NOW * 1000 + 5000), direction: 'inbound', callerNumber: '+33123456789', answeredAt: NOW * 1000 + 6000 }
      for (const r of [older, newer]) await store().recordPstnCall(r, 10)
      const cost = 2 * RATE
      await store().chargeCall('alice', 'call-old', cost, 'call', NOW + 70)

      const listed = await store().listPstnCalls('alice', 10)
      expect(listed).toEqual([{ ...newer, cost: 0 }, { ...older, cost }])
      expect(listed[1]).not.toHaveProperty('callerNumber')
      expect(listed[1]).not.toHaveProperty('answeredAt')
      expect(await store().listPstnCalls('alice', 1)).toEqual(listed.slice(0, 1))
    })

    it('at most maxPerUser records are kept per user, the oldest dropped', async () => {
      await createUsers(store(), 'alice', 'bob')
      const max = 3
      await store().recordPstnCall(record('bobs-call', NOW * 1000 - 1, 'bob'), max)
      // Reported out of order: the oldest is dropped, not the first reported.
      const starts = [3, 1, 4, 2].map(i => NOW * 1000 + i * 1000)
      for (const [i, startedAt] of starts.entries()) expect(await store().recordPstnCall(record(`call-${i}`, startedAt), max)).toBe('recorded')
      const kept = [...starts].sort((a, b) => b - a).slice(0, max)
      expect((await store().listPstnCalls('alice', 10)).map(r => r.startedAt)).toEqual(kept)
      expect((await store().listPstnCalls('bob', 10)).map(r => r.callId)).toEqual(['bobs-call'])
    })
  })
}
