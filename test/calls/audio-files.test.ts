// The files a call names, checked before anything is sent, and the recording a call that carried
// no audio leaves behind (none).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { planAudio } from '../../node/calls/audio-choice.js'
import { createWavFileSink } from '../../node/media/audio/sinks.js'
import { encodeWav } from '../../node/media/audio/wav.js'

let dir: string
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'voxmesh-audio-files-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

describe('planAudio', () => {
  it('refuses a missing file, a folder, a file that is not WAV and an unplayable WAV, naming the file', () => {
    const notes = join(dir, 'notes.wav')
    writeFileSync(notes, 'not audio at all')
    const mp3 = join(dir, 'mp3.wav')
    const bytes = encodeWav([new Float32Array(480)], { sampleRate: 48_000, format: 'pcm', bitsPerSample: 16 })
    bytes[20] = 0x55 // the format tag: MP3
    writeFileSync(mp3, bytes)
    expect(() => planAudio({ play: join(dir, 'missing.wav') }, {})).toThrow(`no such file: ${join(dir, 'missing.wav')}`)
    expect(() => planAudio({ play: dir }, {})).toThrow(`not a file but a folder: ${dir}`)
    expect(() => planAudio({ play: notes }, {})).toThrow(`not a WAV file: ${notes}`)
    expect(() => planAudio({ play: mp3 }, {})).toThrow(`cannot play ${mp3}: unsupported WAV encoding 0x0055 (MP3)`)
    // The node's default --play is checked the same way, unless a tone replaces it.
    expect(() => planAudio({}, { play: notes })).toThrow(`not a WAV file: ${notes}`)
    expect(planAudio({ tone: 440 }, { play: notes }).source).toEqual({ kind: 'tone', hz: 440 })
  })

  it('refuses a recording into a missing folder, onto a folder, or over a file unless overwrite', () => {
    const existing = join(dir, 'existing.wav')
    writeFileSync(existing, 'keep')
    expect(() => planAudio({ record: join(dir, 'nope', 'x.wav') }, {})).toThrow(`no such folder: ${join(dir, 'nope')}`)
    expect(() => planAudio({ record: existing }, {})).toThrow(`file exists: ${existing} (--overwrite replaces it)`)
    mkdirSync(join(dir, 'sub'))
    expect(() => planAudio({ record: join(dir, 'sub') }, {})).toThrow('is a folder')
    expect(planAudio({ record: existing, overwrite: true }, {})).toEqual({ source: { kind: 'silence' }, record: existing })
    expect(planAudio({ record: join(dir, 'new.wav') }, {}).record).toBe(join(dir, 'new.wav'))
  })
})

describe('a recording that got no audio', () => {
  it('is removed when it closes; one with audio stays', async () => {
    const empty = createWavFileSink(join(dir, 'empty.wav'), { removeIfEmpty: true })
    await empty.close()
    expect(existsSync(join(dir, 'empty.wav'))).toBe(false)
    const full = createWavFileSink(join(dir, 'full.wav'), { removeIfEmpty: true })
    full.write(new Float32Array(960))
    await full.close()
    expect(existsSync(join(dir, 'full.wav'))).toBe(true)
  })
})
