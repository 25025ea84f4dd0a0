// WAV (RIFF/WAVE) files: a parser for what common tools write, down to Float32 mono at the file's
// own rate, and a writer. Recordings are 48 kHz mono 16-bit PCM, written as they happen by
// WavFileWriter, which keeps the header's sizes right on disk as it goes.
//
// Read: PCM integer 8 (unsigned) / 16 / 24 / 32-bit, IEEE float 32 / 64-bit, G.711 A-law / µ-law,
// plain or WAVE_FORMAT_EXTENSIBLE; 8–192 kHz; 1–8 channels (averaged to mono); unknown chunks
// skipped; a data chunk whose size overruns the file (a recording cut short) is read as far as
// the file goes.
import { closeSync, fchmodSync, fstatSync, openSync, readSync, writeSync } from 'node:fs'
import { SAMPLE_RATE } from './pcm.js'

export const WAV_MIN_SAMPLE_RATE = 8000
export const WAV_MAX_SAMPLE_RATE = 192_000
export const WAV_MAX_CHANNELS = 8
/** Files larger than this are refused before they are read. */
export const WAV_MAX_FILE_BYTES = 512 * 1024 * 1024
/** Audio longer than this is refused (a source file is a prompt or a test clip, not an archive). */
export const WAV_MAX_SECONDS = 600
/** A RIFF file cannot describe more data than this (32-bit sizes). */
export const WAV_MAX_DATA_BYTES = 0xFFFF_FFFF - 36

export type WavSampleFormat = 'pcm' | 'float' | 'alaw' | 'mulaw'

export interface WavInfo {
  sampleRate: number
  channels: number
  format: WavSampleFormat
  /** Bits per sample in the container (8, 16, 24, 32, 64). */
  bitsPerSample: number
  /** True when the fmt chunk was WAVE_FORMAT_EXTENSIBLE. */
  extensible: boolean
}

export interface ParsedWav extends WavInfo {
  /** Mono (channels averaged), at `sampleRate`, in [-1, 1]. */
  samples: Float32Array
  durationSeconds: number
}

/** The input is not a WAV file, or one this parser does not read; the message says which. */
export class WavFormatError extends Error {
  override readonly name = 'WavFormatError'
}

const FORMAT_PCM = 0x0001
const FORMAT_FLOAT = 0x0003
const FORMAT_ALAW = 0x0006
const FORMAT_MULAW = 0x0007
const FORMAT_EXTENSIBLE = 0xFFFE
/** KSDATAFORMAT_SUBTYPE_* GUIDs are the format tag followed by these 14 bytes. */
const SUBTYPE_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
const KNOWN_FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM', 0x0011: 'IMA ADPCM', 0x0031: 'GSM 6.10', 0x0050: 'MPEG', 0x0055: 'MP3'
}

function fourcc (bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset] as number, bytes[offset + 1] as number, bytes[offset + 2] as number, bytes[offset + 3] as number)
}

/** Parses a whole WAV file held in memory. Throws WavFormatError with the reason when it cannot. */
export function parseWav (bytes: Uint8Array): ParsedWav {
  if (bytes.length > WAV_MAX_FILE_BYTES) throw new WavFormatError(`WAV file too large: ${bytes.length} bytes (limit ${WAV_MAX_FILE_BYTES})`)
  if (bytes.length < 12) throw new WavFormatError(`not a WAV file: ${bytes.length} bytes is too short for a RIFF header`)
  const riff = fourcc(bytes, 0)
  if (riff === 'RF64' || riff === 'BW64') throw new WavFormatError(`unsupported WAV variant ${riff} (64-bit sizes); convert it to plain RIFF WAV`)
  if (riff !== 'RIFF' || fourcc(bytes, 8) !== 'WAVE') {
    throw new WavFormatError(`not a WAV file: starts with ${JSON.stringify(riff)}${riff === 'RIFF' ? ` of type ${JSON.stringify(fourcc(bytes, 8))}` : ''}, expected "RIFF....WAVE"`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let info: WavInfo | undefined
  let blockAlign = 0
  let data: { offset: number, length: number } | undefined
  let offset = 12
  while (offset + 8 <= bytes.length) {
    const id = fourcc(bytes, offset)
    const size = view.getUint32(offset + 4, true)
    const body = offset + 8
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) throw new WavFormatError(`truncated fmt chunk: ${size} bytes declared, ${bytes.length - body} present (at least 16 needed)`)
      ;({ info, blockAlign } = parseFmt(view, body, size))
    } else if (id === 'data') {
      // A writer that died before patching the header leaves 0 or 0xFFFFFFFF here: read what is there.
      const available = bytes.length - body
      const length = size === 0 || size > available ? available : size
      data = { offset: body, length }
      if (info !== undefined) break
    }
    offset = body + size + (size & 1)
  }
  if (info === undefined) throw new WavFormatError('not a playable WAV file: no fmt chunk')
  if (data === undefined) throw new WavFormatError('not a playable WAV file: no data chunk')
  const frames = Math.floor(data.length / blockAlign)
  const durationSeconds = frames / info.sampleRate
  if (durationSeconds > WAV_MAX_SECONDS) throw new WavFormatError(`WAV audio too long: ${durationSeconds.toFixed(1)} s (limit ${WAV_MAX_SECONDS} s)`)
  const samples = decodeToMono(view, data.offset, frames, blockAlign, info)
  return { ...info, samples, durationSeconds }
}

function parseFmt (view: DataView, at: number, size: number): { info: WavInfo, blockAlign: number } {
  let tag = view.getUint16(at, true)
  const channels = view.getUint16(at + 2, true)
  const sampleRate = view.getUint32(at + 4, true)
  const blockAlign = view.getUint16(at + 12, true)
  const bitsPerSample = view.getUint16(at + 14, true)
  const extensible = tag === FORMAT_EXTENSIBLE
  if (extensible) {
    if (size < 40) throw new WavFormatError(`WAVE_FORMAT_EXTENSIBLE fmt chunk too short: ${size} bytes, 40 needed`)
    tag = view.getUint16(at + 24, true)
    for (let i = 0; i < SUBTYPE_GUID_TAIL.length; i++) {
      if (view.getUint8(at + 26 + i) !== SUBTYPE_GUID_TAIL[i]) throw new WavFormatError('unsupported WAVE_FORMAT_EXTENSIBLE sub-format (not a KSDATAFORMAT_SUBTYPE GUID)')
    }
  }
  const format: WavSampleFormat | undefined =
    tag === FORMAT_PCM ? 'pcm' : tag === FORMAT_FLOAT ? 'float' : tag === FORMAT_ALAW ? 'alaw' : tag === FORMAT_MULAW ? 'mulaw' : undefined
  if (format === undefined) {
    const name = KNOWN_FORMAT_NAMES[tag]
    throw new WavFormatError(`unsupported WAV encoding 0x${tag.toString(16).padStart(4, '0')}${name === undefined ? '' : ` (${name})`}: ` +
      'PCM integer, IEEE float, A-law and µ-law are read')
  }
  if (channels < 1 || channels > WAV_MAX_CHANNELS) throw new WavFormatError(`unsupported channel count ${channels} (1–${WAV_MAX_CHANNELS})`)
  if (sampleRate < WAV_MIN_SAMPLE_RATE || sampleRate > WAV_MAX_SAMPLE_RATE) {
    throw new WavFormatError(`unsupported sample rate ${sampleRate} Hz (${WAV_MIN_SAMPLE_RATE}–${WAV_MAX_SAMPLE_RATE})`)
  }
  const containerBytes = blockAlign / channels
  const allowed = format === 'pcm' ? [1, 2, 3, 4] : format === 'float' ? [4, 8] : [1]
  if (!Number.isInteger(containerBytes) || !allowed.includes(containerBytes) || Math.ceil(bitsPerSample / 8) !== containerBytes) {
    throw new WavFormatError(`unsupported ${format} sample layout: ${bitsPerSample} bits per sample, block align ${blockAlign} for ${channels} channel(s)`)
  }
  return { info: { sampleRate, channels, format, bitsPerSample: containerBytes * 8, extensible }, blockAlign }
}

function decodeToMono (view: DataView, start: number, frames: number, blockAlign: number, info: WavInfo): Float32Array {
  const { channels, format, bitsPerSample } = info
  const bytesPer = bitsPerSample / 8
  const read = sampleReader(view, format, bytesPer)
  const out = new Float32Array(frames)
  const scale = 1 / channels
  for (let f = 0; f < frames; f++) {
    const base = start + f * blockAlign
    let sum = 0
    for (let c = 0; c < channels; c++) sum += read(base + c * bytesPer)
    out[f] = sum * scale
  }
  return out
}

function sampleReader (view: DataView, format: WavSampleFormat, bytesPer: number): (at: number) => number {
  switch (format) {
    case 'float':
      return bytesPer === 4 ? at => finite(view.getFloat32(at, true)) : at => finite(view.getFloat64(at, true))
    case 'alaw':
      return at => ALAW_TABLE[view.getUint8(at)] as number
    case 'mulaw':
      return at => MULAW_TABLE[view.getUint8(at)] as number
    case 'pcm':
      switch (bytesPer) {
        case 1: return at => (view.getUint8(at) - 128) / 128
        case 2: return at => view.getInt16(at, true) / 32768
        case 3: return at => ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16))) / 8388608
        default: return at => view.getInt32(at, true) / 2147483648
      }
  }
}

/** Float samples outside [-1, 1] are clipped; NaN and infinities become silence. */
function finite (v: number): number {
  return Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0
}

// G.711 expansion tables (ITU-T G.711), scaled to [-1, 1].
const ALAW_TABLE = Float32Array.from({ length: 256 }, (_, i) => {
  const a = i ^ 0x55
  const exponent = (a >> 4) & 7
  const mantissa = a & 15
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1)
  return ((a & 0x80) !== 0 ? magnitude : -magnitude) / 32768
})
const MULAW_TABLE = Float32Array.from({ length: 256 }, (_, i) => {
  const u = ~i & 0xFF
  const exponent = (u >> 4) & 7
  const magnitude = ((((u & 15) << 3) + 0x84) << exponent) - 0x84
  return ((u & 0x80) !== 0 ? -magnitude : magnitude) / 32768
})

/** Reads and parses a WAV file, refusing one over WAV_MAX_FILE_BYTES before reading it. */
export function readWavFile (path: string): ParsedWav {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    if (size > WAV_MAX_FILE_BYTES) throw new WavFormatError(`${path}: WAV file too large: ${size} bytes (limit ${WAV_MAX_FILE_BYTES})`)
    const bytes = new Uint8Array(size)
    let got = 0
    while (got < size) {
      const n = readSync(fd, bytes, got, size - got, null)
      if (n === 0) break
      got += n
    }
    try {
      return parseWav(bytes.subarray(0, got))
    } catch (err) {
      if (err instanceof WavFormatError) throw new WavFormatError(`${path}: ${err.message}`)
      throw err
    }
  } finally {
    closeSync(fd)
  }
}

// ---- writing ----------------------------------------------------------------

export interface WavEncoding {
  sampleRate: number
  format: WavSampleFormat
  /** 8/16/24/32 for pcm, 32/64 for float, 8 for alaw/mulaw. */
  bitsPerSample: number
  /** Write WAVE_FORMAT_EXTENSIBLE (the default for more than 2 channels or more than 16 bits). */
  extensible?: boolean
}

const FORMAT_TAGS: Record<WavSampleFormat, number> = { pcm: FORMAT_PCM, float: FORMAT_FLOAT, alaw: FORMAT_ALAW, mulaw: FORMAT_MULAW }

/** A RIFF/WAVE header (44 bytes, or 68 with WAVE_FORMAT_EXTENSIBLE) for `dataBytes` of audio. */
export function wavHeader (encoding: WavEncoding, channels: number, dataBytes: number): Uint8Array {
  const extensible = encoding.extensible ?? (channels > 2 || encoding.bitsPerSample > 16)
  const fmtSize = extensible ? 40 : 16
  const header = new Uint8Array(20 + fmtSize + 8)
  const view = new DataView(header.buffer)
  const ascii = (at: number, s: string): void => { for (let i = 0; i < 4; i++) header[at + i] = s.charCodeAt(i) }
  const blockAlign = channels * encoding.bitsPerSample / 8
  const dataSize = Math.min(dataBytes, WAV_MAX_DATA_BYTES)
  ascii(0, 'RIFF')
  view.setUint32(4, header.length - 8 + dataSize + (dataSize & 1), true)
  ascii(8, 'WAVE')
  ascii(12, 'fmt ')
  view.setUint32(16, fmtSize, true)
  view.setUint16(20, extensible ? FORMAT_EXTENSIBLE : FORMAT_TAGS[encoding.format], true)
  view.setUint16(22, channels, true)
  view.setUint32(24, encoding.sampleRate, true)
  view.setUint32(28, encoding.sampleRate * blockAlign, true)
  view.setUint16(32, blockAlign, true)
  view.setUint16(34, encoding.bitsPerSample, true)
  if (extensible) {
    view.setUint16(36, 22, true)
    view.setUint16(38, encoding.bitsPerSample, true)
    view.setUint32(40, channels <= 2 ? (1 << channels) - 1 : 0, true)
    view.setUint16(44, FORMAT_TAGS[encoding.format], true)
    header.set(SUBTYPE_GUID_TAIL, 46)
  }
  ascii(20 + fmtSize, 'data')
  view.setUint32(24 + fmtSize, dataSize, true)
  return header
}

/**
 * A whole WAV file from one Float32 array per channel (equal lengths), in any encoding the
 * parser reads. For tests, tools and fixtures; recordings use WavFileWriter.
 */
export function encodeWav (channelData: Float32Array[], encoding: WavEncoding): Uint8Array {
  const channels = channelData.length
  const frames = channelData[0]?.length ?? 0
  if (channels < 1 || channelData.some(c => c.length !== frames)) throw new RangeError('encodeWav: one or more channels of equal length needed')
  const bytesPer = encoding.bitsPerSample / 8
  const dataBytes = frames * channels * bytesPer
  const header = wavHeader(encoding, channels, dataBytes)
  const out = new Uint8Array(header.length + dataBytes + (dataBytes & 1))
  out.set(header)
  const view = new DataView(out.buffer)
  const clip = (v: number): number => Math.max(-1, Math.min(1, v))
  let at = header.length
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) {
      const v = clip((channelData[c] as Float32Array)[f] as number)
      switch (`${encoding.format}${encoding.bitsPerSample}`) {
        case 'pcm8': view.setUint8(at, Math.max(0, Math.min(255, Math.round(v * 128 + 128)))); break
        case 'pcm16': view.setInt16(at, Math.max(-32768, Math.min(32767, Math.round(v * 32768))), true); break
        case 'pcm24': {
          const s = Math.max(-8388608, Math.min(8388607, Math.round(v * 8388608)))
          view.setUint8(at, s & 0xFF); view.setUint8(at + 1, (s >> 8) & 0xFF); view.setInt8(at + 2, s >> 16)
          break
        }
        case 'pcm32': view.setInt32(at, Math.max(-2147483648, Math.min(2147483647, Math.round(v * 2147483648))), true); break
        case 'float32': view.setFloat32(at, v, true); break
        case 'float64': view.setFloat64(at, v, true); break
        case 'alaw8': view.setUint8(at, linearToAlaw(Math.round(v * 32767))); break
        case 'mulaw8': view.setUint8(at, linearToMulaw(Math.round(v * 32767))); break
        default: throw new RangeError(`encodeWav: no ${encoding.bitsPerSample}-bit ${encoding.format}`)
      }
      at += bytesPer
    }
  }
  return out
}

function linearToAlaw (pcm: number): number {
  const sign = pcm >= 0 ? 0x80 : 0
  let m = Math.min(Math.abs(pcm), 32635)
  let exponent = 7
  for (let mask = 0x4000; (m & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  m = exponent === 0 ? m >> 4 : (m >> (exponent + 3)) & 15
  return (sign | (exponent << 4) | m) ^ 0x55
}

function linearToMulaw (pcm: number): number {
  const sign = pcm < 0 ? 0x80 : 0
  const m = Math.min(Math.abs(pcm), 32635) + 0x84
  let exponent = 7
  for (let mask = 0x4000; (m & mask) === 0 && exponent > 0; mask >>= 1) exponent--
  return ~(sign | (exponent << 4) | ((m >> (exponent + 3)) & 15)) & 0xFF
}

/** Bytes buffered by WavFileWriter between disk writes (and header patches): about 0.7 s of audio. */
export const WAV_WRITER_FLUSH_BYTES = 64 * 1024

/**
 * Records 48 kHz mono 16-bit PCM to a file as it arrives. The header's sizes are patched at every
 * flush and on close, so a recording cut short by a crash is still a valid file up to its last
 * flush. Stops taking audio (and says so in `truncated`) at the 4 GiB RIFF limit (about 12 h).
 */
export class WavFileWriter {
  private fd: number | undefined
  private readonly buffer = new Uint8Array(WAV_WRITER_FLUSH_BYTES)
  private buffered = 0
  private dataBytes = 0
  private readonly header: Uint8Array
  truncated = false

  constructor (readonly path: string) {
    this.header = wavHeader({ sampleRate: SAMPLE_RATE, format: 'pcm', bitsPerSample: 16 }, 1, 0)
    // A recording of a call is the user's alone: 0600 whatever the umask (an overwritten file too).
    this.fd = openSync(path, 'w', 0o600)
    fchmodSync(this.fd, 0o600)
    writeSync(this.fd, this.header, 0, this.header.length, 0)
  }

  /** Samples written so far (48 kHz). */
  get samples (): number {
    return (this.dataBytes + this.buffered) / 2
  }

  /** Appends samples: Int16 as they are, Float32 scaled from [-1, 1] and clipped. */
  write (samples: Int16Array | Float32Array): void {
    if (this.fd === undefined) throw new Error(`WavFileWriter(${this.path}): write after close`)
    const room = Math.floor((WAV_MAX_DATA_BYTES - this.dataBytes - this.buffered) / 2)
    const count = Math.min(samples.length, room)
    if (count < samples.length) this.truncated = true
    for (let i = 0; i < count; i++) {
      if (this.buffered + 2 > this.buffer.length) this.flush()
      let v = samples[i] as number
      if (samples instanceof Float32Array) v = Math.max(-32768, Math.min(32767, Math.round(v * 32767))) || 0
      this.buffer[this.buffered++] = v & 0xFF
      this.buffer[this.buffered++] = (v >> 8) & 0xFF
    }
  }

  /** Writes what is buffered and patches the header to match. */
  flush (): void {
    if (this.fd === undefined) return
    if (this.buffered > 0) {
      writeSync(this.fd, this.buffer, 0, this.buffered, this.header.length + this.dataBytes)
      this.dataBytes += this.buffered
      this.buffered = 0
    }
    const patched = wavHeader({ sampleRate: SAMPLE_RATE, format: 'pcm', bitsPerSample: 16 }, 1, this.dataBytes)
    writeSync(this.fd, patched, 0, patched.length, 0)
  }

  /** Flushes, patches the header and closes the file. Safe to call twice. */
  close (): void {
    if (this.fd === undefined) return
    try {
      this.flush()
    } finally {
      closeSync(this.fd)
      this.fd = undefined
    }
  }
}
