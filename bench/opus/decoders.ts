// Decoding: opus-decoder (what calls decode with), for the quality columns and its own speed,
// with @evan/opus's decoders (when installed) as a reference.
import { createRequire } from 'node:module'
import { OpusDecoder } from 'opus-decoder'
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../node/index.js'
import { timeLoop } from '../lib/measure.js'

const require = createRequire(import.meta.url)

export async function decodeAll (packets: Uint8Array[]): Promise<Float32Array> {
  const decoder = new OpusDecoder({ channels: 1 })
  await decoder.ready
  const out = new Float32Array(packets.length * FRAME_SAMPLES)
  let at = 0
  for (const packet of packets) {
    const { channelData, samplesDecoded } = decoder.decodeFrame(packet)
    out.set((channelData[0] as Float32Array).subarray(0, samplesDecoded), at)
    at += samplesDecoded
  }
  decoder.free()
  return out.subarray(0, at)
}

export interface DecoderResult { name: string, perSecond: number, p50us: number, p99us: number }

/** The median (by speed) of `rounds` rounds, each with a fresh decoder. */
async function medianRound (rounds: number, round: () => Promise<ReturnType<typeof timeLoop>>): Promise<ReturnType<typeof timeLoop>> {
  const perRound: Array<ReturnType<typeof timeLoop>> = []
  for (let r = 0; r < rounds; r++) perRound.push(await round())
  perRound.sort((a, b) => a.perSecond - b.perSecond)
  return perRound[Math.floor(perRound.length / 2)] as ReturnType<typeof timeLoop>
}

/** Each decoder's speed on `packets`, opus-decoder first (the others are measured against it). */
export async function measureDecoders (packets: Uint8Array[], rounds: number, seconds: number): Promise<DecoderResult[]> {
  const decoders: DecoderResult[] = []
  decoders.push({
    name: 'opus-decoder (wasm)',
    ...await medianRound(rounds, async () => {
      const decoder = new OpusDecoder({ channels: 1 })
      await decoder.ready
      const result = timeLoop(packets, packet => { decoder.decodeFrame(packet) }, seconds)
      decoder.free()
      return result
    })
  })
  for (const [name, path] of [['@evan/opus decoder (native)', '@evan/opus/node/index.js'], ['@evan/opus decoder (wasm)', '@evan/opus/wasm/index.js']] as const) {
    try {
      const { Decoder } = require(path) as { Decoder: new (o: { channels: number, sample_rate: number }) => { decode: (p: Uint8Array) => Uint8Array } }
      decoders.push({
        name,
        ...await medianRound(rounds, async () => {
          const decoder = new Decoder({ channels: 1, sample_rate: SAMPLE_RATE })
          return timeLoop(packets, packet => { decoder.decode(packet) }, seconds)
        })
      })
    } catch {
      // not installed: opus-decoder alone is what matters
    }
  }
  return decoders
}
