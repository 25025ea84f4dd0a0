// The store suite's supernode list: entries, admission per address group, expiry.
import { describe, expect, it } from 'vitest'
import type { SupernodeEntry } from '../../login-server/store/store.js'
import { NOW, type StoreUnderTest } from './store-suite-common.js'

/** The group of "host:port" is its host: every port of one address shares it. */
export const hostOf = (address: string): string => address.split(':')[0] as string

let made = 0

/** An entry whose every field differs from the others', so a swapped column shows. */
export function supernode (deviceKey: string, address: string, expiresAt = NOW + 90): SupernodeEntry {
  made++
  return { deviceKey, username: `user-of-${deviceKey}`, address, hosts: made, capacity: 100 + made, lastHeartbeat: NOW - 1, confirmedAt: NOW - 2, expiresAt, lastTimestamp: NOW * 1000 + made }
}

const byKey = (entries: SupernodeEntry[]): SupernodeEntry[] => [...entries].sort((a, b) => a.deviceKey < b.deviceKey ? -1 : 1)

export function supernodeTests ({ store }: StoreUnderTest): void {
  describe('supernodes', () => {
    it('an entry put is got back field for field; a second put replaces it', async () => {
      const entry = supernode('sn-1', '198.51.100.7:4000')
      await store().putSupernode(entry)
      expect(await store().getSupernode('sn-1')).toEqual(entry)
      const moved = { ...supernode('sn-1', '203.0.113.9:5000', NOW + 180), username: 'someone-else' }
      await store().putSupernode(moved)
      expect(await store().getSupernode('sn-1')).toEqual(moved)
      expect(await store().getSupernode('sn-2')).toBeUndefined()
    })

    it('never goes back to an older heartbeat: a put with an older or equal lastTimestamp changes nothing, by either put', async () => {
      const entry = supernode('sn-1', '198.51.100.7:4000')
      await store().putSupernode(entry)
      // A replay of an earlier heartbeat that raced its original past the route's check.
      const replayed = { ...entry, address: '203.0.113.9:5000', lastTimestamp: entry.lastTimestamp - 1 }
      await store().putSupernode(replayed)
      expect(await store().putSupernodeIfRoom({ ...replayed, lastTimestamp: entry.lastTimestamp }, NOW, 2, hostOf)).toBe(true)
      expect(await store().getSupernode('sn-1')).toEqual(entry)
    })

    it('putSupernodeIfRoom admits `max` live entries per address group, not one more', async () => {
      const max = 2
      const admitted = [supernode('sn-a', '198.51.100.7:4000'), supernode('sn-b', '198.51.100.7:4001')]
      for (const entry of admitted) expect(await store().putSupernodeIfRoom(entry, NOW, max, hostOf)).toBe(true)
      expect(await store().putSupernodeIfRoom(supernode('sn-c', '198.51.100.7:4002'), NOW, max, hostOf)).toBe(false)
      expect(await store().getSupernode('sn-c')).toBeUndefined()
      expect(await store().putSupernodeIfRoom(supernode('sn-d', '203.0.113.9:4000'), NOW, max, hostOf)).toBe(true)
    })

    it('putSupernodeIfRoom lets an entry in a full group replace itself', async () => {
      const max = 2
      await store().putSupernodeIfRoom(supernode('sn-a', '198.51.100.7:4000'), NOW, max, hostOf)
      await store().putSupernodeIfRoom(supernode('sn-b', '198.51.100.7:4001'), NOW, max, hostOf)
      const renewed = supernode('sn-a', '198.51.100.7:4000', NOW + 180)
      expect(await store().putSupernodeIfRoom(renewed, NOW + 30, max, hostOf)).toBe(true)
      expect(await store().getSupernode('sn-a')).toEqual(renewed)
    })

    it('putSupernodeIfRoom does not count expired entries', async () => {
      const max = 1
      await store().putSupernode(supernode('sn-gone', '198.51.100.7:4000', NOW))
      expect(await store().putSupernodeIfRoom(supernode('sn-a', '198.51.100.7:4001'), NOW, max, hostOf)).toBe(true)
      expect(await store().putSupernodeIfRoom(supernode('sn-b', '198.51.100.7:4002'), NOW, max, hostOf)).toBe(false)
    })

    it('sample, count and list see live entries only', async () => {
      const live = [supernode('sn-1', '192.0.2.1:1'), supernode('sn-2', '192.0.2.2:1', NOW + 1), supernode('sn-3', '192.0.2.3:1')]
      const expired = [supernode('sn-old', '192.0.2.4:1', NOW - 10), supernode('sn-now', '192.0.2.5:1', NOW)]
      for (const entry of [...expired, ...live]) await store().putSupernode(entry)

      expect(await store().countLiveSupernodes(NOW)).toBe(live.length)
      expect(byKey(await store().listLiveSupernodes(NOW))).toEqual(byKey(live))
      expect(byKey(await store().sampleLiveSupernodes(NOW, live.length + 5))).toEqual(byKey(live))
      const sample = await store().sampleLiveSupernodes(NOW, live.length - 1)
      expect(sample).toHaveLength(live.length - 1)
      expect(new Set(sample.map(e => e.deviceKey)).size).toBe(sample.length)
      for (const entry of sample) expect(live).toContainEqual(entry)
    })

    it('deleteExpiredSupernodes deletes the expired entries and says how many', async () => {
      const live = supernode('sn-live', '192.0.2.1:1')
      const expired = [supernode('sn-old', '192.0.2.2:1', NOW - 10), supernode('sn-now', '192.0.2.3:1', NOW)]
      for (const entry of [live, ...expired]) await store().putSupernode(entry)
      expect(await store().deleteExpiredSupernodes(NOW)).toBe(expired.length)
      for (const entry of expired) expect(await store().getSupernode(entry.deviceKey)).toBeUndefined()
      expect(await store().getSupernode('sn-live')).toEqual(live)
      expect(await store().deleteExpiredSupernodes(NOW)).toBe(0)
    })
  })
}
