// Shared by the audio tests: signal generators and the sox/espeak-ng tools (which must be
// installed: CI's .ci/run installs them; a test that needs one fails saying so, never skips).
import { spawnSync } from 'node:child_process'
import { findExecutable } from '../../node/media/audio/sox.js'

export function tone (hz: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin(2 * Math.PI * hz * i / rate))
}

/** Path of a required command-line tool, or an error naming the package that provides it. */
export function requireTool (name: 'sox' | 'espeak-ng'): string {
  const path = findExecutable(name)
  if (path === null) throw new Error(`${name} is not installed: this test needs it (apt-get install -y ${name}; .ci/run installs it)`)
  return path
}

/** Runs a tool, failing with its stderr when it exits non-zero. */
export function run (command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 })
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${String(result.status)}: ${result.stderr}`)
  return result.stdout
}
