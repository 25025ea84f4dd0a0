// Opening the SQLite file: owner-only file modes, the connection's pragmas, and
// the schema brought up to date (migrations.ts) before any query is prepared.
import Database from 'better-sqlite3'
import { MIGRATIONS } from '../migrations.js'
import { createPrivateFile } from '../../../common/private-file.js'

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

/** Opens (or creates) the database in WAL mode and migrates it; a refused or unusable file is closed again. */
export function openDatabase (file: string): Database.Database {
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
  return db
}
