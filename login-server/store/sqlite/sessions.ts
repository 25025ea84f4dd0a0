// Sessions, the certificates issued under them, and the revocations a logout leaves.
import type Database from 'better-sqlite3'
import type { LoginStore, RevocationRow, Session } from '../store.js'

export type SessionMethods = Pick<LoginStore, 'createSession' | 'getSession' | 'deleteSession' | 'endSession' | 'listRevocations' | 'recordCertificate'>

export function createSessionMethods (db: Database.Database): SessionMethods {
  const q = {
    insertSession: db.prepare('INSERT INTO sessions (token_hash, username, device_key, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
    getSession: db.prepare<[Uint8Array, number], { username: string, device_key: string, created_at: number, expires_at: number }>(
      'SELECT username, device_key, created_at, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE token_hash = ?'),
    newestCertificates: db.prepare<[string, string, number], { serial: number | null, expires_at: number | null }>(
      'SELECT max(serial) AS serial, max(expires_at) AS expires_at FROM certificates WHERE username = ? AND device_key = ? AND expires_at > ?'),
    insertRevocation: db.prepare('INSERT INTO revocations (username, device_key, serial, expires_at) VALUES (?, ?, ?, ?)'),
    deleteExpiredRevocations: db.prepare('DELETE FROM revocations WHERE expires_at <= ?'),
    listRevocations: db.prepare<[number, number, number], { id: number, username: string, device_key: string, serial: number, expires_at: number }>(
      'SELECT * FROM revocations WHERE id > ? AND expires_at > ? ORDER BY id LIMIT ?'),
    insertCertificate: db.prepare('INSERT INTO certificates (username, device_key, issued_at, expires_at) VALUES (?, ?, ?, ?)')
  }

  return {
    async createSession (tokenHash, session) {
      q.insertSession.run(tokenHash, session.username, session.deviceKey, session.createdAt, session.expiresAt)
    },
    async getSession (tokenHash, now): Promise<Session | undefined> {
      const row = q.getSession.get(tokenHash, now)
      return row === undefined ? undefined : { username: row.username, deviceKey: row.device_key, createdAt: row.created_at, expiresAt: row.expires_at }
    },
    async deleteSession (tokenHash) {
      return q.deleteSession.run(tokenHash).changes > 0
    },
    async endSession (tokenHash, now, graceSeconds) {
      return db.transaction(() => {
        const session = q.getSession.get(tokenHash, now)
        if (session === undefined) return false
        q.deleteSession.run(tokenHash)
        // Verifiers accept a certificate up to graceSeconds past its expiry (clock skew): so long it stays listed.
        const newest = q.newestCertificates.get(session.username, session.device_key, now - graceSeconds)
        if (newest?.serial != null && newest.expires_at != null) {
          q.insertRevocation.run(session.username, session.device_key, newest.serial, newest.expires_at + graceSeconds)
        }
        q.deleteExpiredRevocations.run(now)
        return true
      })()
    },
    async listRevocations (after, now, limit): Promise<RevocationRow[]> {
      return q.listRevocations.all(after, now, limit)
        .map(row => ({ id: row.id, username: row.username, deviceKey: row.device_key, serial: row.serial, expiresAt: row.expires_at }))
    },
    async recordCertificate (username, deviceKey, issued, expires) {
      return Number(q.insertCertificate.run(username, deviceKey, issued, expires).lastInsertRowid)
    }
  }
}
