// The store suite's accounts, known devices, sessions (with the certificates and revocations
// a logout leaves) and the server's identity.
import { describe, expect, it } from 'vitest'
import type { LoginStore, Session } from '../../login-server/store/store.js'
import { createUsers, NOW, tokenHash, type StoreUnderTest } from './store-suite-common.js'

export function accountTests ({ store }: StoreUnderTest): void {
  describe('accounts', () => {
    it('a name is created once; getAccount returns what it was created with', async () => {
      expect(await store().createAccount('alice', 'hash-a', NOW)).toBe('created')
      expect(await store().createAccount('alice', 'hash-other', NOW + 5)).toBe('taken')
      expect(await store().getAccount('alice')).toEqual({ username: 'alice', passwordHash: 'hash-a', createdAt: NOW })
      expect(await store().getAccount('bob')).toBeUndefined()
    })
  })
}

export function knownDeviceTests ({ store }: StoreUnderTest): void {
  describe('known devices', () => {
    it('a device is known to its user from its last login on, never moved back by an older one', async () => {
      await createUsers(store(), 'alice', 'bob')
      expect(await store().isKnownDevice('alice', 'laptop', 0)).toBe(false)
      await store().recordKnownDevice('alice', 'laptop', NOW, 10)
      expect(await store().isKnownDevice('alice', 'laptop', NOW)).toBe(true)
      expect(await store().isKnownDevice('alice', 'laptop', NOW + 1)).toBe(false)
      expect(await store().isKnownDevice('bob', 'laptop', 0)).toBe(false)
      await store().recordKnownDevice('alice', 'laptop', NOW + 100, 10)
      await store().recordKnownDevice('alice', 'laptop', NOW + 50, 10)
      expect(await store().isKnownDevice('alice', 'laptop', NOW + 100)).toBe(true)
    })

    it('at most maxPerUser are kept per user, the least recently used forgotten', async () => {
      await createUsers(store(), 'alice', 'bob')
      const max = 3
      await store().recordKnownDevice('bob', 'old-phone', NOW - 1000, max)
      for (let i = 0; i < max; i++) await store().recordKnownDevice('alice', `device-${i}`, NOW + i, max)
      // device-0 is the oldest, but logs in again: device-1 becomes the least recently used.
      await store().recordKnownDevice('alice', 'device-0', NOW + max, max)
      await store().recordKnownDevice('alice', 'device-new', NOW + max + 1, max)
      const known = async (username: string, deviceKey: string): Promise<boolean> => await store().isKnownDevice(username, deviceKey, 0)
      expect(await known('alice', 'device-1')).toBe(false)
      for (const kept of ['device-0', 'device-2', 'device-new']) expect(await known('alice', kept)).toBe(true)
      expect(await known('bob', 'old-phone')).toBe(true)
    })
  })
}

const GRACE = 300

export function sessionTests ({ store }: StoreUnderTest): void {
  const session = (username: string, deviceKey: string, expiresAt = NOW + 3600): Session => ({ username, deviceKey, createdAt: NOW, expiresAt })

  /** A session of `deviceKey` with one certificate expiring at `certificateExpires`, ended at `endedAt`. */
  async function logOut (s: LoginStore, deviceKey: string, certificateExpires: number, endedAt = NOW): Promise<number> {
    const token = tokenHash(`token of ${deviceKey}`)
    await s.createSession(token, session('alice', deviceKey, endedAt + 3600))
    const serial = await s.recordCertificate('alice', deviceKey, endedAt, certificateExpires)
    expect(await s.endSession(token, endedAt, GRACE)).toBe(true)
    return serial
  }

  describe('sessions', () => {
    it('a session is found by its token hash until it expires, and deleted once', async () => {
      await createUsers(store(), 'alice')
      const token = tokenHash('token-1')
      const alices = session('alice', 'laptop')
      await store().createSession(token, alices)
      expect(await store().getSession(token, NOW)).toEqual(alices)
      expect(await store().getSession(tokenHash('token-2'), NOW)).toBeUndefined()
      expect(await store().getSession(token, alices.expiresAt)).toBeUndefined()
      expect(await store().deleteSession(token)).toBe(true)
      expect(await store().getSession(token, NOW)).toBeUndefined()
      expect(await store().deleteSession(token)).toBe(false)
    })

    it('endSession revokes the device\'s certificates up to its newest serial until that one\'s expiry + grace, once', async () => {
      await createUsers(store(), 'alice')
      const token = tokenHash('token-1')
      await store().createSession(token, session('alice', 'laptop'))
      await store().recordCertificate('alice', 'laptop', NOW - 600, NOW + 100)
      const newest = await store().recordCertificate('alice', 'laptop', NOW, NOW + 200)
      // Another device's certificate, issued later: not this session's to revoke.
      await store().recordCertificate('alice', 'phone', NOW, NOW + 900)

      expect(await store().endSession(token, NOW, GRACE)).toBe(true)
      expect(await store().getSession(token, NOW)).toBeUndefined()
      const revocations = await store().listRevocations(0, NOW, 10)
      expect(revocations).toEqual([{ id: expect.any(Number), username: 'alice', deviceKey: 'laptop', serial: newest, expiresAt: NOW + 200 + GRACE }])
      expect(await store().endSession(token, NOW, GRACE)).toBe(false)
      expect(await store().listRevocations(0, NOW, 10)).toEqual(revocations)
    })

    it('endSession of an expired session is refused; one without certificates revokes nothing', async () => {
      await createUsers(store(), 'alice')
      const expired = tokenHash('expired')
      await store().createSession(expired, session('alice', 'laptop', NOW))
      await store().recordCertificate('alice', 'laptop', NOW - 100, NOW + 100)
      expect(await store().endSession(expired, NOW, GRACE)).toBe(false)
      const bare = tokenHash('no certificates')
      await store().createSession(bare, session('alice', 'phone'))
      expect(await store().endSession(bare, NOW, GRACE)).toBe(true)
      expect(await store().listRevocations(0, NOW, 10)).toEqual([])
    })

    it('listRevocations pages by id (after, limit) and leaves out expired ones', async () => {
      await createUsers(store(), 'alice')
      const expiries = [NOW + 100, NOW + 300, NOW + 200]
      const serials: number[] = []
      for (const [i, expires] of expiries.entries()) serials.push(await logOut(store(), `device-${i}`, expires))

      const firstPage = await store().listRevocations(0, NOW, 2)
      expect(firstPage.map(r => r.serial)).toEqual(serials.slice(0, 2))
      expect(firstPage[1]?.id).toBeGreaterThan(firstPage[0]?.id ?? Infinity)
      const secondPage = await store().listRevocations(firstPage[1]?.id ?? 0, NOW, 2)
      expect(secondPage.map(r => r.serial)).toEqual(serials.slice(2))
      expect(await store().listRevocations(secondPage[0]?.id ?? 0, NOW, 2)).toEqual([])

      const afterFirstExpiry = Math.min(...expiries) + GRACE
      const live = await store().listRevocations(0, afterFirstExpiry, 10)
      expect(live.map(r => r.serial)).toEqual(serials.filter((_, i) => (expiries[i] as number) + GRACE > afterFirstExpiry))
    })

    it('a later logout drops revocations that have expired', async () => {
      await createUsers(store(), 'alice')
      await logOut(store(), 'laptop', NOW + 100)
      const later = NOW + 100 + GRACE
      const kept = await logOut(store(), 'phone', later + 100, later)
      // Asked as of long ago, a revocation still stored would show.
      expect((await store().listRevocations(0, 0, 10)).map(r => r.serial)).toEqual([kept])
    })

    it('certificate serials are strictly increasing, across users and devices', async () => {
      const serials: number[] = []
      for (const [username, deviceKey] of [['alice', 'laptop'], ['bob', 'phone'], ['alice', 'laptop'], ['carol', 'tablet']] as const) {
        serials.push(await store().recordCertificate(username, deviceKey, NOW, NOW + 3600))
      }
      for (let i = 1; i < serials.length; i++) expect(serials[i]).toBeGreaterThan(serials[i - 1] as number)
    })
  })
}

export function identityTests ({ store, openAnother }: StoreUnderTest): void {
  describe('server identity', () => {
    it('the first identity claimed is the database\'s: a later claim, from any handle, gets it back', async () => {
      const first = { signingPublicKey: 'public-key-1', lookupSecretCheck: 'check-1' }
      const second = { signingPublicKey: 'public-key-2', lookupSecretCheck: 'check-2' }
      expect(await store().claimIdentity(first, NOW)).toEqual(first)
      expect(await store().claimIdentity(second, NOW + 1)).toEqual(first)
      expect(await (await openAnother()).claimIdentity(second, NOW + 2)).toEqual(first)
    })
  })
}
