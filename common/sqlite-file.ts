// Opening a SQLite file that only its owner may read (the login server's
// accounts, a node's messages): owner-only file modes, WAL, and the schema
// brought up to date by numbered migrations before any query is prepared.
import Database from 'better-sqlite3'
import { createPrivateFile } from './private-file.js'

/** SQLite's companion files; it gives -wal and -shm the database's mode, but an older -journal may linger. */
const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal']

/** Applies pending migrations (migration N sets user_version N), each in its own transaction; returns the schema version. */
export function migrate (db: Database.Database, migrations: readonly string[], what: string): number {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > migrations.length) {
    throw new Error(`${what} schema version ${current} is newer than this program (${migrations.length})`)
  }
  for (let version = current + 1; version <= migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version - 1] as string)
      db.pragma(`user_version = ${version}`)
    })()
  }
  return migrations.length
}

/**
 * Opens (or creates) `file` with mode 0600 in WAL mode and migrates it. `what` names it in errors
 * ("database", "message database"). A refused (e.g. newer) or unusable file is closed again.
 */
export function openPrivateDatabase (file: string, init: { migrations: readonly string[], what: string, pragmas?: string[] }): Database.Database {
  // 0600 before SQLite opens it, whatever the umask or the folder's mode.
  createPrivateFile(file)
  for (const suffix of COMPANION_SUFFIXES) createPrivateFile(file + suffix, { onlyIfExists: true })
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.pragma('busy_timeout = 5000')
    for (const pragma of init.pragmas ?? []) db.pragma(pragma)
    migrate(db, init.migrations, init.what)
  } catch (err) {
    db.close()
    throw err
  }
  return db
}
