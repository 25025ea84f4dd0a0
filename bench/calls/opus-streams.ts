// Part 4 of the call bench: Opus streams per core. The encoder (createOpusEncoder, as calls set it
// up) and the decoder (createOpusDecoder) on speech, frames per CPU-second of this process / 50.
import { performance } from 'node:perf_hooks'
import { createOpusDecoder, createOpusEncoder } from '../../node/media/audio/opus.js'
import { FRAME_SAMPLES, floatToInt16 } from '../../node/media/audio/pcm.js'
import { speech } from '../audio-pipeline-bench.js'
import { percentile } from '../lib/measure.js'

export interface CodecSpeed { framesPerCpuSecond: number, streamsPerCore: number, p50us: number, p99us: number }

/**
 * Runs `op` over `inputs` for `seconds`; the rate is per second of this process's CPU time
 * (what one core does, whatever else runs), the percentiles are wall time per call.
 */
function timeLoop<T> (inputs: T[], op: (input: T) => void, seconds: number): CodecSpeed {
  for (let i = 0; i < Math.min(200, inputs.length); i++) op(inputs[i] as T)
  const samples: number[] = []
  let count = 0
  const cpuStart = process.cpuUsage()
  const deadline = performance.now() + seconds * 1000
  while (performance.now() < deadline) {
    for (const input of inputs) {
      const t = performance.now()
      op(input)
      samples.push(performance.now() - t)
      count++
      if ((count & 63) === 0 && performance.now() >= deadline) break
    }
  }
  const cpu = process.cpuUsage(cpuStart)
  const perSecond = count / ((cpu.user + cpu.system) / 1e6)
  samples.sort((a, b) => a - b)
  return { framesPerCpuSecond: Math.round(perSecond), streamsPerCore: Math.round(perSecond / 50), p50us: Math.round(percentile(samples, 50) * 1000), p99us: Math.round(percentile(samples, 99) * 1000) }
}

export interface OpusResult { input: string, encoderBackend: string, encoder: CodecSpeed, decoder: CodecSpeed, callEndsPerCore: number }

/** Encoder and decoder speed, each timed for `seconds`. */
export async function measureOpus (seconds: number): Promise<OpusResult> {
  const { signal, source } = speech()
  const frames: Int16Array[] = []
  for (let at = 0; at + FRAME_SAMPLES <= signal.length; at += FRAME_SAMPLES) frames.push(floatToInt16(signal.subarray(at, at + FRAME_SAMPLES)))
  const encoder = createOpusEncoder({ fec: true })
  const packets = frames.map(frame => encoder.encode(frame))
  const encode = timeLoop(frames, frame => { encoder.encode(frame) }, seconds)
  const backend = encoder.backend
  encoder.close()
  const decoder = await createOpusDecoder()
  const decode = timeLoop(packets, packet => { decoder.decode(packet) }, seconds)
  decoder.close()
  // One end of a call encodes one stream and decodes one: 50 of each per second.
  const callEndsPerCore = Math.round(1 / (50 / encode.framesPerCpuSecond + 50 / decode.framesPerCpuSecond))
  return { input: source, encoderBackend: backend, encoder: encode, decoder: decode, callEndsPerCore }
}
