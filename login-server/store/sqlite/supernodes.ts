// The supernode list: entries the heartbeats keep alive, bounded per address group.
import type Database from 'better-sqlite3'
import type { LoginStore } from '../store.js'
import { toSupernode, type SupernodeRow } from '../rows.js'

export type SupernodeMethods = Pick<LoginStore,
  'getSupernode' | 'putSupernode' | 'putSupernodeIfRoom' | 'sampleLiveSupernodes' | 'countLiveSupernodes' | 'listLiveSupernodes' | 'deleteExpiredSupernodes'>

export function createSupernodeMethods (db: Database.Database): SupernodeMethods {
  const q = {
    getSupernode: db.prepare<[string], SupernodeRow>('SELECT * FROM supernodes WHERE device_key = ?'),
    putSupernode: db.prepare(`INSERT INTO supernodes (device_key, username, address, hosts, capacity, last_heartbeat, confirmed_at, expires_at, last_timestamp)
      VALUES (@deviceKey, @username, @address, @hosts, @capacity, @lastHeartbeat, @confirmedAt, @expiresAt, @lastTimestamp)
      ON CONFLICT (device_key) DO UPDATE SET username = excluded.username, address = excluded.address, hosts = excluded.hosts,
        capacity = excluded.capacity, last_heartbeat = excluded.last_heartbeat, confirmed_at = excluded.confirmed_at,
        expires_at = excluded.expires_at, last_timestamp = excluded.last_timestamp
      WHERE excluded.last_timestamp > supernodes.last_timestamp`),
    sampleSupernodes: db.prepare<[number, number], SupernodeRow>('SELECT * FROM supernodes WHERE expires_at > ? ORDER BY random() LIMIT ?'),
    liveSupernodes: db.prepare<[number], SupernodeRow>('SELECT * FROM supernodes WHERE expires_at > ?'),
    countSupernodes: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM supernodes WHERE expires_at > ?'),
    deleteExpiredSupernodes: db.prepare('DELETE FROM supernodes WHERE expires_at <= ?')
  }

  return {
    async getSupernode (deviceKey) {
      const row = q.getSupernode.get(deviceKey)
      return row === undefined ? undefined : toSupernode(row)
    },
    async putSupernode (entry) {
      q.putSupernode.run(entry)
    },
    async putSupernodeIfRoom (entry, now, max, groupOf) {
      return db.transaction(() => {
        const group = groupOf(entry.address)
        const sharing = q.liveSupernodes.all(now).filter(row => row.device_key !== entry.deviceKey && groupOf(row.address) === group).length
        if (sharing >= max) return false
        q.putSupernode.run(entry)
        return true
      })()
    },
    async sampleLiveSupernodes (now, limit) {
      return q.sampleSupernodes.all(now, limit).map(toSupernode)
    },
    async countLiveSupernodes (now) {
      return (q.countSupernodes.get(now) as { n: number }).n
    },
    async listLiveSupernodes (now) {
      return q.liveSupernodes.all(now).map(toSupernode)
    },
    async deleteExpiredSupernodes (now) {
      return q.deleteExpiredSupernodes.run(now).changes
    }
  }
}
