// control.json in a node's data dir: where the node's control API listens and
// the token it wants (mode 0600, like the device key). Written by
// `voxmesh node`, read by the client subcommands.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { UserError } from '../../common/user-error.js'
import { writePrivateFileAtomic } from '../../common/private-file.js'
import { isProcessAlive } from '../runtime/data-dir-lock.js'
import { CONTROL_FILE, CONTROL_TOKEN_BYTES } from './constants.js'

export interface ControlInfo { url: string, token: string, pid: number }

export function newControlToken (): string {
  return randomBytes(CONTROL_TOKEN_BYTES).toString('base64url')
}

export function controlFilePath (dataDir: string): string {
  return join(resolve(dataDir), CONTROL_FILE)
}

export function writeControlFile (dataDir: string, info: ControlInfo): void {
  mkdirSync(resolve(dataDir), { recursive: true, mode: 0o700 })
  writePrivateFileAtomic(controlFilePath(dataDir), JSON.stringify({ url: info.url, token: info.token, pid: info.pid }, null, 2) + '\n')
}

/** Removes control.json when it still names `pid` (a newer node on the same data dir keeps its own). */
export function removeControlFile (dataDir: string, pid = process.pid): void {
  if (controlInfoOf(dataDir, pid) !== undefined) rmSync(controlFilePath(dataDir), { force: true })
}

/** The running node's control info, or a UserError saying how to start one. */
export function readControlFile (dataDir: string): ControlInfo {
  const notRunning = new UserError(`no node is running for data dir ${dataDir} (start one with: voxmesh node --user NAME --data-dir ${dataDir})`)
  let text: string
  try {
    text = readFileSync(controlFilePath(dataDir), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') throw notRunning
    throw new UserError(`cannot read ${controlFilePath(dataDir)}: ${(err as Error).message}`)
  }
  const info = parseControlInfo(text)
  if (info === undefined) throw new UserError(`${controlFilePath(dataDir)} is not a valid control file; delete it and restart the node`)
  if (!isProcessAlive(info.pid)) throw notRunning
  return info
}

/** The control info in the data dir if it is valid and names `pid` (the node holding the data dir's lock), else undefined. */
export function controlInfoOf (dataDir: string, pid: number): ControlInfo | undefined {
  try {
    const info = parseControlInfo(readFileSync(controlFilePath(dataDir), 'utf8'))
    return info?.pid === pid ? info : undefined
  } catch {
    return undefined
  }
}

function parseControlInfo (text: string): ControlInfo | undefined {
  let value: unknown
  try { value = JSON.parse(text) } catch { return undefined }
  const { url, token, pid } = (value ?? {}) as Partial<ControlInfo>
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || typeof token !== 'string' || token === '' ||
    typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 1) return undefined
  return { url, token, pid }
}
