// Blocks: who a user refuses contact requests from.
import type Database from 'better-sqlite3'
import type { LoginStore } from '../store.js'

export type BlockMethods = Pick<LoginStore, 'block' | 'unblock' | 'isBlocked' | 'listBlocks'>

export function createBlockMethods (db: Database.Database): BlockMethods {
  const q = {
    insertBlock: db.prepare('INSERT INTO blocks (owner, blocked, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    deleteIncomingFrom: db.prepare('DELETE FROM contact_requests WHERE from_user = ? AND to_user = ?'),
    deleteBlock: db.prepare('DELETE FROM blocks WHERE owner = ? AND blocked = ?'),
    isBlocked: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM blocks WHERE owner = ? AND blocked = ?'),
    listBlocks: db.prepare<[string], { blocked: string }>('SELECT blocked FROM blocks WHERE owner = ? ORDER BY blocked')
  }

  const block = db.transaction((owner: string, blocked: string, now: number) => {
    q.insertBlock.run(owner, blocked, now)
    q.deleteIncomingFrom.run(blocked, owner)
  })

  return {
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
    }
  }
}
