// The store suite (store-suite.ts) on the SQLite store: a file in a temporary folder per test.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqliteStore } from '../../login-server/store/sqlite-store.js'
import { loginStoreSuite } from './store-suite.js'

loginStoreSuite('SQLite store', {
  fresh: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voxmesh-store-'))
    const file = join(dir, 'login.sqlite')
    return {
      open: async () => openSqliteStore(file),
      remove: async () => { rmSync(dir, { recursive: true, force: true }) }
    }
  },
  sharedRateLimits: false
})
