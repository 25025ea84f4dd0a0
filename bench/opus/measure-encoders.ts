// Each candidate encoder on the same input: speed (median of rounds, each a fresh encoder over
// the speech frames), output bitrate on speech and on the tone, and the quality of its packets
// as opus-decoder decodes them.
import { compareSignals, dominantFrequency, levelDbfs } from '../../node/index.js'
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../node/index.js'
import { round, timeLoop } from '../lib/measure.js'
import { decodeAll } from './decoders.js'
import type { BenchEncoder, Candidate } from './encoders.js'

export interface EncoderResult {
  name: string
  status: 'ok' | 'not installed' | 'failed'
  error?: string
  framesPerSecond?: number
  streamsPerCore?: number
  p50us?: number
  p99us?: number
  speechKbps?: number
  toneKbps?: number
  speechCorrelation?: number
  speechSnrDb?: number
  toneHz?: number
  toneSnrDb?: number
  toneLevelDb?: number
  readBack?: { bitrate: number, fec: boolean, lookahead: number }
}

export interface Input {
  speechSignal: Float32Array
  toneSignal: Float32Array
  speechFrames: Int16Array[]
  toneFrames: Int16Array[]
}

const durationOf = (count: number): number => count * FRAME_SAMPLES / SAMPLE_RATE
const kbps = (packets: Uint8Array[]): number => packets.reduce((n, p) => n + p.length, 0) * 8 / durationOf(packets.length) / 1000

export async function measureEncoders (candidates: Candidate[], input: Input, rounds: number, seconds: number): Promise<EncoderResult[]> {
  const results: EncoderResult[] = []
  for (const candidate of candidates) {
    let make: () => BenchEncoder
    try {
      make = await candidate.load()
    } catch (err) {
      const code = (err as { code?: string }).code
      results.push({ name: candidate.name, status: code === 'MODULE_NOT_FOUND' ? 'not installed' : 'failed', error: (err as Error).message.split('\n')[0] })
      continue
    }
    try {
      results.push(await measureEncoder(candidate.name, make, input, rounds, seconds))
    } catch (err) {
      results.push({ name: candidate.name, status: 'failed', error: (err as Error).message })
    }
  }
  return results
}

async function measureEncoder (name: string, make: () => BenchEncoder, input: Input, rounds: number, seconds: number): Promise<EncoderResult> {
  const { speechSignal, toneSignal, speechFrames, toneFrames } = input
  // Quality and bitrate from fresh encoders, decoded by opus-decoder.
  const speechEncoder = make()
  const speechPackets = speechFrames.map(f => speechEncoder.encode(f))
  const toneEncoder = make()
  const tonePackets = toneFrames.map(f => toneEncoder.encode(f))
  const speechOut = await decodeAll(speechPackets)
  const toneOut = await decodeAll(tonePackets)
  const speechCmp = compareSignals(speechSignal.subarray(0, speechOut.length), speechOut, 1000)
  const toneCmp = compareSignals(toneSignal.subarray(0, toneOut.length), toneOut, 1000)
  const steadyTone = toneOut.subarray(SAMPLE_RATE / 2, toneOut.length - SAMPLE_RATE / 4)
  // Speed: median of rounds, each a fresh encoder over the speech frames.
  const perRound: Array<ReturnType<typeof timeLoop>> = []
  for (let r = 0; r < rounds; r++) {
    const encoder = make()
    perRound.push(timeLoop(speechFrames, frame => { encoder.encode(frame) }, seconds))
  }
  perRound.sort((a, b) => a.perSecond - b.perSecond)
  const mid = perRound[Math.floor(perRound.length / 2)] as ReturnType<typeof timeLoop>
  return {
    name,
    status: 'ok',
    framesPerSecond: round(mid.perSecond, 0),
    streamsPerCore: round(mid.perSecond / 50, 0),
    p50us: round(mid.p50us, 0),
    p99us: round(mid.p99us, 0),
    speechKbps: round(kbps(speechPackets)),
    toneKbps: round(kbps(tonePackets)),
    speechCorrelation: round(speechCmp.correlation, 3),
    speechSnrDb: round(speechCmp.snrDb),
    toneHz: round(dominantFrequency(steadyTone, SAMPLE_RATE), 2),
    toneSnrDb: round(toneCmp.snrDb),
    toneLevelDb: round(levelDbfs(steadyTone) - levelDbfs(toneSignal), 2),
    readBack: speechEncoder.readBack?.()
  }
}
