// What a simulated phone line sends and takes, as a voxmesh call's audio streams (48 kHz frames,
// node/index.ts's AudioSource and AudioSink). Everything crosses the line narrowband, as a real
// trunk would carry it: 48 kHz → 8 kHz G.711 μ-law → 48 kHz (line/narrowband.ts), so what the
// caller hears is what a telephone would give them.
import { createNullSink, floatToInt16, int16ToFloat, readWavFile, resample, FRAME_SAMPLES, type AudioSink, type AudioSource } from '../../node/index.js'
import { LINE_FRAME_SAMPLES, LINE_SAMPLE_RATE, encodeMulaw } from '../line/g711.js'
import { createLineCodec } from '../line/narrowband.js'
import type { ToneSource } from '../line/tones.js'

/** A line's two directions for one call, and when the line has said all it will (an announcement, the SIT). */
export interface LineAudio {
  source: AudioSource
  sink: AudioSink
  /** True once a finite line signal has played to its end (the gateway then hangs up). */
  finished: () => boolean
}

/** Frames the echo holds at most (a caller's node that fell behind): 1 s. */
const MAX_ECHO_FRAMES = 50

/** A source of 8 kHz line frames (PCM, already μ-law coded or to be), played to the caller through the line. */
function lineSource (description: string, nextLineFrame: () => Int16Array | undefined): AudioSource & { ended: () => boolean } {
  const codec = createLineCodec()
  let ended = false
  let closed = false
  return {
    description,
    ended: () => ended,
    read () {
      if (closed) return null
      const frame = ended ? undefined : nextLineFrame()
      if (frame === undefined) ended = true
      // μ-law both ways: the caller hears the line's quantisation too.
      const onLine = encodeMulaw(frame ?? new Int16Array(LINE_FRAME_SAMPLES))
      return int16ToFloat(codec.fromLine(onLine))
    },
    close () { closed = true }
  }
}

/** The echo test: what the caller says comes back through the line (out to 8 kHz μ-law and back). */
export function echoLine (): LineAudio {
  const codec = createLineCodec()
  const queue: Int16Array[] = []
  let samples = 0
  const sink: AudioSink = {
    description: 'echo line (narrowband)',
    get samples () { return samples },
    write (frame) {
      samples += frame.length
      const pcm = frame instanceof Int16Array ? frame : floatToInt16(frame)
      if (pcm.length !== FRAME_SAMPLES) return
      queue.push(codec.fromLine(codec.toLine(pcm)))
      if (queue.length > MAX_ECHO_FRAMES) queue.shift()
    },
    async close () {}
  }
  let closed = false
  const source: AudioSource = {
    description: 'echo line (narrowband)',
    read () {
      if (closed) return null
      const frame = queue.shift()
      return frame === undefined ? new Float32Array(FRAME_SAMPLES) : int16ToFloat(frame)
    },
    close () { closed = true }
  }
  return { source, sink, finished: () => false }
}

/** A line that plays a line tone (a steady tone, or the SIT once) and ignores what it hears. */
export function toneLine (description: string, tone: ToneSource): LineAudio {
  const source = lineSource(description, () => tone.done ? undefined : tone.next())
  return { source, sink: createNullSink(), finished: source.ended }
}

/** A recorded announcement (any WAV the node reads), played `plays` times through the line. */
export function announcementLine (file: string, plays: number): LineAudio {
  const wav = readWavFile(file)
  const pcm = floatToInt16(resample(wav.samples, wav.sampleRate, LINE_SAMPLE_RATE))
  let at = 0
  let played = 0
  const source = lineSource(`announcement ${file}`, () => {
    if (at >= pcm.length) { played++; at = 0 }
    if (played >= plays) return undefined
    const frame = new Int16Array(LINE_FRAME_SAMPLES)
    frame.set(pcm.subarray(at, at + LINE_FRAME_SAMPLES))
    at += LINE_FRAME_SAMPLES
    return frame
  })
  return { source, sink: createNullSink(), finished: source.ended }
}

/** μ-law through and back, for a phone caller's own audio (`ring --play`): the user hears it narrowband. */
export function lineFromSource (description: string, from: AudioSource): AudioSource {
  const codec = createLineCodec()
  return {
    description: `${description} (narrowband)`,
    read () {
      const frame = from.read()
      if (frame === null) return null
      return int16ToFloat(codec.fromLine(codec.toLine(floatToInt16(frame))))
    },
    close () { from.close() }
  }
}

/** What a phone caller hears (`ring --record`): the user's audio through the line, then to `into`. */
export function lineIntoSink (into: AudioSink): AudioSink {
  const codec = createLineCodec()
  return {
    description: `${into.description} (narrowband)`,
    get samples () { return into.samples },
    write (frame) {
      const pcm = frame instanceof Int16Array ? frame : floatToInt16(frame)
      if (pcm.length !== FRAME_SAMPLES) return
      into.write(codec.fromLine(codec.toLine(pcm)))
    },
    close: async () => { await into.close() }
  }
}

