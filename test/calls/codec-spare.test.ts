// The codecs a node keeps ready for its next call: opened on the clock's time, handed over once,
// and closed with the node. Real Opus codecs: what is handed out encodes and decodes a frame.
import { describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { openCallCodecs, type CallCodecs } from '../../node/calls/call-audio.js'
import { CodecSpare } from '../../node/calls/codec-spare.js'
import { FRAME_SAMPLES } from '../../node/media/audio/pcm.js'
import { FakeClock } from '../../node/net/fake-clock.js'

/** One frame of a 440 Hz tone through the codecs: the number of samples the decoder gives back. */
function roundTrip (codecs: CallCodecs): number {
  const frame = Int16Array.from({ length: FRAME_SAMPLES }, (_, i) => Math.round(8000 * Math.sin(2 * Math.PI * 440 * i / 48_000)))
  return codecs.decoder.decode(codecs.encoder.encode(frame)).length
}

/** A spare on a fake clock whose opened sets are listed, in order. */
function spareWithLog (): { clock: FakeClock, spare: CodecSpare, opened: CallCodecs[], opens: () => number } {
  const clock = new FakeClock()
  const opened: CallCodecs[] = []
  let opens = 0
  const open = async (): Promise<CallCodecs> => {
    opens++
    const codecs = await openCallCodecs()
    opened.push(codecs)
    return codecs
  }
  return { clock, spare: new CodecSpare(clock, silentLogger, open), opened, opens: () => opens }
}

const closeAll = (sets: CallCodecs[]): void => { for (const codecs of sets) { codecs.encoder.close(); codecs.decoder.close() } }

describe('the codec spare', () => {
  it('opens a set once the delay has passed and hands that one out, once', async () => {
    const { clock, spare, opened, opens } = spareWithLog()
    spare.refill(2000)
    spare.refill(0) // one is coming already: no second timer
    clock.advance(1999)
    expect(opens()).toBe(0)
    clock.advance(1)
    expect(opens()).toBe(1)
    clock.advance(10_000)
    expect(opens()).toBe(1)
    await vi.waitFor(() => { expect(opened).toHaveLength(1) })
    const spareSet = await spare.take()
    expect(spareSet).toBe(opened[0])
    expect(roundTrip(spareSet)).toBe(FRAME_SAMPLES)
    // Gone once taken: the next taker opens its own.
    const own = await spare.take()
    expect(own).not.toBe(spareSet)
    expect(opened).toHaveLength(2)
    spare.close()
    // Sets handed out belong to their takers: closing the spare leaves them working.
    expect(roundTrip(spareSet)).toBe(FRAME_SAMPLES)
    closeAll(opened)
  })

  it('closes a set still opening when closed', async () => {
    const { clock, spare, opened } = spareWithLog()
    spare.refill()
    clock.advance(0)
    spare.close()
    await vi.waitFor(() => { expect(opened).toHaveLength(1) })
    const set = opened[0] as CallCodecs
    await vi.waitFor(() => { expect(() => set.decoder.decode(new Uint8Array([0xf8, 0xff, 0xfe]))).toThrow(/after close/) })
  })

  it('closes the set it holds when closed, and opens none after', async () => {
    const { clock, spare, opened } = spareWithLog()
    spare.refill()
    clock.advance(0)
    await vi.waitFor(() => { expect(opened).toHaveLength(1) })
    const held = opened[0] as CallCodecs
    spare.close()
    await vi.waitFor(() => { expect(() => held.encoder.encode(new Int16Array(FRAME_SAMPLES))).toThrow(/after close/) })
    spare.refill()
    clock.advance(10_000)
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(opened).toHaveLength(1)
  })
})
