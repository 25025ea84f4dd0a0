// Accounts and the devices that logged in to them (device cookies).
import type { AccountMethods } from '../sqlite/accounts.js'
import type { PostgresDatabase } from './database.js'

export function createAccountMethods ({ pool, transaction }: PostgresDatabase): AccountMethods {
  return {
    async createAccount (username, passwordHash, now) {
      // The primary key decides a race: of any number of instances creating one name, one inserts.
      const result = await pool.query('INSERT INTO accounts (username, password_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [username, passwordHash, now])
      return result.rowCount === 1 ? 'created' : 'taken'
    },
    async getAccount (username) {
      const row = (await pool.query<{ username: string, password_hash: string, created_at: number }>('SELECT * FROM accounts WHERE username = $1', [username])).rows[0]
      return row === undefined ? undefined : { username: row.username, passwordHash: row.password_hash, createdAt: row.created_at }
    },
    async isKnownDevice (username, deviceKey, since) {
      const result = await pool.query('SELECT 1 FROM known_devices WHERE username = $1 AND device_key = $2 AND last_login >= $3', [username, deviceKey, since])
      return result.rowCount === 1
    },
    async recordKnownDevice (username, deviceKey, now, maxPerUser) {
      await transaction([`known-devices:${username}`], async client => {
        await client.query(`INSERT INTO known_devices (username, device_key, first_login, last_login) VALUES ($1, $2, $3, $3)
          ON CONFLICT (username, device_key) DO UPDATE SET last_login = GREATEST(known_devices.last_login, excluded.last_login)`, [username, deviceKey, now])
        await client.query(`DELETE FROM known_devices WHERE username = $1 AND device_key NOT IN
          (SELECT device_key FROM known_devices WHERE username = $1 ORDER BY last_login DESC, device_key COLLATE "C" LIMIT $2)`, [username, maxPerUser])
      })
    }
  }
}
