// The embedded default store: one SQLite file in WAL mode.
import Database from 'better-sqlite3'
import { MIGRATIONS } from './migrations.js'
import { createPrivateFile } from '../../common/private-file.js'
import type { AcceptedRequest, Account, Contact, ContactRequest, CreateRequestResult, LoginStore, RevocationRow, Session, SupernodeEntry } from './store.js'

interface RequestRow { id: number, from_user: string, to_user: string, message: string, created_at: number, hidden: number, accepted_at: number | null }
interface SupernodeRow {
  device_key: string, username: string, address: string, hosts: number, capacity: number,
  last_heartbeat: number, confirmed_at: number, expires_at: number, last_timestamp: number
}

const toRequest = (row: RequestRow): ContactRequest =>
  ({ id: row.id, from: row.from_user, to: row.to_user, message: row.message, createdAt: row.created_at })

const toAccepted = (row: RequestRow): AcceptedRequest => ({ ...toRequest(row), acceptedAt: row.accepted_at as number })

const toSupernode = (row: SupernodeRow): SupernodeEntry => ({
  deviceKey: row.device_key,
  username: row.username,
  address: row.address,
  hosts: row.hosts,
  capacity: row.capacity,
  lastHeartbeat: row.last_heartbeat,
  confirmedAt: row.confirmed_at,
  expiresAt: row.expires_at,
  lastTimestamp: row.last_timestamp
})

/** Applies pending migrations, each in its own transaction; returns the schema version. */
export function migrate (db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this program (${MIGRATIONS.length})`)
  }
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1] as string)
      db.pragma(`user_version = ${version}`)
    })()
  }
  return MIGRATIONS.length
}

/** The database files hold password hashes and session token hashes: they are the owner's alone. */
const SQLITE_FILE_SUFFIXES = ['', '-wal', '-shm', '-journal']

export function openSqliteStore (file: string): LoginStore {
  // Created (or tightened) to 0600 before SQLite opens it, whatever the umask or
  // the folder's mode; SQLite gives the -wal and -shm files the database's mode.
  createPrivateFile(file)
  for (const suffix of SQLITE_FILE_SUFFIXES.slice(1)) createPrivateFile(file + suffix, { onlyIfExists: true })
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    migrate(db)
  } catch (err) {
    // A refused (e.g. newer) or unusable database is not left open.
    db.close()
    throw err
  }

  const q = {
    insertAccount: db.prepare('INSERT INTO accounts (username, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    getAccount: db.prepare<[string], { username: string, password_hash: string, created_at: number }>('SELECT * FROM accounts WHERE username = ?'),
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
    insertCertificate: db.prepare('INSERT INTO certificates (username, device_key, issued_at, expires_at) VALUES (?, ?, ?, ?)'),
    getRequestBetween: db.prepare<[string, string], RequestRow>('SELECT * FROM contact_requests WHERE from_user = ? AND to_user = ? AND accepted_at IS NULL'),
    deleteAcceptedBetween: db.prepare('DELETE FROM contact_requests WHERE from_user = ? AND to_user = ? AND accepted_at IS NOT NULL'),
    insertRequest: db.prepare<[string, string, string, number, number], RequestRow>(
      'INSERT INTO contact_requests (from_user, to_user, message, created_at, hidden) VALUES (?, ?, ?, ?, ?) RETURNING *'),
    countOutgoing: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM contact_requests WHERE from_user = ? AND accepted_at IS NULL'),
    listIncoming: db.prepare<[string], RequestRow>('SELECT * FROM contact_requests WHERE to_user = ? AND hidden = 0 AND accepted_at IS NULL ORDER BY id'),
    listOutgoing: db.prepare<[string], RequestRow>('SELECT * FROM contact_requests WHERE from_user = ? AND accepted_at IS NULL ORDER BY id'),
    listAccepted: db.prepare<[string, string, number], RequestRow>(
      'SELECT * FROM contact_requests WHERE (from_user = ? OR to_user = ?) AND accepted_at >= ? ORDER BY accepted_at, id'),
    getIncomingRequest: db.prepare<[number, string], RequestRow>('SELECT * FROM contact_requests WHERE id = ? AND to_user = ? AND hidden = 0 AND accepted_at IS NULL'),
    deleteRequest: db.prepare('DELETE FROM contact_requests WHERE id = ?'),
    unhideRequest: db.prepare('UPDATE contact_requests SET hidden = 0 WHERE id = ?'),
    markAccepted: db.prepare('UPDATE contact_requests SET accepted_at = ? WHERE id = ?'),
    deleteOtherRequestsBetween: db.prepare('DELETE FROM contact_requests WHERE ((from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?)) AND id != ?'),
    deleteRequestsBetween: db.prepare('DELETE FROM contact_requests WHERE (from_user = ? AND to_user = ?) OR (from_user = ? AND to_user = ?)'),
    isKnownDevice: db.prepare<[string, string, number], { one: number }>(
      'SELECT 1 AS one FROM known_devices WHERE username = ? AND device_key = ? AND last_login >= ?'),
    upsertKnownDevice: db.prepare(`INSERT INTO known_devices (username, device_key, first_login, last_login) VALUES (?, ?, ?, ?)
      ON CONFLICT (username, device_key) DO UPDATE SET last_login = max(last_login, excluded.last_login)`),
    trimKnownDevices: db.prepare(`DELETE FROM known_devices WHERE username = ? AND device_key NOT IN
      (SELECT device_key FROM known_devices WHERE username = ? ORDER BY last_login DESC, device_key LIMIT ?)`),
    insertContact: db.prepare('INSERT INTO contacts (owner, contact, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    isContact: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM contacts WHERE owner = ? AND contact = ?'),
    listContacts: db.prepare<[string], { contact: string, since: number }>('SELECT contact, since FROM contacts WHERE owner = ? ORDER BY contact'),
    deleteContact: db.prepare('DELETE FROM contacts WHERE (owner = ? AND contact = ?) OR (owner = ? AND contact = ?)'),
    insertBlock: db.prepare('INSERT INTO blocks (owner, blocked, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    deleteIncomingFrom: db.prepare('DELETE FROM contact_requests WHERE from_user = ? AND to_user = ?'),
    deleteBlock: db.prepare('DELETE FROM blocks WHERE owner = ? AND blocked = ?'),
    isBlocked: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM blocks WHERE owner = ? AND blocked = ?'),
    listBlocks: db.prepare<[string], { blocked: string }>('SELECT blocked FROM blocks WHERE owner = ? ORDER BY blocked'),
    getSupernode: db.prepare<[string], SupernodeRow>('SELECT * FROM supernodes WHERE device_key = ?'),
    putSupernode: db.prepare(`INSERT INTO supernodes (device_key, username, address, hosts, capacity, last_heartbeat, confirmed_at, expires_at, last_timestamp)
      VALUES (@deviceKey, @username, @address, @hosts, @capacity, @lastHeartbeat, @confirmedAt, @expiresAt, @lastTimestamp)
      ON CONFLICT (device_key) DO UPDATE SET username = excluded.username, address = excluded.address, hosts = excluded.hosts,
        capacity = excluded.capacity, last_heartbeat = excluded.last_heartbeat, confirmed_at = excluded.confirmed_at,
        expires_at = excluded.expires_at, last_timestamp = excluded.last_timestamp`),
    sampleSupernodes: db.prepare<[number, number], SupernodeRow>('SELECT * FROM supernodes WHERE expires_at > ? ORDER BY random() LIMIT ?'),
    liveSupernodes: db.prepare<[number], SupernodeRow>('SELECT * FROM supernodes WHERE expires_at > ?'),
    countSupernodes: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM supernodes WHERE expires_at > ?'),
    deleteExpiredSupernodes: db.prepare('DELETE FROM supernodes WHERE expires_at <= ?')
  }

  /** `accepted` is kept (as accepted) so both users see it; any other request between them goes. */
  const makeContacts = (accepted: RequestRow, now: number): void => {
    const { from_user: a, to_user: b } = accepted
    q.insertContact.run(a, b, now)
    q.insertContact.run(b, a, now)
    q.markAccepted.run(now, accepted.id)
    q.deleteOtherRequestsBetween.run(a, b, b, a, accepted.id)
  }

  const createContactRequest = db.transaction((from: string, to: string, message: string, now: number, hidden: boolean): CreateRequestResult => {
    const reverse = q.getRequestBetween.get(to, from)
    // Both asked: the second request is an acceptance (unless it is hidden,
    // i.e. `to` has blocked `from`, who must learn nothing from it; or the
    // reverse one is hidden, which `from` never saw and so cannot accept).
    if (reverse !== undefined && reverse.hidden === 0 && !hidden) {
      makeContacts(reverse, now)
      return { kind: 'accepted' }
    }
    // An accepted request left over from a contact since removed: this one replaces it.
    q.deleteAcceptedBetween.run(from, to)
    const existing = q.getRequestBetween.get(from, to)
    if (existing !== undefined) {
      // Sent while blocked, repeated after the unblock: it reaches `to` now.
      if (existing.hidden !== 0 && !hidden) q.unhideRequest.run(existing.id)
      return { kind: 'exists', request: toRequest(existing) }
    }
    return { kind: 'created', request: toRequest(q.insertRequest.get(from, to, message, now, hidden ? 1 : 0) as RequestRow) }
  })

  const acceptContactRequest = db.transaction((id: number, username: string, now: number): 'accepted' | 'not_found' => {
    const request = q.getIncomingRequest.get(id, username)
    if (request === undefined) return 'not_found'
    makeContacts(request, now)
    return 'accepted'
  })

  const recordKnownDevice = db.transaction((username: string, deviceKey: string, now: number, maxPerUser: number) => {
    q.upsertKnownDevice.run(username, deviceKey, now, now)
    q.trimKnownDevices.run(username, username, maxPerUser)
  })

  const removeContact = db.transaction((a: string, b: string): boolean => {
    const removed = q.deleteContact.run(a, b, b, a).changes > 0
    if (removed) q.deleteRequestsBetween.run(a, b, b, a)
    return removed
  })

  const block = db.transaction((owner: string, blocked: string, now: number) => {
    q.insertBlock.run(owner, blocked, now)
    q.deleteIncomingFrom.run(blocked, owner)
  })

  return {
    async createAccount (username, passwordHash, now) {
      return q.insertAccount.run(username, passwordHash, now).changes === 1 ? 'created' : 'taken'
    },
    async getAccount (username): Promise<Account | undefined> {
      const row = q.getAccount.get(username)
      return row === undefined ? undefined : { username: row.username, passwordHash: row.password_hash, createdAt: row.created_at }
    },
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
    async isKnownDevice (username, deviceKey, since) {
      return q.isKnownDevice.get(username, deviceKey, since) !== undefined
    },
    async recordKnownDevice (username, deviceKey, now, maxPerUser) {
      recordKnownDevice(username, deviceKey, now, maxPerUser)
    },
    async recordCertificate (username, deviceKey, issued, expires) {
      return Number(q.insertCertificate.run(username, deviceKey, issued, expires).lastInsertRowid)
    },
    async createContactRequest (from, to, message, now, hidden) {
      return createContactRequest(from, to, message, now, hidden)
    },
    async countOutgoingRequests (from) {
      return (q.countOutgoing.get(from) as { n: number }).n
    },
    async listIncomingRequests (username) {
      return q.listIncoming.all(username).map(toRequest)
    },
    async listOutgoingRequests (username) {
      return q.listOutgoing.all(username).map(toRequest)
    },
    async listAcceptedRequests (username, since) {
      return q.listAccepted.all(username, username, since).map(toAccepted)
    },
    async acceptContactRequest (id, username, now) {
      return acceptContactRequest(id, username, now)
    },
    async declineContactRequest (id, username) {
      const request = q.getIncomingRequest.get(id, username)
      if (request === undefined) return 'not_found'
      q.deleteRequest.run(id)
      return 'declined'
    },
    async areContacts (a, b) {
      return q.isContact.get(a, b) !== undefined
    },
    async listContacts (username): Promise<Contact[]> {
      return q.listContacts.all(username).map(row => ({ username: row.contact, since: row.since }))
    },
    async removeContact (username, contact) {
      return removeContact(username, contact)
    },
    async block (owner, blocked, now) {
      block(owner, blocked, now)
    },
    async unblock (owner, blocked) {
      return q.deleteBlock.run(owner, blocked).changes > 0
    },
    async isBlocked (owner, blocked) {
      return q.isBlocked.get(owner, blocked) !== undefined
    },
    async listBlocks (owner) {
      return q.listBlocks.all(owner).map(row => row.blocked)
    },
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
    },
    async close () {
      if (db.open) db.close()
    }
  }
}
