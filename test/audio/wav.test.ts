import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  WAV_MAX_FILE_BYTES, WAV_MAX_SECONDS, WAV_WRITER_FLUSH_BYTES, WavFileWriter, WavFormatError,
  encodeWav, parseWav, readWavFile, wavHeader, type WavEncoding
} from '../../node/media/audio/wav.js'
import { dominantFrequency } from '../../node/media/audio/analysis.js'
import { requireTool, run, tone } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'voxmesh-wav-test-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

/** Worst-case error of one sample after a round trip through each encoding. */
const TOLERANCE: Record<string, number> = {
  pcm8: 1 / 128, pcm16: 1 / 32768, pcm24: 1 / 8388608, pcm32: 1e-9, float32: 1e-7, float64: 1e-12,
  // G.711 is logarithmic: error relative to the sample (about 1/32 of it), plus a floor near zero.
  alaw8: 0.04, mulaw8: 0.04
}
const maxError = (a: Float32Array, b: Float32Array): number => {
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)))
  return max
}

const encodings: WavEncoding[] = [
  { sampleRate: 8000, format: 'pcm', bitsPerSample: 8 },
  { sampleRate: 16000, format: 'pcm', bitsPerSample: 16 },
  { sampleRate: 44100, format: 'pcm', bitsPerSample: 24 },
  { sampleRate: 48000, format: 'pcm', bitsPerSample: 32 },
  { sampleRate: 96000, format: 'float', bitsPerSample: 32 },
  { sampleRate: 22050, format: 'float', bitsPerSample: 64 },
  { sampleRate: 8000, format: 'alaw', bitsPerSample: 8 },
  { sampleRate: 8000, format: 'mulaw', bitsPerSample: 8 },
  { sampleRate: 192000, format: 'pcm', bitsPerSample: 16, extensible: true },
  { sampleRate: 11025, format: 'pcm', bitsPerSample: 16, extensible: false }
]

describe('WAV parse and write', () => {
  for (const encoding of encodings) {
    for (const channels of [1, 2, 6]) {
      const label = `${encoding.format} ${encoding.bitsPerSample}-bit ${encoding.sampleRate} Hz, ${channels} ch${encoding.extensible === true ? ', extensible' : ''}`
      it(`round-trips ${label}, averaging channels to mono`, () => {
        // Channel c carries the 440 Hz tone at a different level; the mono mix is their average.
        const base = tone(440, encoding.sampleRate, 0.25, 0.6)
        const data = Array.from({ length: channels }, (_, c) => base.map(v => v * (1 - c / 8)))
        const expected = base.map(v => v * (1 - (channels - 1) / 16))
        const parsed = parseWav(encodeWav(data, encoding))
        expect(parsed).toMatchObject({
          sampleRate: encoding.sampleRate, channels, format: encoding.format, bitsPerSample: encoding.bitsPerSample,
          extensible: encoding.extensible ?? (channels > 2 || encoding.bitsPerSample > 16)
        })
        expect(parsed.samples.length).toBe(base.length)
        expect(parsed.durationSeconds).toBe(base.length / encoding.sampleRate)
        expect(maxError(parsed.samples, expected)).toBeLessThanOrEqual((TOLERANCE[`${encoding.format}${encoding.bitsPerSample}`] as number) + 1e-7)
        expect(Math.abs(dominantFrequency(parsed.samples, encoding.sampleRate) - 440)).toBeLessThan(1)
      })
    }
  }

  it('averages channels: a left/right pair in antiphase is silence, 0.5 and 0.25 give 0.375', () => {
    const left = tone(440, 8000, 0.1)
    const right = left.map(v => -v)
    expect(maxError(parseWav(encodeWav([left, right], { sampleRate: 8000, format: 'float', bitsPerSample: 32 })).samples, new Float32Array(left.length))).toBe(0)
    const dc = parseWav(encodeWav([new Float32Array(10).fill(0.5), new Float32Array(10).fill(0.25)], { sampleRate: 8000, format: 'float', bitsPerSample: 32 }))
    expect([...dc.samples]).toEqual(new Array(10).fill(0.375))
  })

  it('reads 8 channels, and clips float samples outside [-1, 1] and NaN', () => {
    const eight = parseWav(encodeWav(Array.from({ length: 8 }, () => new Float32Array(4).fill(0.25)), { sampleRate: 48000, format: 'pcm', bitsPerSample: 16 }))
    expect(eight.channels).toBe(8)
    expect([...eight.samples]).toEqual([0.25, 0.25, 0.25, 0.25])
    const bytes = encodeWav([Float32Array.of(0, 0, 0)], { sampleRate: 48000, format: 'float', bitsPerSample: 32, extensible: false })
    const view = new DataView(bytes.buffer)
    view.setFloat32(44, 7, true)
    view.setFloat32(48, -Infinity, true)
    view.setFloat32(52, NaN, true)
    expect([...parseWav(bytes).samples]).toEqual([1, 0, 0])
  })

  it('skips unknown chunks (odd sizes padded) before, between and after fmt and data', () => {
    const plain = encodeWav([Float32Array.of(0.5, -0.5, 0.25)], { sampleRate: 16000, format: 'pcm', bitsPerSample: 16, extensible: false })
    const chunk = (id: string, size: number): Uint8Array => {
      const out = new Uint8Array(8 + size + (size & 1))
      out.set([...id].map(c => c.charCodeAt(0)))
      new DataView(out.buffer).setUint32(4, size, true)
      return out
    }
    const fmt = plain.subarray(12, 36)
    const data = plain.subarray(36)
    const parts = [plain.subarray(0, 12), chunk('JUNK', 5), chunk('bext', 30), fmt, chunk('LIST', 17), chunk('fact', 4), data, chunk('id3 ', 9)]
    const file = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) { file.set(p, at); at += p.length }
    new DataView(file.buffer).setUint32(4, file.length - 8, true)
    const parsed = parseWav(file)
    expect(parsed.sampleRate).toBe(16000)
    expect([...parsed.samples]).toEqual([0.5, -0.5, 0.25])
  })

  it('reads a recording cut short: a data size past the end of the file, 0 or 0xFFFFFFFF', () => {
    const full = encodeWav([tone(440, 8000, 0.5)], { sampleRate: 8000, format: 'pcm', bitsPerSample: 16 })
    const cut = full.slice(0, 44 + 1001) // half a sample at the end
    expect(parseWav(cut).samples.length).toBe(500)
    for (const size of [0, 0xFFFF_FFFF]) {
      const copy = full.slice()
      new DataView(copy.buffer).setUint32(40, size, true)
      expect(parseWav(copy).samples.length).toBe(4000)
    }
  })

  const bad: Array<[string, () => Uint8Array, RegExp]> = [
    ['too short', () => Uint8Array.of(1, 2, 3), /too short/],
    ['an Ogg file', () => new TextEncoder().encode('OggS\0\0\0\0\0\0\0\0\0\0\0\0'), /not a WAV file: starts with "OggS"/],
    ['an AVI (RIFF but not WAVE)', () => new TextEncoder().encode('RIFF\0\0\0\0AVI LIST'), /of type "AVI "/],
    ['RF64', () => new TextEncoder().encode('RF64\xff\xff\xff\xffWAVEds64'), /RF64/],
    ['no fmt chunk', () => { const b = new Uint8Array(20); b.set(new TextEncoder().encode('RIFF\x0c\0\0\0WAVEdata')); return b }, /no fmt chunk/],
    ['no data chunk', () => encodeWav([Float32Array.of(0)], { sampleRate: 8000, format: 'pcm', bitsPerSample: 16 }).slice(0, 36), /no data chunk/],
    ['a truncated fmt chunk', () => encodeWav([Float32Array.of(0)], { sampleRate: 8000, format: 'pcm', bitsPerSample: 16 }).slice(0, 30), /truncated fmt chunk/],
    ['ADPCM', () => withFmt(b => b.setUint16(20, 2, true)), /unsupported WAV encoding 0x0002 \(Microsoft ADPCM\)/],
    ['MP3 in WAV', () => withFmt(b => b.setUint16(20, 0x55, true)), /MP3/],
    ['9 channels', () => withFmt(b => { b.setUint16(22, 9, true); b.setUint16(32, 18, true) }), /channel count 9/],
    ['0 channels', () => withFmt(b => b.setUint16(22, 0, true)), /channel count 0/],
    ['4000 Hz', () => withFmt(b => b.setUint32(24, 4000, true)), /sample rate 4000/],
    ['384 kHz', () => withFmt(b => b.setUint32(24, 384000, true)), /sample rate 384000/],
    ['16-bit float', () => withFmt(b => { b.setUint16(20, 3, true) }), /unsupported float sample layout/],
    ['a block align that does not fit the channels', () => withFmt(b => b.setUint16(32, 3, true)), /block align 3/],
    ['an unknown extensible sub-format', () => {
      const bytes = encodeWav([Float32Array.of(0)], { sampleRate: 8000, format: 'pcm', bitsPerSample: 16, extensible: true })
      bytes[50] = 0x99
      return bytes
    }, /sub-format/],
    ['more than the length limit', () => encodeWav([new Float32Array(8000 * (WAV_MAX_SECONDS + 1))], { sampleRate: 8000, format: 'pcm', bitsPerSample: 8 }), /too long/]
  ]
  /** A 16-bit mono PCM file with its fmt chunk edited. */
  function withFmt (edit: (view: DataView) => void): Uint8Array {
    const bytes = encodeWav([Float32Array.of(0, 0)], { sampleRate: 8000, format: 'pcm', bitsPerSample: 16, extensible: false })
    edit(new DataView(bytes.buffer))
    return bytes
  }
  for (const [name, make, message] of bad) {
    it(`refuses ${name} with a clear error`, () => {
      expect(() => parseWav(make())).toThrow(WavFormatError)
      expect(() => parseWav(make())).toThrow(message)
    })
  }

  it('readWavFile names the file in errors and refuses an oversized file before reading it', () => {
    const text = join(dir, 'notes.wav')
    writeFileSync(text, 'this is not audio at all')
    expect(() => readWavFile(text)).toThrow(/notes\.wav: not a WAV file/)
    const huge = join(dir, 'huge.wav')
    writeFileSync(huge, '')
    truncateSync(huge, WAV_MAX_FILE_BYTES + 1) // sparse: nothing is written
    expect(() => readWavFile(huge)).toThrow(/too large/)
  })

  it('WavFileWriter records 48 kHz mono 16-bit, keeps the header right as it goes, and closes once', () => {
    const path = join(dir, 'recording.wav')
    const writer = new WavFileWriter(path)
    // A call's recording is private, whatever the umask.
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const signal = tone(440, 48000, 2, 0.5)
    // 2 s = 192000 bytes: several flushes; Float32 and Int16 frames mixed.
    for (let at = 0; at < signal.length; at += 960) {
      const frame = signal.subarray(at, at + 960)
      writer.write((at / 960) % 2 === 0 ? frame : Int16Array.from(frame, v => Math.round(v * 32767)))
      if (at === 960 * 50) {
        // 1 s in: the file on disk is already a valid WAV of what was flushed.
        const partial = parseWav(readFileSync(path))
        expect(partial.samples.length).toBe(Math.floor(51 * 960 * 2 / WAV_WRITER_FLUSH_BYTES) * WAV_WRITER_FLUSH_BYTES / 2)
      }
    }
    expect(writer.samples).toBe(96000)
    writer.close()
    writer.close()
    expect(() => writer.write(new Int16Array(1))).toThrow(/after close/)
    const bytes = readFileSync(path)
    expect(bytes.length).toBe(44 + 192000)
    expect(bytes.subarray(0, 44)).toEqual(Buffer.from(wavHeader({ sampleRate: 48000, format: 'pcm', bitsPerSample: 16 }, 1, 192000)))
    const parsed = parseWav(bytes)
    expect(parsed).toMatchObject({ sampleRate: 48000, channels: 1, format: 'pcm', bitsPerSample: 16, extensible: false, durationSeconds: 2 })
    expect(maxError(parsed.samples, signal)).toBeLessThan(2 / 32768)
  })

  it('WavFileWriter clips Float32 beyond full scale', () => {
    const path = join(dir, 'clipped.wav')
    const writer = new WavFileWriter(path)
    writer.write(Float32Array.of(2, -2, NaN, 0.5))
    writer.close()
    const file = readFileSync(path)
    const view = new DataView(file.buffer, file.byteOffset + 44)
    expect([0, 2, 4, 6].map(o => view.getInt16(o, true))).toEqual([32767, -32768, 0, 16384])
  })
})

describe('WAV files from sox (sox must be installed)', () => {
  const cases: Array<[string, string[]]> = [
    ['8-bit unsigned, 8 kHz', ['-r', '8000', '-b', '8', '-e', 'unsigned-integer']],
    ['16-bit, 44.1 kHz stereo', ['-r', '44100', '-b', '16', '-c', '2']],
    ['24-bit, 96 kHz', ['-r', '96000', '-b', '24']],
    ['32-bit, 48 kHz', ['-r', '48000', '-b', '32']],
    ['32-bit float, 22.05 kHz', ['-r', '22050', '-e', 'floating-point', '-b', '32']],
    ['64-bit float, 16 kHz', ['-r', '16000', '-e', 'floating-point', '-b', '64']],
    ['A-law, 8 kHz', ['-r', '8000', '-e', 'a-law']],
    ['µ-law, 8 kHz', ['-r', '8000', '-e', 'u-law']],
    ['16-bit, 5.1 (6 channels, extensible), 48 kHz', ['-r', '48000', '-b', '16', '-c', '6']],
    ['16-bit, 8 channels, 192 kHz', ['-r', '192000', '-b', '16', '-c', '8']]
  ]
  for (const [name, args] of cases) {
    it(`reads sox's ${name}: 440 Hz within 1 Hz, 1.5 s`, () => {
      const sox = requireTool('sox')
      const file = join(dir, `sox-${name.replace(/\W+/g, '-')}.wav`)
      run(sox, ['-n', ...args, file, 'synth', '1.5', 'sine', '440', 'vol', '0.5'])
      const wav = readWavFile(file)
      expect(wav.sampleRate).toBe(Number(args[1]))
      expect(wav.durationSeconds).toBeCloseTo(1.5, 3)
      expect(Math.abs(dominantFrequency(wav.samples, wav.sampleRate) - 440)).toBeLessThan(1)
    })
  }

  it('writes recordings sox reads as 48 kHz mono 16-bit of the right length', () => {
    const sox = requireTool('sox')
    const path = join(dir, 'for-sox.wav')
    const writer = new WavFileWriter(path)
    const signal = tone(440, 48000, 1.25)
    for (let at = 0; at < signal.length; at += 960) writer.write(signal.subarray(at, at + 960))
    writer.close()
    expect(run(sox, ['--i', '-r', path]).trim()).toBe('48000')
    expect(run(sox, ['--i', '-c', path]).trim()).toBe('1')
    expect(run(sox, ['--i', '-b', path]).trim()).toBe('16')
    expect(run(sox, ['--i', '-s', path]).trim()).toBe('60000')
    // And sox decodes the same samples: converted by sox to raw 16-bit, they match what was written.
    const raw = join(dir, 'for-sox.raw')
    run(sox, [path, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', raw])
    const bytes = readFileSync(raw)
    const samples = new Float32Array(bytes.length / 2).map((_, i) => bytes.readInt16LE(2 * i) / 32768)
    expect(samples.length).toBe(60000)
    expect(maxError(samples, signal)).toBeLessThan(2 / 32768)
  })
})
