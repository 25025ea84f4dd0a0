// The supernode list: entries the heartbeats keep alive, bounded per address group. Any
// instance may take a supernode's heartbeat: the entry (and its replay guard) lives here.
import type { SupernodeMethods } from '../sqlite/supernodes.js'
import { toSupernode, type SupernodeRow } from '../rows.js'
import type { SupernodeEntry } from '../store.js'
import type { PostgresDatabase, Queryable } from './database.js'

/** Admissions to the list take turns: a count of an address group's entries and the write that relies on it are one step. */
const ADMISSION_LOCK = 'supernode-admission'

async function put (client: Queryable, e: SupernodeEntry): Promise<void> {
  await client.query(`INSERT INTO supernodes (device_key, username, address, hosts, capacity, last_heartbeat, confirmed_at, expires_at, last_timestamp)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (device_key) DO UPDATE SET username = excluded.username, address = excluded.address, hosts = excluded.hosts,
      capacity = excluded.capacity, last_heartbeat = excluded.last_heartbeat, confirmed_at = excluded.confirmed_at,
      expires_at = excluded.expires_at, last_timestamp = excluded.last_timestamp
    WHERE excluded.last_timestamp > supernodes.last_timestamp`,
  [e.deviceKey, e.username, e.address, e.hosts, e.capacity, e.lastHeartbeat, e.confirmedAt, e.expiresAt, e.lastTimestamp])
}

export function createSupernodeMethods ({ pool, transaction }: PostgresDatabase): SupernodeMethods {
  const live = async (client: Queryable, now: number): Promise<SupernodeRow[]> =>
    (await client.query<SupernodeRow>('SELECT * FROM supernodes WHERE expires_at > $1', [now])).rows
  return {
    async getSupernode (deviceKey) {
      const row = (await pool.query<SupernodeRow>('SELECT * FROM supernodes WHERE device_key = $1', [deviceKey])).rows[0]
      return row === undefined ? undefined : toSupernode(row)
    },
    async putSupernode (entry) {
      await put(pool, entry)
    },
    async putSupernodeIfRoom (entry, now, max, groupOf) {
      // One lock for the whole list, not one per group: `groupOf` runs here, in JavaScript, so the
      // group of a row is only known once it is read (the list is small: it bounds itself by address).
      return await transaction([ADMISSION_LOCK], async client => {
        const group = groupOf(entry.address)
        const sharing = (await live(client, now)).filter(row => row.device_key !== entry.deviceKey && groupOf(row.address) === group).length
        if (sharing >= max) return false
        await put(client, entry)
        return true
      })
    },
    async sampleLiveSupernodes (now, limit) {
      return (await pool.query<SupernodeRow>('SELECT * FROM supernodes WHERE expires_at > $1 ORDER BY random() LIMIT $2', [now, limit])).rows.map(toSupernode)
    },
    async countLiveSupernodes (now) {
      return (await pool.query<{ n: number }>('SELECT count(*) AS n FROM supernodes WHERE expires_at > $1', [now])).rows[0]?.n ?? 0
    },
    async listLiveSupernodes (now) {
      return (await live(pool, now)).map(toSupernode)
    },
    async deleteExpiredSupernodes (now) {
      return (await pool.query('DELETE FROM supernodes WHERE expires_at <= $1', [now])).rowCount ?? 0
    }
  }
}
