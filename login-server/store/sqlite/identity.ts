// The server's identity in the SQLite file: recorded at the first start, compared at the next.
import type Database from 'better-sqlite3'
import type { ServerIdentity } from '../store.js'
import { identityOf, type IdentityRow } from '../rows.js'

export function createIdentityMethods (db: Database.Database): { claimIdentity: (identity: ServerIdentity, now: number) => Promise<ServerIdentity> } {
  const insert = db.prepare('INSERT INTO server_identity (id, signing_public_key, lookup_secret_check, created_at) VALUES (1, ?, ?, ?) ON CONFLICT DO NOTHING')
  const get = db.prepare<[], IdentityRow>('SELECT * FROM server_identity WHERE id = 1')
  return {
    async claimIdentity (identity, now) {
      insert.run(identity.signingPublicKey, identity.lookupSecretCheck, now)
      return identityOf(get.get() as IdentityRow)
    }
  }
}
