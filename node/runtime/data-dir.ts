// A node's data dir: device key (0600), the pinned login server key, the host
// cache. Two nodes on one machine simply use two data dirs.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadOrCreateKeyFile, type SigningKeyPair } from '../../common/key-file.js'
import { toBase64url } from '../../common/base64url.js'
import { UserError } from '../../common/user-error.js'
import type { Sodium } from '../../common/sodium.js'
import type { HostCacheEntry } from '../overlay/host-cache.js'
import { DEVICE_KEY_FILE, HOST_CACHE_FILE, LOGIN_SERVER_PIN_FILE } from './defaults.js'

export interface DataDir {
  path: string
  device: SigningKeyPair & { deviceKey: string }
  /** Pins the login server key on first contact; refuses a changed one. */
  checkLoginServerKey: (url: string, publicKey: string) => void
  loadHostCache: () => HostCacheEntry[]
  saveHostCache: (entries: HostCacheEntry[]) => void
}

/** Writes through a temp file and rename, so a crash never leaves half a file. */
export function writeFileAtomic (file: string, text: string, mode = 0o600): void {
  const temp = `${file}.${process.pid}.tmp`
  writeFileSync(temp, text, { mode })
  renameSync(temp, file)
}

export function openDataDir (sodium: Sodium, dir: string): DataDir {
  const path = resolve(dir)
  mkdirSync(path, { recursive: true, mode: 0o700 })
  const keys = loadOrCreateKeyFile(sodium, join(path, DEVICE_KEY_FILE))
  const pinFile = join(path, LOGIN_SERVER_PIN_FILE)
  const cacheFile = join(path, HOST_CACHE_FILE)

  return {
    path,
    device: { ...keys, deviceKey: toBase64url(keys.publicKey) },
    checkLoginServerKey (url, publicKey) {
      let pinned: { url: string, publicKey: string } | undefined
      try { pinned = JSON.parse(readFileSync(pinFile, 'utf8')) } catch {}
      if (pinned === undefined) {
        writeFileAtomic(pinFile, JSON.stringify({ url, publicKey }, null, 2) + '\n')
        return
      }
      if (pinned.publicKey !== publicKey) {
        throw new UserError(`the login server at ${url} presents key ${publicKey}, but this data dir pinned ${pinned.publicKey} ` +
          `(from ${pinned.url}); refusing it. If the server was really reinstalled, delete ${pinFile}.`)
      }
    },
    loadHostCache () {
      try {
        const parsed = JSON.parse(readFileSync(cacheFile, 'utf8')) as unknown
        return Array.isArray(parsed) ? parsed.filter(isCacheEntry) : []
      } catch {
        return []
      }
    },
    saveHostCache (entries) {
      writeFileAtomic(cacheFile, JSON.stringify(entries) + '\n')
    }
  }
}

function isCacheEntry (value: unknown): value is HostCacheEntry {
  const entry = value as HostCacheEntry
  return typeof entry === 'object' && entry !== null && typeof entry.address === 'string' && typeof entry.deviceKey === 'string' &&
    /^[A-Za-z0-9_-]{43}$/.test(entry.deviceKey) && typeof entry.lastSeen === 'number'
}
