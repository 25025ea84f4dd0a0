// A Clock for deterministic tests: time moves only when the test says so.
// Timers run in due-time order (ties in the order they were set), with now()
// equal to each timer's due time while it runs.
import type { Clock, TimerHandle } from '../../common/clock.js'

export const FAKE_CLOCK_EPOCH_MS = 1_800_000_000_000
/** runAll() without a limit gives up after this many callbacks (a timer that keeps re-arming itself). */
export const RUN_ALL_MAX_CALLBACKS = 1_000_000

interface FakeTimer {
  readonly id: number
  readonly due: number
  readonly fn: () => void
}

export class FakeClock implements Clock {
  private current: number
  private nextId = 1
  /** Sorted by (due, id); ids grow, so equal due times keep insertion order. */
  private readonly queue: FakeTimer[] = []

  constructor (startMs: number = FAKE_CLOCK_EPOCH_MS) {
    this.current = startMs
  }

  now = (): number => this.current

  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0
    const timer: FakeTimer = { id: this.nextId++, due: this.current + delay, fn }
    // Binary search for the first timer due strictly later: inserts after equal due times.
    let lo = 0
    let hi = this.queue.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.queue[mid] as FakeTimer).due <= timer.due) lo = mid + 1
      else hi = mid
    }
    this.queue.splice(lo, 0, timer)
    return { id: timer.id }
  }

  clearTimeout = (handle: TimerHandle): void => {
    if (typeof handle !== 'object' || handle === null || !('id' in handle) || typeof handle.id !== 'number') return
    const index = this.queue.findIndex(timer => timer.id === handle.id)
    if (index >= 0) this.queue.splice(index, 1)
  }

  /** Timers set and not yet run or cleared. */
  get pending (): number {
    return this.queue.length
  }

  /** Due time of the next timer, or undefined when none is pending. */
  get nextDue (): number | undefined {
    return this.queue[0]?.due
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due in the window,
   * including timers set by those callbacks. An exception from a callback
   * propagates; time then stays at that timer's due time and later timers stay queued.
   * Returns how many callbacks ran.
   */
  advance (ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`)
    const target = this.current + ms
    const ran = this.runUntil(target, Infinity)
    this.current = Math.max(this.current, target)
    return ran
  }

  /**
   * Moves time forward by `ms` without running any timer, as when the process stalled (GC, CPU
   * starvation, suspend): the timers that fell due meanwhile run late, at the next advance.
   */
  stall (ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.stall: ms must be >= 0, got ${ms}`)
    this.current += ms
  }

  /**
   * Runs timers until none is left (or, with `limitMs`, none is due within
   * `limitMs` of now). Time ends at the last timer run. Throws after
   * RUN_ALL_MAX_CALLBACKS callbacks when no limit is given (a self-rearming timer).
   */
  runAll (limitMs?: number): number {
    if (limitMs !== undefined) {
      if (!(limitMs >= 0)) throw new RangeError(`FakeClock.runAll: limitMs must be >= 0, got ${limitMs}`)
      return this.runUntil(this.current + limitMs, Infinity)
    }
    const ran = this.runUntil(Infinity, RUN_ALL_MAX_CALLBACKS)
    if (this.queue.length > 0) {
      throw new Error(`FakeClock.runAll: still ${this.queue.length} timer(s) after ${ran} callbacks; a timer keeps re-arming itself, pass limitMs`)
    }
    return ran
  }

  /**
   * advance(ms) in steps of `stepMs`, letting promises and I/O callbacks settle
   * (a setImmediate turn) before and after each step, so async protocol code
   * that awaits between timers makes progress.
   */
  async advanceAsync (ms: number, stepMs = 10): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advanceAsync: ms must be >= 0, got ${ms}`)
    if (!(stepMs > 0)) throw new RangeError(`FakeClock.advanceAsync: stepMs must be > 0, got ${stepMs}`)
    const target = this.current + ms
    await flushAsync()
    do {
      this.advance(Math.min(stepMs, target - this.current))
      await flushAsync()
    } while (this.current < target)
  }

  private runUntil (target: number, maxCallbacks: number): number {
    let ran = 0
    while (ran < maxCallbacks) {
      const next = this.queue[0]
      if (next === undefined || next.due > target) break
      this.queue.shift()
      if (next.due > this.current) this.current = next.due
      ran++
      next.fn()
    }
    return ran
  }
}

/** One macrotask turn: every queued microtask (promise continuation) runs first. */
export async function flushAsync (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}
