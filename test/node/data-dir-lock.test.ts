// node.lock: one node per data dir. Sans processes: pids and liveness are given,
// so each case (held, stale, corrupt, our own pid) is decided exactly.
// The race of real processes starting at once is in lifecycle.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataDirInUseError, LOCK_FILE, isProcessAlive, lockDataDir } from '../../node/runtime/data-dir-lock.js'

let dir: string
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'voxmesh-lock-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

const alive = (...pids: number[]) => (pid: number): boolean => pids.includes(pid)
const lockText = (): string => readFileSync(join(dir, LOCK_FILE), 'utf8')

describe('the data dir lock', () => {
  it('is a file naming the holder\'s pid, created in a data dir it creates, and removed on release', async () => {
    const dataDir = join(dir, 'node')
    const lock = await lockDataDir(dataDir, { pid: 1001, isAlive: alive(1001) })
    expect(lock.path).toBe(join(dataDir, LOCK_FILE))
    expect(readFileSync(lock.path, 'utf8')).toBe('1001\n')
    expect(lock.tookOverFrom).toBeUndefined()
    lock.release()
    expect(existsSync(lock.path)).toBe(false)
    lock.release() // twice: nothing left, no error
    expect(readdirSync(dataDir)).toEqual([]) // no temporary files left behind
  })

  it('refuses a second holder while the first one\'s process is alive, naming its pid', async () => {
    const first = await lockDataDir(dir, { pid: 1001, isAlive: alive(1001, 1002) })
    const second = lockDataDir(dir, { pid: 1002, isAlive: alive(1001, 1002) })
    await expect(second).rejects.toBeInstanceOf(DataDirInUseError)
    await expect(second).rejects.toMatchObject({ pid: 1001, lockFile: first.path, code: 'data_dir_in_use' })
    expect(lockText()).toBe('1001\n')
    first.release()
    const third = await lockDataDir(dir, { pid: 1002, isAlive: alive(1002) })
    expect(lockText()).toBe('1002\n')
    third.release()
  })

  it('takes over a lock whose holder is dead, and says from whom', async () => {
    writeFileSync(join(dir, LOCK_FILE), '4242\n')
    const lock = await lockDataDir(dir, { pid: 1001, isAlive: alive(1001) })
    expect(lock.tookOverFrom).toBe(4242)
    expect(lockText()).toBe('1001\n')
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE]) // no takeover lock or temporary file left
  })

  it('takes over a lock naming its own pid (an earlier life of this pid, as a container\'s pid 1 has) and a corrupt one', async () => {
    writeFileSync(join(dir, LOCK_FILE), '1001\n')
    const own = await lockDataDir(dir, { pid: 1001, isAlive: alive(1001) })
    expect(own.tookOverFrom).toBe(1001)
    own.release()
    for (const text of ['', 'garbage', '-5\n', '99999999999999999999\n']) {
      writeFileSync(join(dir, LOCK_FILE), text)
      const lock = await lockDataDir(dir, { pid: 1001, isAlive: () => true })
      expect(lockText(), JSON.stringify(text)).toBe('1001\n')
      lock.release()
    }
  })

  it('waits while another node takes a stale lock over, then meets that node\'s lock', async () => {
    writeFileSync(join(dir, LOCK_FILE), '4242\n')
    writeFileSync(join(dir, `${LOCK_FILE}.takeover`), '1002\n') // node 1002 is in the middle of its takeover
    const pending = lockDataDir(dir, { pid: 1001, isAlive: alive(1001, 1002) })
    // Node 1002 finishes: removes the stale lock, makes its own, drops the takeover lock.
    rmSync(join(dir, LOCK_FILE))
    writeFileSync(join(dir, LOCK_FILE), '1002\n')
    rmSync(join(dir, `${LOCK_FILE}.takeover`))
    await expect(pending).rejects.toMatchObject({ pid: 1002 })
  })

  it('clears a takeover lock left by a node killed during its takeover, once it is old', async () => {
    writeFileSync(join(dir, LOCK_FILE), '4242\n')
    const takeover = join(dir, `${LOCK_FILE}.takeover`)
    writeFileSync(takeover, '4343\n')
    const old = new Date(Date.now() - 60_000)
    utimesSync(takeover, old, old)
    const lock = await lockDataDir(dir, { pid: 1001, isAlive: alive(1001) })
    expect(lockText()).toBe('1001\n')
    expect(existsSync(takeover)).toBe(false)
    lock.release()
  })

  it('release leaves a lock that is no longer its own', async () => {
    const lock = await lockDataDir(dir, { pid: 1001, isAlive: alive(1001) })
    writeFileSync(lock.path, '1002\n') // taken over meanwhile (this one was thought dead)
    lock.release()
    expect(lockText()).toBe('1002\n')
  })

  it('isProcessAlive: this process is, a pid past the kernel\'s limit is not', () => {
    expect(isProcessAlive(process.pid)).toBe(true)
    expect(isProcessAlive(2 ** 30)).toBe(false)
  })
})
