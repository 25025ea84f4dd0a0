// Sessions, the certificates issued under them, and the revocations a logout leaves.
import type { RevocationRow } from '../store.js'
import type { SessionMethods } from '../sqlite/sessions.js'
import type { PostgresDatabase } from './database.js'

/**
 * Revocations are read by id (`after`): an id must commit in id order, or a reader could page past
 * one still being written on another instance. They are written one at a time under this lock,
 * held until the commit.
 */
const REVOCATIONS_LOCK = 'revocations'

/** Certificates of one device and its logout take turns. */
const deviceLock = (username: string, deviceKey: string): string => `device:${username} ${deviceKey}`

interface SessionRow { username: string, device_key: string, created_at: number, expires_at: number }

export function createSessionMethods ({ pool, transaction }: PostgresDatabase): SessionMethods {
  return {
    async createSession (tokenHash, session) {
      await pool.query('INSERT INTO sessions (token_hash, username, device_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [Buffer.from(tokenHash), session.username, session.deviceKey, session.createdAt, session.expiresAt])
    },
    async getSession (tokenHash, now) {
      const row = (await pool.query<SessionRow>('SELECT username, device_key, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2', [Buffer.from(tokenHash), now])).rows[0]
      return row === undefined ? undefined : { username: row.username, deviceKey: row.device_key, createdAt: row.created_at, expiresAt: row.expires_at }
    },
    async deleteSession (tokenHash) {
      return ((await pool.query('DELETE FROM sessions WHERE token_hash = $1', [Buffer.from(tokenHash)])).rowCount ?? 0) > 0
    },
    async endSession (tokenHash, now, graceSeconds) {
      return await transaction([REVOCATIONS_LOCK], async client => {
        const session = (await client.query<SessionRow>('DELETE FROM sessions WHERE token_hash = $1 AND expires_at > $2 RETURNING *', [Buffer.from(tokenHash), now])).rows[0]
        if (session === undefined) return false
        // After any certificate of this device being recorded now: its serial is then seen below.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [deviceLock(session.username, session.device_key)])
        // Verifiers accept a certificate up to graceSeconds past its expiry (clock skew): so long it stays listed.
        const newest = (await client.query<{ serial: number | null, expires_at: number | null }>(
          'SELECT max(serial) AS serial, max(expires_at) AS expires_at FROM certificates WHERE username = $1 AND device_key = $2 AND expires_at > $3',
          [session.username, session.device_key, now - graceSeconds])).rows[0]
        if (newest?.serial != null && newest.expires_at != null) {
          await client.query('INSERT INTO revocations (username, device_key, serial, expires_at) VALUES ($1, $2, $3, $4)',
            [session.username, session.device_key, newest.serial, newest.expires_at + graceSeconds])
        }
        await client.query('DELETE FROM revocations WHERE expires_at <= $1', [now])
        return true
      })
    },
    async listRevocations (after, now, limit): Promise<RevocationRow[]> {
      const rows = (await pool.query<{ id: number, username: string, device_key: string, serial: number, expires_at: number }>(
        'SELECT * FROM revocations WHERE id > $1 AND expires_at > $2 ORDER BY id LIMIT $3', [after, now, limit])).rows
      return rows.map(row => ({ id: row.id, username: row.username, deviceKey: row.device_key, serial: row.serial, expiresAt: row.expires_at }))
    },
    async recordCertificate (username, deviceKey, issued, expires) {
      // The device's lock, taken in the same statement (the INSERT reads its row from the lock's): a
      // logout's revocation either comes after this serial and covers it, or before, and the route,
      // which reads the session again, hands the certificate to no one.
      const row = (await pool.query<{ serial: number }>(`WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended($5, 0)))
        INSERT INTO certificates (username, device_key, issued_at, expires_at) SELECT $1, $2, $3, $4 FROM locked RETURNING serial`,
      [username, deviceKey, issued, expires, deviceLock(username, deviceKey)])).rows[0] as { serial: number }
      return row.serial
    }
  }
}
