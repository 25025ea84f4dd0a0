// Blocks: who a user refuses contact requests from.
import type { BlockMethods } from '../sqlite/blocks.js'
import { pairLock } from './contacts.js'
import type { PostgresDatabase } from './database.js'

export function createBlockMethods ({ pool, transaction }: PostgresDatabase): BlockMethods {
  return {
    async block (owner, blocked, now) {
      // Under the pair's lock: a request from `blocked` cannot slip in between the two statements.
      await transaction([pairLock(owner, blocked)], async client => {
        await client.query('INSERT INTO blocks (owner, blocked, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [owner, blocked, now])
        await client.query('DELETE FROM contact_requests WHERE from_user = $1 AND to_user = $2', [blocked, owner])
      })
    },
    async unblock (owner, blocked) {
      return ((await pool.query('DELETE FROM blocks WHERE owner = $1 AND blocked = $2', [owner, blocked])).rowCount ?? 0) > 0
    },
    async isBlocked (owner, blocked) {
      return (await pool.query('SELECT 1 FROM blocks WHERE owner = $1 AND blocked = $2', [owner, blocked])).rowCount === 1
    },
    async listBlocks (owner) {
      return (await pool.query<{ blocked: string }>('SELECT blocked FROM blocks WHERE owner = $1 ORDER BY blocked COLLATE "C"', [owner])).rows.map(row => row.blocked)
    }
  }
}
