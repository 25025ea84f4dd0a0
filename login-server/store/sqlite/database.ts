// Opening the login server's SQLite file: it holds password hashes and session
// token hashes, so it is the owner's alone (common/sqlite-file.ts), with
// foreign keys on and the schema brought up to date (migrations.ts).
import type Database from 'better-sqlite3'
import { MIGRATIONS } from '../migrations.js'
import { migrate as migrateFile, openPrivateDatabase } from '../../../common/sqlite-file.js'

/** Applies pending migrations, each in its own transaction; returns the schema version. */
export function migrate (db: Database.Database): number {
  return migrateFile(db, MIGRATIONS, 'database')
}

/** Opens (or creates) the database in WAL mode and migrates it; a refused or unusable file is closed again. */
export function openDatabase (file: string): Database.Database {
  return openPrivateDatabase(file, { migrations: MIGRATIONS, what: 'database', pragmas: ['foreign_keys = ON'] })
}
