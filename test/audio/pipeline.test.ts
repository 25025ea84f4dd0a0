// The audio path of a call end to end, in one process on a virtual clock: a tone source, the
// Opus encoder, a network that delays (0–30 ms jitter, so packets reorder) and loses packets,
// the jitter buffer, the decoder with concealment, and a WAV recording — which must hold the
// tone at 440 Hz, at its level, for exactly as long as the call lasted.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createToneSource, readInt16Frame } from '../../node/media/audio/sources.js'
import { createWavFileSink } from '../../node/media/audio/sinks.js'
import { createOpusDecoder, createOpusEncoder } from '../../node/media/audio/opus.js'
import { JitterBuffer } from '../../node/media/audio/jitter-buffer.js'
import { FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE } from '../../node/media/audio/pcm.js'
import { readWavFile } from '../../node/media/audio/wav.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { seededRandom } from '../helpers/random.js'

const dir = mkdtempSync(join(tmpdir(), 'voxmesh-pipeline-test-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

describe('call audio pipeline', () => {
  for (const { jitterMs, lossPercent } of [{ jitterMs: 0, lossPercent: 0 }, { jitterMs: 30, lossPercent: 5 }]) {
    it(`records a 440 Hz tone at 440 Hz for the length of the call (jitter 0–${jitterMs} ms, ${lossPercent}% loss)`, async () => {
      const callSeconds = 4
      const ticks = callSeconds * 1000 / FRAME_MS
      const random = seededRandom(7)
      const source = createToneSource({ frequency: 440, levelDbfs: -10 })
      const encoder = createOpusEncoder({ fec: true })
      const decoder = await createOpusDecoder()
      const buffer = new JitterBuffer()
      const path = join(dir, `callee-${jitterMs}-${lossPercent}.wav`)
      const sink = createWavFileSink(path)
      const network: Array<{ seq: number, ts: number, payload: Uint8Array, at: number }> = []
      const pathDelayMs = 35
      for (let tick = 0; tick < ticks; tick++) {
        const now = tick * FRAME_MS
        // Caller: one frame per tick, RTP sequence and timestamp from a random start (wrap included).
        const frame = readInt16Frame(source) as Int16Array
        if (random() * 100 >= lossPercent) {
          network.push({ seq: (65_500 + tick) & 0xFFFF, ts: (0xFFFF_0000 + tick * FRAME_SAMPLES) >>> 0, payload: encoder.encode(frame), at: now + pathDelayMs + random() * jitterMs })
        } else {
          encoder.encode(frame)
        }
        // Callee: deliver what has arrived, then play one frame (silence while there is nothing yet).
        network.sort((a, b) => a.at - b.at)
        while (network.length > 0 && (network[0] as { at: number }).at <= now + 11) {
          const p = network.shift() as { seq: number, ts: number, payload: Uint8Array, at: number }
          buffer.push(p.seq, p.ts, p.payload, p.at)
        }
        const out = buffer.pop(now + 11)
        sink.write(out.kind === 'packet' ? decoder.decode(out.payload) : out.kind === 'missing' ? decoder.decodeMissing(out.nextPayload) : new Int16Array(FRAME_SAMPLES))
      }
      await sink.close()
      decoder.close()
      const recording = readWavFile(path)
      expect(recording.sampleRate).toBe(SAMPLE_RATE)
      expect(recording.durationSeconds).toBe(callSeconds)
      // Skip the start (path delay + buffering + codec start-up) for level and frequency.
      const steady = recording.samples.subarray(SAMPLE_RATE / 2)
      expect(Math.abs(dominantFrequency(steady, SAMPLE_RATE) - 440)).toBeLessThan(2)
      expect(Math.abs(levelDbfs(steady) - -10)).toBeLessThan(lossPercent === 0 ? 1 : 3)
      const stats = buffer.stats()
      expect(stats.played + stats.late + stats.discarded + stats.buffered).toBe(stats.received)
      if (lossPercent > 0) expect(decoder.stats.concealed).toBeGreaterThan(0)
      else expect(stats).toMatchObject({ lost: 0, late: 0 })
    })
  }
})
