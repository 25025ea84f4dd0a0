// A call's audio pipeline driven by a fake clock: pacing comes from the
// injected Clock, so the frame count is exact and the tone arrives intact.
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock } from '../../node/net/fake-clock.js'
import { startCallAudio, type CallAudio } from '../../node/calls/call-audio.js'
import { SKIP_CROSS_FADE_SAMPLES, skipWithCrossFade } from '../../node/calls/playout.js'
import { JITTER_START_DELAY_MS } from '../../node/media/audio/jitter-buffer.js'
import { createToneSource, createSilenceSource } from '../../node/media/audio/sources.js'
import { createMemorySink, createNullSink } from '../../node/media/audio/sinks.js'
import { dominantFrequency, levelDbfs } from '../../node/media/audio/analysis.js'
import { FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE } from '../../node/media/audio/pcm.js'
import { silentLogger } from '../../common/logger.js'

const open: CallAudio[] = []
afterEach(async () => { await Promise.all(open.splice(0).map(audio => audio.close())) })

describe('call audio on an injected clock', () => {
  it('sends one frame per 20 ms of clock time and plays a 440 Hz tone at its level on the other side', async () => {
    const clock = new FakeClock()
    const sink = createMemorySink()
    let seq = 0
    let timestamp = 0
    let receiver: CallAudio | undefined
    // The receiver first: the sender's first frame goes out as it starts.
    receiver = await startCallAudio({ source: createSilenceSource(), sink, send: () => {}, log: silentLogger, clock })
    const sender = await startCallAudio({
      source: createToneSource({ frequency: 440, levelDbfs: -12 }),
      sink: createNullSink(),
      // A lossless, instant network: every packet goes straight to the receiver.
      send: payload => { receiver?.receive(payload, { seq: seq++ & 0xffff, timestamp: (timestamp += FRAME_SAMPLES) >>> 0, ssrc: 1 }) },
      log: silentLogger,
      clock
    })
    open.push(sender, receiver)

    // The first frame is sent at the start and arrives at once; the playout starts when the jitter
    // buffer says (the start delay later), on a timer of its own, not on the next send tick.
    clock.advance(JITTER_START_DELAY_MS - 1)
    expect(sink.samples).toBe(0)
    clock.advance(1)
    expect(sink.samples).toBe(FRAME_SAMPLES)
    clock.advance(2000 - JITTER_START_DELAY_MS)

    // One frame at the start, then one per 20 ms.
    expect(sender.stats().framesSent).toBe(2000 / FRAME_MS + 1)
    const played = receiver.stats().framesPlayed
    // The jitter buffer holds a few frames back before it starts playing.
    expect(played).toBeGreaterThan(80)
    expect(played).toBeLessThanOrEqual(101)
    expect(receiver.stats().framesConcealed).toBe(0)
    const audio = sink.audio()
    // The playout came down from the start delay to the 10 ms minimum by skipping that much audio.
    expect(audio.length).toBe(played * FRAME_SAMPLES - (JITTER_START_DELAY_MS - 10) * FRAME_SAMPLES / FRAME_MS)
    const steady = audio.subarray(audio.length - SAMPLE_RATE)
    expect(Math.abs(dominantFrequency(steady, SAMPLE_RATE) - 440)).toBeLessThan(5)
    // AES17 dBFS: a sine of peak -12 dBFS reads -12 (Opus keeps the level within a dB).
    expect(Math.abs(levelDbfs(steady) - -12)).toBeLessThan(1)
  })

  it('after a stalled event loop, plays the frames it owes from the packets that came meanwhile: none concealed, none discarded', async () => {
    const clock = new FakeClock()
    const sink = createMemorySink()
    let seq = 0
    let timestamp = 0
    const receiver = await startCallAudio({ source: createSilenceSource(), sink, send: () => {}, log: silentLogger, clock })
    const sender = await startCallAudio({
      source: createToneSource({ frequency: 440 }),
      sink: createNullSink(),
      send: payload => { receiver.receive(payload, { seq: seq++ & 0xffff, timestamp: (timestamp += FRAME_SAMPLES) >>> 0, ssrc: 1 }) },
      log: silentLogger,
      clock
    })
    open.push(sender, receiver)
    clock.advance(2000) // settled at the buffer's target
    for (let stall = 0; stall < 5; stall++) {
      const before = sink.samples
      // 60 ms in which no timer runs (and no packet is read), then a second of normal time:
      // 53 frames fell due. All are played: no frame is discarded for the lateness (the buffer,
      // which saw the packets come in a burst, may skip a few ms to come back to its target).
      clock.stall(60)
      clock.advance(1000)
      expect(sink.samples - before).toBeGreaterThan(52 * FRAME_SAMPLES)
      expect(sink.samples - before).toBeLessThanOrEqual(53 * FRAME_SAMPLES)
    }
    expect(receiver.stats().framesConcealed).toBe(0)
  })

  // A recovery's session sends with a random SSRC, sequence and timestamp of its own. Before the
  // buffer started over on a new SSRC, these (a sequence within its jump window of the old one's)
  // played concealment, not the tone, for the rest of the call.
  it.each([
    { seq: -500, ts: 1_000_000 },
    { seq: 500, ts: -1_000_000 },
    { seq: 20, ts: -1_000_000 },
    { seq: -20, ts: 1_000_000 }
  ])('plays a new stream (another SSRC) whose sequence is $seq and timestamp $ts from the old one\'s', async ({ seq, ts }) => {
    const clock = new FakeClock()
    const sink = createMemorySink()
    let stream = { ssrc: 0x1111, seq: 40_000, timestamp: 7 }
    const receiver = await startCallAudio({ source: createSilenceSource(), sink, send: () => {}, log: silentLogger, clock })
    const sender = await startCallAudio({
      source: createToneSource({ frequency: 440 }),
      sink: createNullSink(),
      send: payload => { receiver.receive(payload, { seq: stream.seq++ & 0xffff, timestamp: (stream.timestamp += FRAME_SAMPLES) >>> 0, ssrc: stream.ssrc }) },
      log: silentLogger,
      clock
    })
    open.push(sender, receiver)
    clock.advance(2000)
    stream = { ssrc: 0x2222, seq: stream.seq + seq, timestamp: stream.timestamp + ts }
    const concealedBefore = receiver.stats().framesConcealed
    clock.advance(3000)
    expect(receiver.stats().framesConcealed - concealedBefore).toBeLessThanOrEqual(2)
    const audio = sink.audio()
    const last = audio.subarray(audio.length - SAMPLE_RATE)
    expect(Math.abs(dominantFrequency(last, SAMPLE_RATE) - 440)).toBeLessThan(5)
    expect(levelDbfs(last)).toBeGreaterThan(-20)
  })

  it('skips the start of a frame with a cross-fade: continuous with what played before, the skipped-to audio after', () => {
    const pcm = Int16Array.from({ length: FRAME_SAMPLES }, (_, i) => i * 10)
    const out = skipWithCrossFade(pcm, 300)
    expect(out.length).toBe(FRAME_SAMPLES - 300)
    expect(out[0]).toBeLessThan(100) // about pcm[0]: no jump at the seam
    for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThanOrEqual(out[i - 1] as number) // no step back
    expect(Array.from(out.subarray(SKIP_CROSS_FADE_SAMPLES))).toEqual(Array.from(pcm.subarray(300 + SKIP_CROSS_FADE_SAMPLES)))
    expect(skipWithCrossFade(pcm, 0)).toBe(pcm)
    expect(skipWithCrossFade(pcm, FRAME_SAMPLES - 10)).toHaveLength(10)
  })

  it('sends its first frame at once, nothing more while the clock stands still, and stops its timer on close', async () => {
    const clock = new FakeClock()
    let sent = 0
    const audio = await startCallAudio({ source: createToneSource(), sink: createNullSink(), send: () => { sent++ }, log: silentLogger, clock })
    // The first frame at once, then nothing more until the clock moves.
    expect(sent).toBe(1)
    await Promise.resolve()
    expect(sent).toBe(1)
    clock.advance(100)
    expect(sent).toBe(6)
    await audio.close()
    clock.advance(1000)
    expect(sent).toBe(6)
  })
})
