// One node per data dir: node.lock names the pid of the node that holds it.
// It is made with link() from a file already written, so it appears whole and
// at most one of two nodes starting at once creates it. A lock whose holder is
// gone (killed) is taken over under a second, short-lived lock
// (node.lock.takeover): of two nodes that find the same stale lock, one removes
// it and the other then meets the winner's fresh lock.
import { randomBytes } from 'node:crypto'
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { UserError } from '../../common/user-error.js'

export const LOCK_FILE = 'node.lock'
/** A takeover lock older than this was left by a node killed in the middle of a takeover (which takes microseconds). */
const TAKEOVER_STALE_MS = 10_000
const MAX_ATTEMPTS = 200
const RETRY_MS = 10

/** The data dir is held by a running process. */
export class DataDirInUseError extends UserError {
  constructor (readonly dataDir: string, readonly pid: number, readonly lockFile: string) {
    super(`data dir ${dataDir} is in use by a running node (pid ${pid})`, 'data_dir_in_use')
  }
}

export interface DataDirLock {
  path: string
  /** The pid of a dead holder whose lock this one replaced. */
  tookOverFrom?: number
  /** Removes the lock file if it is still ours (safe to call more than once, and from a process 'exit' handler). */
  release: () => void
}

/** Whether a process exists (signal 0 checks existence only; EPERM means alive but someone else's). */
export function isProcessAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function lockDataDir (dir: string, options: { pid?: number, isAlive?: (pid: number) => boolean } = {}): Promise<DataDirLock> {
  const dataDir = resolve(dir)
  const pid = options.pid ?? process.pid
  const isAlive = options.isAlive ?? isProcessAlive
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const path = join(dataDir, LOCK_FILE)
  const mine = `${pid}\n`
  let tookOverFrom: number | undefined
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(path, mine)) {
      return {
        path,
        ...(tookOverFrom === undefined ? {} : { tookOverFrom }),
        release: () => { if (readText(path) === mine) rmSync(path, { force: true }) }
      }
    }
    const holder = readHolder(path)
    if (holder === undefined) continue // released meanwhile: try again
    // Our own pid in the file is an earlier life of this pid (a container's pid 1), never a running node.
    if (holder.pid !== undefined && holder.pid !== pid && isAlive(holder.pid)) throw new DataDirInUseError(dataDir, holder.pid, path)
    if (takeOver(path, holder, mine)) tookOverFrom = holder.pid
    else await sleep(RETRY_MS)
  }
  throw new UserError(`cannot lock data dir ${dataDir}: ${path} keeps changing; is another node starting there?`)
}

interface Holder { pid: number | undefined, text: string, ino: number }

/** Removes a stale lock under the takeover lock; false when another node is taking it over now. */
function takeOver (path: string, stale: Holder, mine: string): boolean {
  const takeoverPath = `${path}.takeover`
  if (!createExclusive(takeoverPath, mine)) {
    clearAbandonedTakeover(takeoverPath)
    return false
  }
  try {
    const now = readHolder(path)
    // Still the very file we judged stale (not a fresh lock made since): remove it.
    if (now !== undefined && now.ino === stale.ino && now.text === stale.text) rmSync(path, { force: true })
    return true
  } finally {
    rmSync(takeoverPath, { force: true })
  }
}

function clearAbandonedTakeover (takeoverPath: string): void {
  try {
    if (Date.now() - statSync(takeoverPath).mtimeMs > TAKEOVER_STALE_MS) rmSync(takeoverPath, { force: true })
  } catch {}
}

/** Writes `text` to a temporary file and links it to `path`: false if `path` exists. */
function createExclusive (path: string, text: string): boolean {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    writeFileSync(temp, text, { mode: 0o600, flag: 'wx' })
    linkSync(temp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new UserError(`cannot create the lock file ${path}: ${(err as Error).message}`)
  } finally {
    rmSync(temp, { force: true })
  }
}

/** The lock's holder (pid undefined when the file is not a pid), or undefined when there is no lock file. */
function readHolder (path: string): Holder | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UserError(`cannot read the lock file ${path}: ${(err as Error).message}`)
  }
  try {
    // Inode and text of one and the same file, even if the path is replaced meanwhile.
    const ino = fstatSync(fd).ino
    const text = readFileSync(fd, 'utf8')
    const pid = /^\d{1,10}\n?$/.test(text) ? Number(text.trim()) : undefined
    return { pid: pid !== undefined && Number.isSafeInteger(pid) && pid > 0 ? pid : undefined, text, ino }
  } finally {
    closeSync(fd)
  }
}

function readText (path: string): string | undefined {
  try { return readFileSync(path, 'utf8') } catch { return undefined }
}
