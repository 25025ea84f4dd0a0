// The files a call names, checked before anything is sent: the WAV file to play
// must exist and be one this node can play (it is read here, once, and played
// from memory when the call connects); the recording must go into a folder that
// exists and may not replace a file unless told to.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { readWavFile, WavFormatError, type ParsedWav } from '../media/audio/wav.js'
import { UserError } from '../../common/user-error.js'
import { callError } from './errors.js'

/** What a failed stat or open means, for a person. */
function fileProblem (err: unknown, path: string, what: 'file' | 'folder'): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT' || code === 'ENOTDIR') return callError(what === 'file' ? 'no_such_file' : 'no_such_folder', `no such ${what}: ${path}`)
  if (code === 'EACCES' || code === 'EPERM') return callError('file_access', `cannot use ${path}: permission denied`)
  return callError('file_access', `cannot use ${path}: ${(err as Error).message}`)
}

/** Whether the file starts like a WAV file ("RIFF....WAVE"; RF64/BW64 are WAV files too, refused later with their reason). */
function looksLikeWav (path: string): boolean {
  const head = Buffer.alloc(12)
  const fd = openSync(path, 'r')
  try {
    const got = readSync(fd, head, 0, head.length, 0)
    const riff = head.toString('latin1', 0, 4)
    return got === head.length && ['RIFF', 'RF64', 'BW64'].includes(riff) && head.toString('latin1', 8, 12) === 'WAVE'
  } finally {
    closeSync(fd)
  }
}

/** Reads the WAV file a call is to play; refuses, with the reason, one that is missing, unreadable or not playable. */
export function readPlayFile (path: string): ParsedWav {
  let wav: boolean
  try {
    if (statSync(path).isDirectory()) throw callError('no_such_file', `not a file but a folder: ${path}`)
    wav = looksLikeWav(path)
  } catch (err) {
    throw err instanceof UserError ? err : fileProblem(err, path, 'file')
  }
  if (!wav) throw callError('not_a_wav', `not a WAV file: ${path}`)
  try {
    return readWavFile(path)
  } catch (err) {
    // readWavFile names the file first: "PATH: unsupported WAV encoding ...".
    throw err instanceof WavFormatError ? callError('not_a_wav', `cannot play ${err.message}`) : fileProblem(err, path, 'file')
  }
}

/** Refuses a recording path whose folder is missing or not writable, or that names an existing file (unless `overwrite`). */
export function checkRecordFile (path: string, overwrite: boolean): void {
  const folder = dirname(path)
  try {
    if (!statSync(folder).isDirectory()) throw callError('no_such_folder', `no such folder: ${folder}`)
    accessSync(folder, constants.W_OK)
  } catch (err) {
    throw err instanceof UserError ? err : fileProblem(err, folder, 'folder')
  }
  const existing = statSync(path, { throwIfNoEntry: false })
  if (existing === undefined) return
  if (existing.isDirectory()) throw callError('file_exists', `${path} is a folder; give the recording a file name`)
  if (!overwrite) throw callError('file_exists', `file exists: ${path} (--overwrite replaces it)`)
}
