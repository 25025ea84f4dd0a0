// Part 4 of the call bench: Opus streams per core. The encoder (createOpusEncoder, as calls set it
// up) and the decoder (createOpusDecoder) on speech, frames per CPU-second of this process / 50.
import { createOpusDecoder, createOpusEncoder } from '../../node/index.js'
import { FRAME_SAMPLES, floatToInt16 } from '../../node/index.js'
import { speech } from '../audio-pipeline-bench.js'
import { timeLoop } from '../lib/measure.js'

export interface CodecSpeed { framesPerCpuSecond: number, streamsPerCore: number, p50us: number, p99us: number }

function codecSpeed<T> (inputs: T[], op: (input: T) => void, seconds: number): CodecSpeed {
  const { perSecond, p50us, p99us } = timeLoop(inputs, op, seconds)
  return { framesPerCpuSecond: Math.round(perSecond), streamsPerCore: Math.round(perSecond / 50), p50us: Math.round(p50us), p99us: Math.round(p99us) }
}

export interface OpusResult { input: string, encoderBackend: string, encoder: CodecSpeed, decoder: CodecSpeed, callEndsPerCore: number }

/** Encoder and decoder speed, each timed for `seconds`. */
export async function measureOpus (seconds: number): Promise<OpusResult> {
  const { signal, source } = speech()
  const frames: Int16Array[] = []
  for (let at = 0; at + FRAME_SAMPLES <= signal.length; at += FRAME_SAMPLES) frames.push(floatToInt16(signal.subarray(at, at + FRAME_SAMPLES)))
  const encoder = createOpusEncoder({ fec: true })
  const packets = frames.map(frame => encoder.encode(frame))
  const encode = codecSpeed(frames, frame => { encoder.encode(frame) }, seconds)
  const backend = encoder.backend
  encoder.close()
  const decoder = await createOpusDecoder()
  const decode = codecSpeed(packets, packet => { decoder.decode(packet) }, seconds)
  decoder.close()
  // One end of a call encodes one stream and decodes one: 50 of each per second.
  const callEndsPerCore = Math.round(1 / (50 / encode.framesPerCpuSecond + 50 / decode.framesPerCpuSecond))
  return { input: source, encoderBackend: backend, encoder: encode, decoder: decode, callEndsPerCore }
}
