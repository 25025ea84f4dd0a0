// A node's data dir: device key (0600), the pinned login server key, the host
// cache. Two nodes on one machine simply use two data dirs.
import { mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadOrCreateKeyFile, type SigningKeyPair } from '../../common/key-file.js'
import { toBase64url } from '../../common/base64url.js'
import { isPublicKeyText } from '../../common/schemas.js'
import { writePrivateFileAtomic } from '../../common/private-file.js'
import { UserError } from '../../common/user-error.js'
import type { Sodium } from '../../common/sodium.js'
import type { SupernodeCacheEntry } from '../overlay/supernode-cache.js'
import { DEVICE_KEY_FILE, SUPERNODE_CACHE_FILE, LOGIN_SERVER_PIN_FILE } from './defaults.js'

export interface DataDir {
  path: string
  device: SigningKeyPair & { deviceKey: string }
  /** Pins the login server key on first contact; refuses a changed one. */
  checkLoginServerKey: (url: string, publicKey: string) => void
  loadSupernodeCache: () => SupernodeCacheEntry[]
  saveSupernodeCache: (entries: SupernodeCacheEntry[]) => void
}

interface LoginServerPin { url: string, publicKey: string }

export function openDataDir (sodium: Sodium, dir: string): DataDir {
  const path = resolve(dir)
  mkdirSync(path, { recursive: true, mode: 0o700 })
  const keys = loadOrCreateKeyFile(sodium, join(path, DEVICE_KEY_FILE))
  const pinFile = join(path, LOGIN_SERVER_PIN_FILE)
  const cacheFile = join(path, SUPERNODE_CACHE_FILE)

  return {
    path,
    device: { ...keys, deviceKey: toBase64url(keys.publicKey) },
    checkLoginServerKey (url, publicKey) {
      const pinned = readLoginServerPin(pinFile)
      if (pinned === undefined) {
        writePrivateFileAtomic(pinFile, JSON.stringify({ url, publicKey }, null, 2) + '\n')
        return
      }
      if (pinned.publicKey !== publicKey) {
        throw new UserError(`the login server at ${url} presents key ${publicKey}, but this data dir pinned ${pinned.publicKey} ` +
          `(from ${pinned.url}); refusing it. If the server was really reinstalled, delete ${pinFile}.`)
      }
    },
    loadSupernodeCache () {
      try {
        const parsed = JSON.parse(readFileSync(cacheFile, 'utf8')) as unknown
        return Array.isArray(parsed) ? parsed.filter(isCacheEntry) : []
      } catch {
        return []
      }
    },
    saveSupernodeCache (entries) {
      writePrivateFileAtomic(cacheFile, JSON.stringify(entries) + '\n')
    }
  }
}

/**
 * The pinned login server, or undefined when no pin file exists yet (first
 * contact). A pin file that cannot be read or parsed is an error, never a
 * reason to pin again: re-pinning would trust whatever key is presented now.
 */
function readLoginServerPin (pinFile: string): LoginServerPin | undefined {
  let text: string
  try {
    text = readFileSync(pinFile, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UserError(`cannot read the login server pin file ${pinFile}: ${(err as Error).message}`)
  }
  let value: unknown
  try { value = JSON.parse(text) } catch { value = undefined }
  const pin = value as Partial<LoginServerPin> | undefined
  if (typeof pin !== 'object' || pin === null || typeof pin.url !== 'string' || typeof pin.publicKey !== 'string' ||
    !isPublicKeyText(pin.publicKey)) {
    throw new UserError(`the login server pin file ${pinFile} is corrupt or truncated (expected JSON with "url" and "publicKey"); ` +
      `refusing to trust the key the server presents now. If you know the server's key is right, delete ${pinFile} to pin it again.`)
  }
  return { url: pin.url, publicKey: pin.publicKey }
}

function isCacheEntry (value: unknown): value is SupernodeCacheEntry {
  const entry = value as SupernodeCacheEntry
  return typeof entry === 'object' && entry !== null && typeof entry.address === 'string' && typeof entry.deviceKey === 'string' &&
    isPublicKeyText(entry.deviceKey) && typeof entry.lastSeen === 'number'
}
