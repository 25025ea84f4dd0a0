// Accounts and the devices that logged in to them (device cookies).
import type Database from 'better-sqlite3'
import type { Account, LoginStore } from '../store.js'

export type AccountMethods = Pick<LoginStore, 'createAccount' | 'getAccount' | 'isKnownDevice' | 'recordKnownDevice'>

export function createAccountMethods (db: Database.Database): AccountMethods {
  const q = {
    insertAccount: db.prepare('INSERT INTO accounts (username, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    getAccount: db.prepare<[string], { username: string, password_hash: string, created_at: number }>('SELECT * FROM accounts WHERE username = ?'),
    isKnownDevice: db.prepare<[string, string, number], { one: number }>(
      'SELECT 1 AS one FROM known_devices WHERE username = ? AND device_key = ? AND last_login >= ?'),
    upsertKnownDevice: db.prepare(`INSERT INTO known_devices (username, device_key, first_login, last_login) VALUES (?, ?, ?, ?)
      ON CONFLICT (username, device_key) DO UPDATE SET last_login = max(last_login, excluded.last_login)`),
    trimKnownDevices: db.prepare(`DELETE FROM known_devices WHERE username = ? AND device_key NOT IN
      (SELECT device_key FROM known_devices WHERE username = ? ORDER BY last_login DESC, device_key LIMIT ?)`)
  }

  const recordKnownDevice = db.transaction((username: string, deviceKey: string, now: number, maxPerUser: number) => {
    q.upsertKnownDevice.run(username, deviceKey, now, now)
    q.trimKnownDevices.run(username, username, maxPerUser)
  })

  return {
    async createAccount (username, passwordHash, now) {
      return q.insertAccount.run(username, passwordHash, now).changes === 1 ? 'created' : 'taken'
    },
    async getAccount (username): Promise<Account | undefined> {
      const row = q.getAccount.get(username)
      return row === undefined ? undefined : { username: row.username, passwordHash: row.password_hash, createdAt: row.created_at }
    },
    async isKnownDevice (username, deviceKey, since) {
      return q.isKnownDevice.get(username, deviceKey, since) !== undefined
    },
    async recordKnownDevice (username, deviceKey, now, maxPerUser) {
      recordKnownDevice(username, deviceKey, now, maxPerUser)
    }
  }
}
