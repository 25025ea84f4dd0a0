// The network lab's per-second audio check (test/netlab/calls.ts), on recordings made here: a gap
// of about a second must show, even when the recording as a whole still holds the tone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { encodeWav } from '../../node/media/audio/wav.js'
import { hears } from '../netlab/calls.js'
import { host } from '../netlab/topology.js'
import { toneOf } from '../netlab/voxmesh-lab.js'

const RATE = 48_000
const dir = mkdtempSync(join(tmpdir(), 'voxmesh-lab-seconds-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

/** `seconds` of conea1's tone, silent from `gapFrom` to `gapTo` (s), written as a recording. */
function recording (name: string, seconds: number, gap?: [number, number]): string {
  const samples = new Float32Array(RATE * seconds)
  const hz = toneOf(host('conea1'))
  for (let i = 0; i < samples.length; i++) samples[i] = 0.5 * Math.sin(2 * Math.PI * hz * i / RATE)
  if (gap !== undefined) samples.fill(0, Math.round(RATE * gap[0]), Math.round(RATE * gap[1]))
  const file = join(dir, `${name}.wav`)
  writeFileSync(file, encodeWav([samples], { sampleRate: RATE, format: 'pcm', bitsPerSample: 16 }))
  return file
}

it('a whole tone: every second holds it', () => {
  const heard = hears('coneb1', 'conea1', recording('whole', 10))
  expect(heard.ok).toBe(true)
  expect(heard.secondsChecked).toBe(9)
  expect(heard.badSeconds).toEqual([])
})

it('a 1.1 s gap across two seconds: both show, though the whole recording passes', () => {
  const heard = hears('coneb1', 'conea1', recording('gap', 10, [5.3, 6.4]))
  expect(heard.ok).toBe(true)
  expect(heard.badSeconds).toEqual([4.5, 5.5])
})

it('lastSeconds checks only the tail: a gap before it does not count', () => {
  const heard = hears('coneb1', 'conea1', recording('early-gap', 10, [2, 3]), 5)
  expect(heard.secondsChecked).toBe(5)
  expect(heard.badSeconds).toEqual([])
})
