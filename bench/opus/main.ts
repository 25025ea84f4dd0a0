// Opus encoder choice: every Opus encoder from npm that is installed here, configured the way
// calls use Opus (48 kHz mono, 20 ms frames, VOIP application, voice signal, ~24 kbit/s VBR,
// in-band FEC on with 10% expected loss so the FEC data is actually sent, complexity 10),
// measured on the same input in the same run:
//   - speed: frames per CPU-second (what one core does, whatever else the machine runs) and
//     streams per core (that / 50), p50/p99 µs per frame;
//   - output bitrate on speech and on a tone;
//   - quality sanity: the packets decoded by opus-decoder (what calls decode with) against the
//     input: correlation and SNR on speech, dominant frequency, SNR and level on a 440 Hz tone.
// Then opus-decoder's own speed (streams per core), with @evan/opus's decoder as a reference.
// Speech is espeak-ng's voice (parsed and resampled to 48 kHz by node/media/audio) when
// espeak-ng is installed, else a synthetic voiced signal. Ratios are against opusscript
// (the wasm build most projects use), measured in the same run.
//
// Parts: encoders.ts (the candidates), signals.ts (the input), measure-encoders.ts, decoders.ts,
// report.ts.
//
//   npm run bench:opus -- [--seconds 2] [--rounds 3] [--bitrate 24000] [--complexity 10] [--json]
//
// Candidates not installed are listed as such: `npm install --no-save opusscript @evan/opus
// @discordjs/opus opus-encdec` brings them all (@discordjs/opus builds from source when its
// prebuilt binary cannot be downloaded).
import { availableParallelism, cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { SAMPLE_RATE } from '../../node/index.js'
import { round } from '../lib/measure.js'
import { measureDecoders } from './decoders.js'
import { EXPECTED_LOSS_PERCENT, encoderCandidates } from './encoders.js'
import { measureEncoders } from './measure-encoders.js'
import { print, type Figures } from './report.js'
import { frames, speech, tone, TONE_DESCRIPTION } from './signals.js'

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    bitrate: { type: 'string', default: '24000' },
    complexity: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false }
  }
})
const num = (name: 'seconds' | 'rounds' | 'bitrate' | 'complexity', min: number, max: number): number => {
  const n = Number(flags[name])
  if (Number.isFinite(n) && n >= min && n <= max) return n
  process.stderr.write(`opus-bench: --${name} must be a number in [${min}, ${max}], got ${String(flags[name])}\n`)
  process.exit(2)
}
const seconds = num('seconds', 0.1, 60)
const rounds = Math.round(num('rounds', 1, 20))
const bitrate = Math.round(num('bitrate', 6000, 510000))
const complexity = Math.round(num('complexity', 0, 10))

async function main (): Promise<void> {
  const cores = availableParallelism()
  const { signal: speechSignal, source: speechSource } = speech()
  const toneSignal = tone()
  const input = { speechSignal, toneSignal, speechFrames: frames(speechSignal), toneFrames: frames(toneSignal) }
  const candidates = encoderCandidates({ bitrate, complexity })
  const results = await measureEncoders(candidates, input, rounds, seconds)

  // Decoding: opus-decoder (what calls use) on the speech packets of the first working encoder.
  const reference = candidates.find(c => results.some(r => r.name === c.name && r.status === 'ok'))
  if (reference === undefined) throw new Error('no Opus encoder is installed: npm install --no-save opusscript @evan/opus')
  const referenceEncoder = (await reference.load())()
  const packets = input.speechFrames.map(f => referenceEncoder.encode(f))
  const decoders = await measureDecoders(packets, rounds, seconds)

  const baseline = results.find(r => r.name === 'opusscript (wasm)' && r.status === 'ok')
  const figures: Figures = {
    machine: { cores, cpu: cpus()[0]?.model ?? 'unknown', load1: round(loadavg()[0] ?? 0, 2), node: process.version },
    settings: { sampleRate: SAMPLE_RATE, channels: 1, frameMs: 20, application: 'voip', signal: 'voice', bitrate, vbr: true, fec: true, expectedLossPercent: EXPECTED_LOSS_PERCENT, complexity },
    run: { secondsPerRound: seconds, rounds, speech: speechSource, tone: TONE_DESCRIPTION },
    encoders: results,
    decoders: decoders.map(d => ({ name: d.name, framesPerSecond: round(d.perSecond, 0), streamsPerCore: round(d.perSecond / 50, 0), p50us: round(d.p50us, 0), p99us: round(d.p99us, 0) })),
    baseline: baseline?.name ?? null
  }
  if (flags.json) process.stdout.write(JSON.stringify(figures) + '\n')
  else print(figures, decoders, reference.name)
}

try {
  await main()
} catch (err) {
  process.stderr.write(`opus-bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
}
