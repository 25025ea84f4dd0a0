// The SQLite store on a real file: migrations, WAL, transactional accept, and
// refusing a database written by a newer version.
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openSqliteStore } from '../../login-server/store/sqlite-store.js'
import { migrate } from '../../login-server/store/sqlite/database.js'
import { MIGRATIONS } from '../../login-server/store/migrations.js'
import type { LoginStore } from '../../login-server/store/store.js'

let dir: string
let file: string
const opened: Array<{ close: () => unknown }> = []

function open (): LoginStore {
  const store = openSqliteStore(file)
  opened.push(store)
  return store
}

/** A second, raw connection to the same file, for looking behind the store. */
function raw (): Database.Database {
  const db = new Database(file)
  opened.push(db)
  return db
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxmesh-store-'))
  file = join(dir, 'login.sqlite')
})

afterEach(async () => {
  try {
    for (const handle of opened.splice(0).reverse()) await handle.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

async function twoUsers (store: LoginStore): Promise<void> {
  expect(await store.createAccount('alice', 'hash-a', 100)).toBe('created')
  expect(await store.createAccount('bob', 'hash-b', 100)).toBe('created')
}

describe('migrations', () => {
  it('a new database gets every migration and user_version = MIGRATIONS.length', () => {
    open()
    const db = raw()
    expect(MIGRATIONS.length).toBeGreaterThan(0)
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map(r => r.name)
    expect(tables).toEqual(expect.arrayContaining(['accounts', 'blocks', 'certificates', 'contact_requests', 'contacts', 'sessions', 'supernodes']))
  })

  it('reopening an existing file does not re-run migrations and keeps the data', async () => {
    const first = open()
    await twoUsers(first)
    await first.block('alice', 'bob', 200)
    await first.close()

    // Re-running migration 1 would fail ("table accounts already exists").
    const second = open()
    expect((await second.getAccount('alice'))?.passwordHash).toBe('hash-a')
    expect(await second.listBlocks('alice')).toEqual(['bob'])
    expect(await second.createAccount('alice', 'other', 300)).toBe('taken')
    expect(raw().pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
  })

  it('migrate() on an up-to-date database changes nothing', () => {
    open()
    const db = raw()
    const schema = (): unknown => db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all()
    const before = schema()
    expect(migrate(db)).toBe(MIGRATIONS.length)
    expect(schema()).toEqual(before)
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length)
  })

  it('a database from a newer schema version is refused with a clear error', () => {
    const db = new Database(file)
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`)
    db.close()
    expect(() => openSqliteStore(file)).toThrow(`database schema version ${MIGRATIONS.length + 5} is newer than this program (${MIGRATIONS.length})`)
    // Nothing was created in it.
    const check = raw()
    expect(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get()).toEqual({ n: 0 })
    expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 5)
  })

  it.runIf(existsSync('/proc/self/fd'))('a refused database is not left open', () => {
    const db = new Database(file)
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`)
    db.close()
    const openHandles = (): number => readdirSync('/proc/self/fd').filter(fd => {
      try { return readlinkSync(`/proc/self/fd/${fd}`) === file } catch { return false }
    }).length
    expect(openHandles()).toBe(0)
    expect(() => openSqliteStore(file)).toThrow(/newer than this program/)
    expect(openHandles()).toBe(0)
  })
})

describe('pragmas', () => {
  it('the database is in WAL mode, persistently', () => {
    open()
    expect(raw().pragma('journal_mode', { simple: true })).toBe('wal')
    expect(existsSync(`${file}-wal`)).toBe(true)
  })

  it('foreign keys are enforced', async () => {
    const store = open()
    await expect(store.createContactRequest('ghost', 'nobody', '', 1)).rejects.toThrow(/FOREIGN KEY/)
  })
})

describe('acceptContactRequest', () => {
  it('creates both contact rows and keeps the request as accepted (no longer pending)', async () => {
    const store = open()
    await twoUsers(store)
    const created = await store.createContactRequest('alice', 'bob', 'hi', 1000)
    expect(created.kind).toBe('created')
    const id = (created as { request: { id: number } }).request.id

    expect(await store.acceptContactRequest(id, 'alice', 1001)).toBe('not_found')
    expect(await store.acceptContactRequest(id, 'bob', 1001)).toBe('accepted')
    const db = raw()
    expect(db.prepare('SELECT owner, contact, since FROM contacts ORDER BY owner').all()).toEqual([
      { owner: 'alice', contact: 'bob', since: 1001 },
      { owner: 'bob', contact: 'alice', since: 1001 }
    ])
    expect(db.prepare('SELECT id, accepted_at FROM contact_requests').all()).toEqual([{ id, accepted_at: 1001 }])
    expect(await store.listIncomingRequests('bob')).toEqual([])
    expect(await store.listOutgoingRequests('alice')).toEqual([])
    expect(await store.countOutgoingRequests('alice')).toBe(0)
    expect((await store.listAcceptedRequests('alice', 1001)).map(r => [r.id, r.acceptedAt])).toEqual([[id, 1001]])
    expect(await store.listAcceptedRequests('bob', 1002)).toEqual([])
    expect(await store.areContacts('alice', 'bob')).toBe(true)
    expect(await store.areContacts('bob', 'alice')).toBe(true)
    expect(await store.acceptContactRequest(id, 'bob', 1002)).toBe('not_found')
  })

  it.each([
    ['the second contact row', "CREATE TRIGGER fail BEFORE INSERT ON contacts WHEN NEW.owner = 'bob' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"],
    ['marking the request accepted', "CREATE TRIGGER fail BEFORE UPDATE ON contact_requests BEGIN SELECT RAISE(ABORT, 'injected failure'); END"]
  ])('is one transaction: a failure at %s leaves nothing half done', async (_step, trigger) => {
    const store = open()
    await twoUsers(store)
    const created = await store.createContactRequest('alice', 'bob', 'hi', 1000)
    const id = (created as { request: { id: number } }).request.id
    const db = raw()
    db.exec(trigger)

    await expect(store.acceptContactRequest(id, 'bob', 1001)).rejects.toThrow(/injected failure/)
    expect(db.prepare('SELECT count(*) AS n FROM contacts').get()).toEqual({ n: 0 })
    expect(db.prepare('SELECT id FROM contact_requests').all()).toEqual([{ id }])

    // Once the fault is gone the same request goes through.
    db.exec('DROP TRIGGER fail')
    expect(await store.acceptContactRequest(id, 'bob', 1002)).toBe('accepted')
    expect(await store.listContacts('alice')).toEqual([{ username: 'bob', since: 1002 }])
  })
})

describe('hidden requests', () => {
  it('stay invisible to the addressee and are not completed by a reverse request', async () => {
    const store = open()
    await twoUsers(store)
    await store.block('alice', 'bob', 10)
    const hidden = await store.createContactRequest('bob', 'alice', 'hello?', 11)
    expect(hidden.kind).toBe('created')
    expect(await store.listIncomingRequests('alice')).toEqual([])
    expect((await store.listOutgoingRequests('bob')).map(r => r.from)).toEqual(['bob'])
    const id = (hidden as { request: { id: number } }).request.id
    expect(await store.acceptContactRequest(id, 'alice', 12)).toBe('not_found')
    expect(await store.declineContactRequest(id, 'alice')).toBe('not_found')

    const reverse = await store.createContactRequest('alice', 'bob', 'hi', 13)
    expect(reverse.kind).toBe('created')
    expect(await store.areContacts('alice', 'bob')).toBe(false)
  })
})

describe('known devices', () => {
  it('are known per user from their first login until `since` passes their last one', async () => {
    const store = open()
    await twoUsers(store)
    expect(await store.isKnownDevice('alice', 'laptop', 0)).toBe(false)
    await store.recordKnownDevice('alice', 'laptop', 1000, 10)
    expect(await store.isKnownDevice('alice', 'laptop', 1000)).toBe(true)
    expect(await store.isKnownDevice('alice', 'laptop', 1001)).toBe(false)
    expect(await store.isKnownDevice('bob', 'laptop', 0)).toBe(false)
    // A later login refreshes it; an earlier timestamp never moves it back.
    await store.recordKnownDevice('alice', 'laptop', 2000, 10)
    await store.recordKnownDevice('alice', 'laptop', 1500, 10)
    expect(await store.isKnownDevice('alice', 'laptop', 2000)).toBe(true)
  })

  it('keep at most maxPerUser per user, forgetting the least recently used', async () => {
    const store = open()
    await twoUsers(store)
    for (let i = 0; i < 5; i++) await store.recordKnownDevice('alice', `device${i}`, 100 + i, 3)
    await store.recordKnownDevice('bob', 'device0', 50, 3)
    const known = await Promise.all([0, 1, 2, 3, 4].map(async i => await store.isKnownDevice('alice', `device${i}`, 0)))
    expect(known).toEqual([false, false, true, true, true])
    expect(await store.isKnownDevice('bob', 'device0', 0)).toBe(true)
  })
})

describe('accepted requests', () => {
  it('are listed to both sides while they are contacts; removing the contact removes it, and a new request may follow', async () => {
    const store = open()
    await twoUsers(store)
    const created = await store.createContactRequest('alice', 'bob', 'hi', 1000)
    const id = (created as { request: { id: number } }).request.id
    expect(await store.acceptContactRequest(id, 'bob', 1001)).toBe('accepted')
    expect((await store.listAcceptedRequests('bob', 0)).map(r => [r.from, r.to, r.acceptedAt])).toEqual([['alice', 'bob', 1001]])

    expect(await store.removeContact('bob', 'alice')).toBe(true)
    expect(await store.listAcceptedRequests('alice', 0)).toEqual([])
    const again = await store.createContactRequest('alice', 'bob', 'hi again', 1100)
    expect(again.kind).toBe('created')
    expect((await store.listIncomingRequests('bob')).map(r => r.message)).toEqual(['hi again'])
  })

  it('a request left accepted while the contact was removed another way is replaced by a new one', async () => {
    const store = open()
    await twoUsers(store)
    const created = await store.createContactRequest('alice', 'bob', 'hi', 1000)
    await store.acceptContactRequest((created as { request: { id: number } }).request.id, 'bob', 1001)
    raw().exec('DELETE FROM contacts')
    const again = await store.createContactRequest('alice', 'bob', 'hi again', 1100)
    expect(again.kind).toBe('created')
    expect(await store.listAcceptedRequests('alice', 0)).toEqual([])
  })
})
