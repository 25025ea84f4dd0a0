import { describe, expect, it } from 'vitest'
import { FAKE_CLOCK_EPOCH_MS, FakeClock } from '../../node/net/fake-clock.js'
import type { Clock } from '../../common/clock.js'

describe('FakeClock', () => {
  it('starts at the default epoch or a given one', () => {
    expect(new FakeClock().now()).toBe(FAKE_CLOCK_EPOCH_MS)
    expect(new FakeClock(5).now()).toBe(5)
  })

  it('runs timers in due-time order, ties in the order they were set, with now() at each due time', () => {
    const clock = new FakeClock(1000)
    const seen: Array<[string, number]> = []
    const mark = (name: string) => () => { seen.push([name, clock.now()]) }
    clock.setTimeout(mark('c'), 30)
    clock.setTimeout(mark('a'), 10)
    clock.setTimeout(mark('b1'), 20)
    clock.setTimeout(mark('b2'), 20)
    clock.setTimeout(mark('late'), 100)
    expect(clock.pending).toBe(5)
    expect(clock.advance(50)).toBe(4)
    expect(seen).toEqual([['a', 1010], ['b1', 1020], ['b2', 1020], ['c', 1030]])
    expect(clock.now()).toBe(1050)
    expect(clock.pending).toBe(1)
    expect(clock.nextDue).toBe(1100)
  })

  it('runs timers set by callbacks when they fall due inside the window, and not otherwise', () => {
    const clock = new FakeClock(0)
    const seen: Array<[string, number]> = []
    clock.setTimeout(() => {
      seen.push(['outer', clock.now()])
      clock.setTimeout(() => {
        seen.push(['inner', clock.now()])
        clock.setTimeout(() => { seen.push(['innermost', clock.now()]) }, 0)
      }, 15)
      clock.setTimeout(() => { seen.push(['beyond', clock.now()]) }, 100)
    }, 10)
    clock.setTimeout(() => { seen.push(['other', clock.now()]) }, 20)
    clock.advance(30)
    expect(seen).toEqual([['outer', 10], ['other', 20], ['inner', 25], ['innermost', 25]])
    expect(clock.now()).toBe(30)
    clock.advance(80)
    expect(seen.at(-1)).toEqual(['beyond', 110])
  })

  it('clearTimeout cancels, including from inside another callback, and ignores unknown handles', () => {
    const clock = new FakeClock(0)
    const seen: string[] = []
    const second = clock.setTimeout(() => { seen.push('second') }, 20)
    clock.setTimeout(() => { seen.push('first'); clock.clearTimeout(second) }, 10)
    const third = clock.setTimeout(() => { seen.push('third') }, 30)
    clock.clearTimeout(third)
    clock.clearTimeout(third)
    clock.clearTimeout({ id: 9999 })
    clock.advance(100)
    expect(seen).toEqual(['first'])
    expect(clock.pending).toBe(0)
  })

  it('treats zero, negative and NaN delays as due now, run by advance(0)', () => {
    const clock = new FakeClock(0)
    const seen: number[] = []
    clock.setTimeout(() => { seen.push(1) }, 0)
    clock.setTimeout(() => { seen.push(2) }, -5)
    clock.setTimeout(() => { seen.push(3) }, Number.NaN)
    expect(seen).toEqual([])
    clock.advance(0)
    expect(seen).toEqual([1, 2, 3])
    expect(clock.now()).toBe(0)
  })

  it('runAll runs everything, leaves time at the last timer, and refuses endless re-arming', () => {
    const clock = new FakeClock(0)
    let count = 0
    const chain = (): void => { if (++count < 5) clock.setTimeout(chain, 1000) }
    clock.setTimeout(chain, 1000)
    expect(clock.runAll()).toBe(5)
    expect(clock.now()).toBe(5000)

    const forever = new FakeClock(0)
    const tick = (): void => { forever.setTimeout(tick, 1) }
    forever.setTimeout(tick, 1)
    expect(forever.runAll(100)).toBe(100)
    expect(forever.now()).toBe(100)
    expect(() => forever.runAll()).toThrow(/re-arming/)
  })

  it('lets an exception from a callback through, keeping later timers queued', () => {
    const clock = new FakeClock(0)
    const seen: string[] = []
    clock.setTimeout(() => { throw new Error('boom') }, 10)
    clock.setTimeout(() => { seen.push('after') }, 20)
    expect(() => clock.advance(50)).toThrow('boom')
    expect(clock.now()).toBe(10)
    clock.advance(40)
    expect(seen).toEqual(['after'])
    expect(clock.now()).toBe(50)
  })

  it('advanceAsync lets promise-based code progress between timers', async () => {
    const clock = new FakeClock(0)
    const sleep = async (c: Clock, ms: number): Promise<void> => { await new Promise<void>(resolve => { c.setTimeout(resolve, ms) }) }
    const steps: number[] = []
    const task = (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(clock, 100)
        await Promise.resolve()
        steps.push(clock.now())
      }
      return 'done'
    })()
    await clock.advanceAsync(350)
    expect(steps).toEqual([100, 200, 300])
    expect(clock.now()).toBe(350)
    await expect(task).resolves.toBe('done')
  })

  it('exposes now/setTimeout/clearTimeout as detachable functions, like systemClock', () => {
    const clock = new FakeClock(0)
    const { now, setTimeout, clearTimeout } = clock
    let fired = false
    const handle = setTimeout(() => { fired = true }, 5)
    clearTimeout(handle)
    setTimeout(() => { fired = true }, 5)
    clock.advance(5)
    expect(fired).toBe(true)
    expect(now()).toBe(5)
  })
})
