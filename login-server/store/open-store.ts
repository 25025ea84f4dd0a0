// Which store a login server opens: the SQLite file in its data dir (the default, nothing to
// configure), or the PostgreSQL database at a postgres:// URL, which several instances share.
import { join } from 'node:path'
import { UserError } from '../../common/user-error.js'
import { DATABASE_FILE } from '../constants.js'
import { openSqliteStore } from './sqlite-store.js'
import type { LoginStore } from './store.js'
import { isPostgresUrl, redactUrl } from './database-url.js'

/** No --database (or an empty $VOXMESH_DATABASE_URL): the SQLite file in the data dir. */
const onSqlite = (database: string | undefined): database is undefined | '' => database === undefined || database === ''

/** Where a server with this --database keeps its data, as people read it (no password). */
export const describeDatabase = (database: string | undefined, dataDir: string): string =>
  onSqlite(database) ? `SQLite, ${join(dataDir, DATABASE_FILE)}` : `PostgreSQL, ${redactUrl(database)}`

export async function openLoginStore (database: string | undefined, dataDir: string): Promise<LoginStore> {
  if (onSqlite(database)) return openSqliteStore(join(dataDir, DATABASE_FILE))
  // Only the scheme is echoed: the rest of what was given may hold a password.
  if (!isPostgresUrl(database)) throw new UserError(`--database must be a postgres:// URL (without it, the login server keeps a SQLite file in its data dir), got one that starts "${/^[a-z][a-z0-9+.-]*:/i.exec(database)?.[0] ?? database.slice(0, 1)}"`)
  // pg loads only for a server that uses it.
  const { openPostgresStore } = await import('./postgres-store.js')
  return await openPostgresStore(database)
}
