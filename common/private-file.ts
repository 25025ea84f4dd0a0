// Files only their owner may read (keys, tokens, databases). A `mode` passed to
// open() is filtered by the umask and ignored for a file that already exists,
// so the mode is set explicitly on the open descriptor: 0600 whatever the umask,
// the folder's mode, or how an earlier version left the file.
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'

export const PRIVATE_FILE_MODE = 0o600

/** Creates `file` empty with mode 0600, or sets an existing one to 0600; its content is kept. */
export function createPrivateFile (file: string, options: { onlyIfExists?: boolean } = {}): void {
  let fd: number
  try {
    fd = openSync(file, options.onlyIfExists === true ? 'r' : 'a', PRIVATE_FILE_MODE)
  } catch (err) {
    if (options.onlyIfExists === true && (err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE)
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes `text` to `file` through a temp file and a rename, so a crash never
 * leaves half a file; the file is 0600 from its first byte.
 */
export function writePrivateFileAtomic (file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`
  // 'w' would keep a leftover temp file's mode; remove it and create afresh.
  rmSync(temp, { force: true })
  writeNewPrivateFile(temp, text)
  renameSync(temp, file)
}

/** Creates `file` with `text`, 0600 whatever the umask; fails ('wx') rather than overwrite one another process just created. */
export function writeNewPrivateFile (file: string, text: string): void {
  const fd = openSync(file, 'wx', PRIVATE_FILE_MODE)
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE)
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
