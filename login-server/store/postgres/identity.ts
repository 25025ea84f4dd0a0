// The server's identity in the database: the first instance records it, the rest compare.
import type { ServerIdentity } from '../store.js'
import { identityOf, type IdentityRow } from '../rows.js'
import type { PostgresDatabase } from './database.js'

export async function claimIdentity ({ pool }: PostgresDatabase, identity: ServerIdentity, now: number): Promise<ServerIdentity> {
  await pool.query('INSERT INTO server_identity (id, signing_public_key, lookup_secret_check, created_at) VALUES (1, $1, $2, $3) ON CONFLICT DO NOTHING',
    [identity.signingPublicKey, identity.lookupSecretCheck, now])
  return identityOf((await pool.query<IdentityRow>('SELECT * FROM server_identity WHERE id = 1')).rows[0] as IdentityRow)
}
