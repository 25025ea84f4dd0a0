// Which store --database opens, and what an operator reads when it cannot.
import { describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLoginStore } from '../../login-server/store/open-store.js'
import { redactUrl } from '../../login-server/store/database-url.js'
import { UserError } from '../../common/user-error.js'
import { freePort } from '../helpers/ports.js'

describe('openLoginStore', () => {
  it('opens the SQLite file in the data dir without --database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voxmesh-open-store-'))
    try {
      const store = await openLoginStore(undefined, dir)
      expect(await store.createAccount('alice', 'hash', 1)).toBe('created')
      await store.close()
      const again = await openLoginStore('', dir)
      expect((await again.getAccount('alice'))?.passwordHash).toBe('hash')
      await again.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses what is not a postgres:// URL, saying what it takes', async () => {
    await expect(openLoginStore('mysql://root:hunter2@localhost/x', '/nonexistent')).rejects.toThrow('--database must be a postgres:// URL (without it, the login server keeps a SQLite file in its data dir), got one that starts "mysql:"')
  })

  it('says which database it cannot reach, with its password starred out', async () => {
    const url = `postgres://voxmesh:hunter2-secret@127.0.0.1:${await freePort()}/voxmesh`
    const failure = await openLoginStore(url, '/nonexistent').then(() => undefined, (err: unknown) => err)
    expect(failure).toBeInstanceOf(UserError)
    expect((failure as Error).message).toContain('cannot use the database at postgres://voxmesh:***@127.0.0.1:')
    expect((failure as Error).message).not.toContain('hunter2')
    expect(redactUrl('postgres://db/x?sslpassword=hunter2&password=hunter3&sslmode=require')).toBe('postgres://db/x?sslpassword=***&password=***&sslmode=require')
    expect(redactUrl('not a url')).toBe('the configured URL')
  })
})
