// The system's audio devices, reached through the `sox` command (SoX's default device, `-d`):
// finding it, and the raw 48 kHz mono 16-bit stream arguments both directions use.
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { SAMPLE_RATE } from './pcm.js'

/** sox is needed for the microphone and the speaker and is not installed. */
export class SoxMissingError extends Error {
  override readonly name = 'SoxMissingError'
  constructor (what: string) {
    super(`${what} needs the sox command, which is not installed (Debian/Ubuntu: apt-get install sox; macOS: brew install sox). ` +
      'Use a WAV file, a tone or silence instead.')
  }
}

/** The first executable called `name` on PATH, or null. */
export function findExecutable (name: string, path: string = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return null
}

/** The sox binary, or SoxMissingError naming what wanted it. */
export function requireSox (what: string): string {
  const sox = findExecutable('sox')
  if (sox === null) throw new SoxMissingError(what)
  return sox
}

/** sox's description of the raw stream voxmesh exchanges with devices: 48 kHz mono signed 16-bit little-endian. */
export const SOX_RAW_FORMAT = ['-t', 'raw', '-r', String(SAMPLE_RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L']

/** sox's processing buffer in bytes: one 20 ms frame, so sox itself adds little latency. */
export const SOX_BUFFER_BYTES = 1920
/** Global options for device streams: quiet, small buffers. */
export const SOX_GLOBAL_ARGS = ['-q', '--buffer', String(SOX_BUFFER_BYTES)]
/** sox's name for the default audio device, as input or output. */
export const SOX_DEFAULT_DEVICE = ['-d']
