// The opus bench's figures as tables on stdout (--json prints them whole instead).
import { round } from '../lib/measure.js'
import type { DecoderResult } from './decoders.js'
import type { EncoderResult } from './measure-encoders.js'

export interface Figures {
  machine: { cores: number, cpu: string, load1: number, node: string }
  settings: {
    sampleRate: number, channels: number, frameMs: number, application: string, signal: string,
    bitrate: number, vbr: boolean, fec: boolean, expectedLossPercent: number, complexity: number
  }
  run: { secondsPerRound: number, rounds: number, speech: string, tone: string }
  encoders: EncoderResult[]
  decoders: Array<{ name: string, framesPerSecond: number, streamsPerCore: number, p50us: number, p99us: number }>
  /** The encoder the speed ratios are against (opusscript's wasm build), when it ran. */
  baseline: string | null
}

/** `decoders` unrounded; `referenceName`: the encoder whose speech packets the decoders decoded. */
export function print (figures: Figures, decoders: DecoderResult[], referenceName: string): void {
  const { cores, cpu, load1 } = figures.machine
  const { bitrate, expectedLossPercent, complexity } = figures.settings
  const { rounds, secondsPerRound: seconds } = figures.run
  const results = figures.encoders
  const baseline = results.find(r => r.name === figures.baseline)
  console.log(`voxmesh opus bench: ${cores} cores (${cpu}), load ${load1}, node ${figures.machine.node}; 48 kHz mono 20 ms, VOIP, voice, ` +
    `${bitrate / 1000} kbit/s VBR, FEC on (${expectedLossPercent}% expected loss), complexity ${complexity}; ${rounds} rounds × ${seconds} s, medians`)
  console.log(`speech: ${figures.run.speech}; tone: ${figures.run.tone}; decoded by opus-decoder for the quality columns`)
  const cols = ['encoder', 'frames/cpu-s', 'streams/core', `× ${baseline === undefined ? 'n/a' : 'opusscript'}`, 'p50 µs', 'p99 µs', 'kbit/s speech', 'kbit/s tone', 'speech corr', 'speech SNR dB', 'tone Hz', 'tone SNR dB', 'tone Δlevel dB']
  const widths = [26, 13, 13, 15, 8, 8, 14, 12, 12, 14, 9, 12, 15]
  const line = (cells: Array<string | number | undefined>): string => cells.map((c, i) => i === 0 ? String(c ?? '').padEnd(widths[0] as number) : String(c ?? '').padStart(widths[i] as number)).join('')
  console.log(line(cols))
  for (const r of results) {
    if (r.status !== 'ok') {
      console.log(`${r.name.padEnd(widths[0] as number)}${r.status}${r.error === undefined ? '' : `: ${r.error}`}`)
      continue
    }
    const ratio = baseline?.framesPerSecond === undefined ? undefined : round((r.framesPerSecond as number) / baseline.framesPerSecond, 2)
    console.log(line([r.name, r.framesPerSecond, r.streamsPerCore, ratio, r.p50us, r.p99us, r.speechKbps, r.toneKbps, r.speechCorrelation, r.speechSnrDb, r.toneHz, r.toneSnrDb, r.toneLevelDb]))
  }
  const readBacks = results.filter(r => r.readBack !== undefined).map(r => `${r.name}: bitrate ${r.readBack?.bitrate}, FEC ${r.readBack?.fec === true ? 'on' : 'off'}, lookahead ${r.readBack?.lookahead} samples`)
  if (readBacks.length > 0) console.log(`read back: ${readBacks.join('; ')}`)
  console.log()
  const decoderBase = decoders[0]
  console.log(line(['decoder', 'frames/cpu-s', 'streams/core', '× opus-decoder', 'p50 µs', 'p99 µs']))
  for (const d of decoders) {
    console.log(line([d.name, round(d.perSecond, 0), round(d.perSecond / 50, 0), round(d.perSecond / (decoderBase?.perSecond ?? NaN), 2), round(d.p50us, 0), round(d.p99us, 0)]))
  }
  console.log(`(decoding the speech packets of ${referenceName}. frames/cpu-s: frames per second of this process's CPU time, what one core does; ` +
    'streams per core = that / 50, a stream being 50 frames/s; p50/p99: wall time per frame)')
}
