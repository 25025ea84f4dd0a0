// The store suite's races: two handles on one database, as two server instances behind one
// load balancer, asked the same thing at once. Each method's contract holds as if the calls
// had come one after the other. (On SQLite the calls of one process do not interleave, so
// there these tests check that two handles on one file see each other's writes.)
import { describe, expect, it } from 'vitest'
import type { LoginStore, SupernodeEntry } from '../../login-server/store/store.js'
import { createUsers, NOW, type StoreUnderTest } from './store-suite-common.js'
import { requestOf } from './store-suite-contacts.js'
import { authorizationOf, call, chargedEntry, RATE } from './store-suite-credit.js'
import { hostOf, supernode } from './store-suite-supernodes.js'

type TwoHandles = () => Promise<[LoginStore, LoginStore]>

/** `count` calls of `work`, started together, the i-th on handle i mod handles. */
async function spread<T> (handles: LoginStore[], count: number, work: (store: LoginStore, i: number) => Promise<T>): Promise<T[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => await work(handles[i % handles.length] as LoginStore, i)))
}

const countOf = <T>(values: T[], value: T): number => values.filter(v => v === value).length

/** Waits `ms`, fractions of a millisecond too (setTimeout's whole milliseconds are too coarse to sweep a race's window). */
async function pause (ms: number): Promise<void> {
  const until = performance.now() + ms
  while (performance.now() < until) await new Promise(resolve => setImmediate(resolve))
}

export function concurrencyTests ({ store, openAnother, sharedRateLimits }: StoreUnderTest): void {
  /** This test's store and a second handle, both warmed up (see below). */
  const twoHandles: TwoHandles = async () => {
    const handles: [LoginStore, LoginStore] = [store(), await openAnother()]
    // A store may connect lazily (PostgreSQL's pool does); connected first, the calls of a test meet
    // in the database at once rather than one after another behind their connections' setup.
    await Promise.all(handles.flatMap(s => Array.from({ length: 10 }, async () => await s.countLiveSupernodes(NOW))))
    return handles
  }

  describe('concurrency, two handles on one database', () => {
    accountAndContactRaces(store, twoHandles)
    creditAndListRaces(store, twoHandles, sharedRateLimits)
  })
}

function accountAndContactRaces (store: () => LoginStore, twoHandles: TwoHandles): void {
  it('of 50 createAccount of one name at once, one creates it', async () => {
    const handles = await twoHandles()
    const results = await spread(handles, 50, async (s, i) => await s.createAccount('alice', `hash-${i}`, NOW))
    expect(countOf(results, 'created')).toBe(1)
    expect(countOf(results, 'taken')).toBe(results.length - 1)
    expect((await handles[1].getAccount('alice'))?.passwordHash).toBe(`hash-${results.indexOf('created')}`)
  })

  it('requests both ways at once on the two handles make contacts, with nothing left pending', async () => {
    const [one, two] = await twoHandles()
    const pairs = Array.from({ length: 20 }, (_, i) => [`alice-${i}`, `bob-${i}`] as const)
    await createUsers(one, ...pairs.flat())
    const results = await Promise.all(pairs.map(async ([a, b]) => await Promise.all([
      one.createContactRequest(a, b, 'hi', NOW),
      two.createContactRequest(b, a, 'hi', NOW)
    ])))
    for (const [i, [a, b]] of pairs.entries()) {
      expect(results[i]?.map(r => r.kind).sort(), `${a} and ${b}`).toEqual(['accepted', 'created'])
      expect([await one.areContacts(a, b), await two.areContacts(b, a)], `${a} and ${b}`).toEqual([true, true])
      expect([await one.countOutgoingRequests(a), await one.countOutgoingRequests(b)], `${a} and ${b}`).toEqual([0, 0])
      expect([...await two.listIncomingRequests(a), ...await two.listIncomingRequests(b)], `${a} and ${b}`).toEqual([])
    }
  })

  it('devices recorded at once from both handles are kept to maxPerUser', async () => {
    const handles = await twoHandles()
    const max = 3
    // Many users, each with a few more devices than kept, all at once: a trim that misses the
    // devices recorded beside it leaves a user with too many, and no later call trims them.
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`)
    const devices = Array.from({ length: max + 2 }, (_, i) => `device-${i}`)
    await createUsers(store(), ...users)
    const records = users.flatMap(user => devices.map((device, i) => ({ user, device, at: NOW + i })))
    await spread(handles, records.length, async (s, i) => {
      const { user, device, at } = records[i] as typeof records[number]
      await s.recordKnownDevice(user, device, at, max)
    })
    for (const user of users) {
      const known = await Promise.all(devices.map(async device => await store().isKnownDevice(user, device, 0)))
      expect(countOf(known, true), user).toBeLessThanOrEqual(max)
    }
  })

  it('of one request accepted on both handles at once, one acceptance counts', async () => {
    const handles = await twoHandles()
    await createUsers(store(), 'alice', 'bob')
    const { id } = requestOf(await store().createContactRequest('alice', 'bob', 'hi', NOW))
    const results = await spread(handles, 10, async s => await s.acceptContactRequest(id, 'bob', NOW + 1))
    expect(countOf(results, 'accepted')).toBe(1)
    expect(await store().listAcceptedRequests('alice', 0)).toHaveLength(1)
  })

  it('a request accepted on one handle and declined on the other at once ends either accepted or declined', async () => {
    const [one, two] = await twoHandles()
    const pairs = Array.from({ length: 100 }, (_, i) => [`alice-${i}`, `bob-${i}`] as const)
    await createUsers(one, ...pairs.flat())
    const outcomes = []
    for (const [i, [from, to]] of pairs.entries()) {
      const { id } = requestOf(await one.createContactRequest(from, to, 'hi', NOW))
      // The decline starts a little later each round (0 to 2 ms): somewhere in the sweep it meets the acceptance midway.
      const [accept, decline] = await Promise.all([
        one.acceptContactRequest(id, to, NOW + 1),
        (async () => { await pause((i % 50) * 0.04); return await two.declineContactRequest(id, to) })()
      ])
      outcomes.push({ from, accept, decline, contacts: await one.areContacts(from, to), acceptedListed: (await one.listAcceptedRequests(from, 0)).length })
    }
    // One after the other, exactly one of the two succeeds, and the two are contacts (the request listed as accepted) only if the acceptance did.
    const contradictions = outcomes.filter(({ accept, decline, contacts, acceptedListed }) =>
      (accept === 'accepted') === (decline === 'declined') || contacts !== (accept === 'accepted') || acceptedListed !== (accept === 'accepted' ? 1 : 0))
    expect(contradictions).toEqual([])
  })
}

function creditAndListRaces (store: () => LoginStore, twoHandles: TwoHandles, sharedRateLimits: boolean): void {
  it('authorizations of many calls at once hold no more than the balance', async () => {
    const handles = await twoHandles()
    await createUsers(store(), 'alice')
    const minutesOfCredit = 5
    await store().addCredit('alice', minutesOfCredit * RATE, 'top-up', NOW)
    const results = await spread(handles, 20, async (s, i) => await s.authorizeCall(call(`call-${i}`, 'alice', 1), NOW))
    const authorized = results.filter(r => r.kind === 'authorized').map(authorizationOf)
    // Each holds one minute: as many fit as the credit pays minutes, the rest are refused.
    expect(authorized).toHaveLength(minutesOfCredit)
    expect(results.filter(r => r.kind === 'no_credit')).toHaveLength(results.length - minutesOfCredit)
    const stored = await Promise.all(results.map(async (_, i) => await store().getAuthorization(`call-${i}`)))
    const held = stored.reduce((sum, a) => sum + (a?.hold ?? 0), 0)
    expect(held).toBeLessThanOrEqual(await store().getBalance('alice'))
  })

  it('of one call charged 10 times at once, one charge is recorded and every answer is its entry', async () => {
    const handles = await twoHandles()
    await createUsers(store(), 'alice')
    const credit = 100 * RATE
    await store().addCredit('alice', credit, 'top-up', NOW)
    authorizationOf(await store().authorizeCall(call('call-1'), NOW))
    const results = await spread(handles, 10, async s => await s.chargeCall('alice', 'call-1', 3 * RATE, 'call', NOW + 180))
    expect(countOf(results.map(r => r.kind), 'charged')).toBe(1)
    expect(countOf(results.map(r => r.kind), 'already')).toBe(results.length - 1)
    expect(new Set(results.map(r => chargedEntry(r).id)).size).toBe(1)
    expect(await store().getBalance('alice')).toBe(credit - 3 * RATE)
  })

  it('rate limit hits at once are counted once each', async () => {
    // SQLite counts in each handle's memory (one process is the server): only one handle shares its count.
    const handles = sharedRateLimits ? await twoHandles() : [store()]
    const limit = { limit: 10, windowSeconds: 60 }
    const limiters = handles.map(s => s.rateLimiter('logins', limit))
    const results = await Promise.all(Array.from({ length: 30 }, async (_, i) => await limiters[i % limiters.length]?.hit('198.51.100.0', NOW)))
    expect(countOf(results, 0)).toBe(limit.limit)
  })

  it('supernodes of one address group admitted at once from both handles stop at max', async () => {
    const handles = await twoHandles()
    const max = 2
    const entries = Array.from({ length: 6 }, (_, i) => supernode(`sn-${i}`, `198.51.100.7:${4000 + i}`))
    const admitted = await spread(handles, entries.length, async (s, i) => await s.putSupernodeIfRoom(entries[i] as SupernodeEntry, NOW, max, hostOf))
    expect(countOf(admitted, true)).toBe(max)
    expect(await store().countLiveSupernodes(NOW)).toBe(max)
  })

  it('two handles claiming different identities at once get the same one', async () => {
    const handles = await twoHandles()
    const claimed = await spread(handles, 2, async (s, i) => await s.claimIdentity({ signingPublicKey: `key-${i}`, lookupSecretCheck: `check-${i}` }, NOW))
    expect(claimed[0]).toEqual(claimed[1])
  })
}
